"""Checks a menu against WeChat's limits before it is pushed (自定义菜单接口的限制)."""

from __future__ import annotations

from urllib.parse import urlparse

MAX_TOP_BUTTONS = 3
MAX_SUB_BUTTONS = 5
MAX_TOP_NAME_BYTES = 16
MAX_SUB_NAME_BYTES = 60
MAX_KEY_BYTES = 128
MAX_URL_BYTES = 1024

#: Types that send an event to the service and so need a ``key``.
KEY_TYPES = frozenset(
    {
        "click",
        "scancode_push",
        "scancode_waitmsg",
        "pic_sysphoto",
        "pic_photo_or_album",
        "pic_weixin",
        "location_select",
    }
)

#: Button types WeChat accepts.
BUTTON_TYPES = KEY_TYPES | frozenset(
    {
        "view",
        "media_id",
        "article_id",
        "article_view_limited",
        "miniprogram",
    }
)

#: Fields a conditional menu's ``matchrule`` may hold.
MATCHRULE_FIELDS = frozenset(
    {"tag_id", "sex", "country", "province", "city", "client_platform_type", "language"}
)


class MenuError(Exception):
    """A menu breaks WeChat's limits; ``problems`` lists every problem found."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


def _nbytes(value: str) -> int:
    return len(value.encode("utf-8"))


def _is_text(value) -> bool:
    return isinstance(value, str) and value != ""


def _check_url(where: str, url, problems: list[str], field: str = "url") -> None:
    if not _is_text(url):
        problems.append(f"{where}: missing {field}")
        return
    if _nbytes(url) > MAX_URL_BYTES:
        problems.append(f"{where}: {field} is {_nbytes(url)} bytes, more than {MAX_URL_BYTES}")
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        problems.append(f"{where}: {field} {url[:80]!r} is not an http(s) URL")


def _check_leaf(where: str, button: dict, problems: list[str]) -> None:
    kind = button.get("type")
    if kind is None:
        problems.append(f"{where}: missing type")
        return
    if kind not in BUTTON_TYPES:
        problems.append(f"{where}: unknown type {kind!r}")
        return
    if kind in KEY_TYPES and not _is_text(button.get("key")):
        problems.append(f"{where}: type {kind} needs a key")
    if kind == "view":
        _check_url(where, button.get("url"), problems)
    elif kind == "media_id":
        if not _is_text(button.get("media_id")):
            problems.append(f"{where}: type {kind} needs a media_id")
    elif kind in ("article_id", "article_view_limited"):
        if not _is_text(button.get("article_id")):
            problems.append(f"{where}: type {kind} needs an article_id")
    elif kind == "miniprogram":
        for field in ("appid", "pagepath"):
            if not _is_text(button.get(field)):
                problems.append(f"{where}: type miniprogram needs {field}")
        _check_url(where, button.get("url"), problems)


def _check_button(where: str, button, top: bool, problems: list[str]) -> None:
    if not isinstance(button, dict):
        problems.append(f"{where}: a button must be an object")
        return
    name = button.get("name")
    limit = MAX_TOP_NAME_BYTES if top else MAX_SUB_NAME_BYTES
    level = "top-level" if top else "sub-button"
    if not _is_text(name):
        problems.append(f"{where}: missing name")
    else:
        where = f"{where} {name!r}"
        if _nbytes(name) > limit:
            problems.append(f"{where}: {level} name is {_nbytes(name)} bytes, more than {limit}")
    key = button.get("key")
    if isinstance(key, str) and _nbytes(key) > MAX_KEY_BYTES:
        problems.append(f"{where}: key is {_nbytes(key)} bytes, more than {MAX_KEY_BYTES}")

    subs = button.get("sub_button")
    if subs:
        if not top:
            problems.append(f"{where}: a sub-button cannot have sub-buttons")
            return
        if not isinstance(subs, list):
            problems.append(f"{where}: sub_button must be a list")
            return
        if "type" in button:
            problems.append(f"{where}: a button with sub-buttons must not have a type")
        if len(subs) > MAX_SUB_BUTTONS:
            problems.append(f"{where}: {len(subs)} sub-buttons, more than {MAX_SUB_BUTTONS}")
        for j, sub in enumerate(subs):
            _check_button(f"{where}.sub_button[{j}]", sub, False, problems)
    else:
        _check_leaf(where, button, problems)


def validate_menu(menu, conditional: bool | None = None) -> list[str]:
    """Every way ``menu`` breaks WeChat's limits, as readable sentences; ``[]`` means valid.

    ``conditional`` says whether the menu is a conditional menu (个性化菜单, which needs a
    non-empty ``matchrule``); ``None`` infers it from the presence of a ``matchrule`` key.
    """
    problems: list[str] = []
    if not isinstance(menu, dict):
        return ["the menu must be an object with a 'button' list"]
    buttons = menu.get("button")
    if not isinstance(buttons, list) or not buttons:
        problems.append("the menu needs 1 to 3 top-level buttons, found none")
        buttons = []
    elif len(buttons) > MAX_TOP_BUTTONS:
        problems.append(f"{len(buttons)} top-level buttons, more than {MAX_TOP_BUTTONS}")
    for i, button in enumerate(buttons):
        _check_button(f"button[{i}]", button, True, problems)

    if conditional is None:
        conditional = "matchrule" in menu
    if conditional:
        rule = menu.get("matchrule")
        if not isinstance(rule, dict) or not any(
            v not in (None, "") for k, v in rule.items() if k in MATCHRULE_FIELDS
        ):
            problems.append("a conditional menu needs a non-empty matchrule")
        else:
            unknown = sorted(set(rule) - MATCHRULE_FIELDS)
            if unknown:
                problems.append(f"matchrule has unknown fields: {', '.join(unknown)}")
    return problems


def check(menu, conditional: bool | None = None) -> dict:
    """Return ``menu`` unchanged if valid, else raise :class:`MenuError` with every problem."""
    problems = validate_menu(menu, conditional)
    if problems:
        raise MenuError(problems)
    return menu

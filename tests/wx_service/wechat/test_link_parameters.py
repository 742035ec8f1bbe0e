"""No link the service makes may carry ``code`` or ``state``: WeChat's OAuth appends both to the
redirect URL and ``wx_service.wechat.oauth`` strips them on the way back, so a person arriving with no session
(an admin tapping a link in chat) would reach the page without them.  These tests walk the URL map,
the views, the templates and the link builders, so a future parameter of those names fails here."""

from __future__ import annotations

import inspect
import pathlib
import re

import pytest

from handlers.router import Incoming
from wx_service.wechat.oauth import OAUTH_PARAMS

ROOT = pathlib.Path(__file__).resolve().parents[3]
NAMES = "|".join(OAUTH_PARAMS)
READ = re.compile(rf"""(?:args|values|form)\s*(?:\.get(?:list)?\(|\[)\s*["']({NAMES})["']""")
BUILT = re.compile(rf"""(?:url_for|page_url|_with_query)\([^)]*\b({NAMES})\s*=""")
IN_QUERY = re.compile(rf"""[?&]({NAMES})=""")
FORM_FIELD = re.compile(rf"""name=["']({NAMES})["']""")
#: The OAuth return itself and the sandbox (which plays WeChat) are the only places these names belong.
OWNERS = ("oauth", "sandbox")


def _ours(path: pathlib.Path) -> bool:
    return not any(part in OWNERS or part.startswith(OWNERS) for part in path.relative_to(ROOT).parts)


def test_the_oauth_module_strips_exactly_these_names():
    assert set(OAUTH_PARAMS) == {"code", "state"}


def test_no_route_has_an_oauth_parameter(sqlite_app):
    for rule in sqlite_app.app.url_map.iter_rules():
        assert not set(OAUTH_PARAMS) & rule.arguments, rule.rule


def test_no_view_reads_an_oauth_parameter(sqlite_app):
    for endpoint, view in sqlite_app.app.view_functions.items():
        if endpoint.split(".")[0] in OWNERS:
            continue
        source = inspect.getsource(inspect.unwrap(view))
        assert not READ.search(source), f"{endpoint} reads a parameter OAuth strips"


@pytest.mark.parametrize("folder", ["wx_service", "handlers", "models", "jobs", "menus"])
def test_no_link_builder_or_template_uses_an_oauth_parameter(folder):
    offenders = []
    for path in sorted((ROOT / folder).rglob("*")):
        if path.suffix not in (".py", ".html", ".js") or not _ours(path):
            continue
        text = path.read_text(encoding="utf-8")
        for pattern in (BUILT, IN_QUERY) + ((FORM_FIELD,) if path.suffix == ".html" else ()):
            offenders += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in pattern.finditer(text)]
    assert offenders == []


def test_chat_links_refuse_an_oauth_parameter():
    incoming = Incoming(account="demo", message=None, now=None, base_url="https://wx.example.cn",
                        load_follower=None, load_volunteer=None)
    assert incoming.page_url("admin/scan/7", scanned="t") == "https://wx.example.cn/m/admin/scan/7?account=demo&scanned=t"
    for name in OAUTH_PARAMS:
        with pytest.raises(ValueError, match="OAuth"):
            incoming.page_url("admin/scan/7", **{name: "t"})

"""Menus as data, their validation against WeChat's limits, and their sync (no network)."""

import copy
from urllib.parse import parse_qs, urlparse

import pytest

import menus
from menus import (
    ADMIN_TAG,
    MenuError,
    admin_menu,
    check,
    default_menu,
    keys,
    set_admin_tag,
    sync_menus,
    validate_menu,
)

BASE = "https://wx.example.org"
ACCOUNT = "jhzy"


def leaves(menu):
    for top in menu["button"]:
        yield from top.get("sub_button") or [top]


def find(menu, name):
    return next(b for b in leaves(menu) if b["name"] == name)


# --- definitions ---------------------------------------------------------------------------


def test_both_menus_validate_clean():
    assert validate_menu(default_menu(BASE, ACCOUNT)) == []
    assert validate_menu(admin_menu(BASE, ACCOUNT, 101)) == []
    check(default_menu(BASE, ACCOUNT), conditional=False)
    check(admin_menu(BASE, ACCOUNT, 101), conditional=True)


def test_default_menu_layout():
    menu = default_menu(BASE, ACCOUNT)
    assert "matchrule" not in menu
    assert [b["name"] for b in menu["button"]] == ["志愿者", "文明实践", "个人中心"]
    assert [b["name"] for b in menu["button"][0]["sub_button"]] == [
        "志愿活动",
        "打卡签到",
        "账号绑定",
        "首页",
    ]
    assert find(menu, "需求征集") == {"type": "click", "name": "需求征集", "key": keys.DEMAND}
    assert find(menu, "群众点单")["key"] == keys.ORDER
    assert find(menu, "我的二维码")["key"] == keys.MY_QRCODE
    assert find(menu, "联系我们")["key"] == keys.CONTACT
    assert find(menu, "首页")["url"] == f"{BASE}/m/?account={ACCOUNT}"
    assert find(menu, "消息中心")["url"] == f"{BASE}/m/me/inbox?account={ACCOUNT}"


def test_admin_menu_layout_and_matchrule():
    menu = admin_menu(BASE, ACCOUNT, 101)
    assert menu["matchrule"] == {"tag_id": "101"}
    assert [b["name"] for b in menu["button"]] == ["志愿者", "志愿组织", "个人中心"]
    default = default_menu(BASE, ACCOUNT)
    assert menu["button"][0] == default["button"][0]
    assert menu["button"][2] == default["button"][2]
    org = menu["button"][1]["sub_button"]
    assert [b["name"] for b in org] == ["签到扫码", "报名审核", "补签审核", "活动审核", "活动发布"]
    assert org[0] == {"type": "scancode_waitmsg", "name": "签到扫码", "key": keys.SCAN_CHECKIN}
    assert find(menu, "补签审核")["url"] == f"{BASE}/m/admin/makeups?account={ACCOUNT}"


@pytest.mark.parametrize("menu", [default_menu(BASE + "/", ACCOUNT), admin_menu(BASE + "/", ACCOUNT, 7)])
def test_page_urls_start_with_base_url_and_carry_account(menu):
    views = [b for b in leaves(menu) if b["type"] == "view"]
    assert views
    for button in views:
        assert button["url"].startswith(BASE + "/m/")
        assert "//m/" not in button["url"]
        assert parse_qs(urlparse(button["url"]).query)["account"] == [ACCOUNT]


def test_account_name_is_url_encoded():
    url = find(default_menu(BASE, "a b&c"), "首页")["url"]
    assert parse_qs(urlparse(url).query)["account"] == ["a b&c"]


# --- validation -----------------------------------------------------------------------------


def _broken(change):
    menu = default_menu(BASE, ACCOUNT)
    change(menu)
    return menu


def _four_tops(m):
    m["button"].append({"type": "click", "name": "更多", "key": "MORE"})


def _six_subs(m):
    m["button"][0]["sub_button"] += [{"type": "click", "name": f"s{i}", "key": f"K{i}"} for i in range(2)]


def _long_top_name(m):
    m["button"][0]["name"] = "志愿者服务中"  # 6 Chinese characters = 18 bytes


def _long_sub_name(m):
    m["button"][0]["sub_button"][0]["name"] = "长" * 21  # 63 bytes


def _missing_url(m):
    del m["button"][0]["sub_button"][0]["url"]


def _bad_scheme(m):
    m["button"][0]["sub_button"][0]["url"] = "ftp://wx.example.org/m/"


def _bad_type(m):
    m["button"][0]["sub_button"][0]["type"] = "telephone"


def _long_url(m):
    m["button"][0]["sub_button"][0]["url"] = BASE + "/m/?x=" + "a" * 1024


def _long_key(m):
    m["button"][1]["sub_button"][2]["key"] = "K" * 129


def _missing_key(m):
    del m["button"][1]["sub_button"][2]["key"]


def _scancode_without_key(m):
    m["button"][2]["sub_button"][1] = {"type": "scancode_waitmsg", "name": "扫码"}


def _parent_with_type(m):
    m["button"][0]["type"] = "click"


def _no_buttons(m):
    m["button"] = []


def _missing_type(m):
    del m["button"][1]["sub_button"][0]["type"]


def _empty_matchrule(m):
    m["matchrule"] = {}


BROKEN = [
    ("4 top-level buttons", _four_tops, "top-level buttons"),
    ("6 sub-buttons", _six_subs, "sub-buttons, more than 5"),
    ("18-byte top-level name", _long_top_name, "more than 16"),
    ("63-byte sub-button name", _long_sub_name, "more than 60"),
    ("view without url", _missing_url, "missing url"),
    ("view with ftp url", _bad_scheme, "not an http(s) URL"),
    ("unknown type", _bad_type, "unknown type"),
    ("url over 1024 bytes", _long_url, "more than 1024"),
    ("key over 128 bytes", _long_key, "more than 128"),
    ("click without key", _missing_key, "needs a key"),
    ("scancode without key", _scancode_without_key, "needs a key"),
    ("parent button with a type", _parent_with_type, "must not have a type"),
    ("no buttons", _no_buttons, "1 to 3"),
    ("leaf without type", _missing_type, "missing type"),
    ("conditional with empty matchrule", _empty_matchrule, "matchrule"),
]


@pytest.mark.parametrize("label,change,expected", BROKEN, ids=[b[0] for b in BROKEN])
def test_each_limit_violation_is_caught(label, change, expected):
    problems = validate_menu(_broken(change))
    assert len(problems) == 1, problems
    assert expected in problems[0]
    with pytest.raises(MenuError) as err:
        check(_broken(change))
    assert err.value.problems == problems
    assert expected in str(err.value)


def test_top_name_of_16_bytes_is_fine():
    menu = default_menu(BASE, ACCOUNT)
    menu["button"][0]["name"] = "志愿者服" + "ab"  # 12 + 2 bytes
    assert validate_menu(menu) == []
    menu["button"][0]["name"] = "志愿者服" + "abcde"  # 17 bytes
    assert validate_menu(menu)


def test_conditional_menu_without_matchrule():
    menu = admin_menu(BASE, ACCOUNT, 5)
    del menu["matchrule"]
    assert validate_menu(menu) == []  # read as a default menu
    problems = validate_menu(menu, conditional=True)
    assert problems == ["a conditional menu needs a non-empty matchrule"]
    with pytest.raises(MenuError):
        check(menu, conditional=True)


def test_all_problems_are_reported_together():
    menu = default_menu(BASE, ACCOUNT)
    _four_tops(menu)
    _bad_type(menu)
    _missing_key(menu)
    with pytest.raises(MenuError) as err:
        check(menu)
    assert len(err.value.problems) == 3
    assert str(err.value).count(";") == 2


# --- sync -----------------------------------------------------------------------------------


class FakeClient:
    """Records calls like a wechatpy WeChatClient; answers from an in-memory tag list."""

    def __init__(self, tags=(), conditional=()):
        self.tags = [dict(t) for t in tags]
        self.conditional = [copy.deepcopy(m) for m in conditional]
        self.calls = []
        self.next_tag_id = 100
        self.next_menuid = 400

    def get(self, endpoint, params=None):
        self.calls.append(("get", endpoint, params))
        if endpoint == "tags/get":
            return {"tags": copy.deepcopy(self.tags)}
        if endpoint == "menu/get":
            return {"menu": {"button": []}, "conditionalmenu": copy.deepcopy(self.conditional)}
        raise AssertionError(f"unexpected GET {endpoint}")

    def post(self, endpoint, data=None, params=None):
        self.calls.append(("post", endpoint, copy.deepcopy(data)))
        if endpoint == "tags/create":
            tag = {"id": self.next_tag_id, "name": data["tag"]["name"]}
            self.next_tag_id += 1
            self.tags.append(dict(tag, count=0))
            return {"tag": tag}
        if endpoint == "menu/addconditional":
            menuid = str(self.next_menuid)
            self.next_menuid += 1
            self.conditional.append(dict(copy.deepcopy(data), menuid=int(menuid)))
            return {"menuid": menuid}
        if endpoint == "menu/delconditional":
            self.conditional = [m for m in self.conditional if str(m["menuid"]) != data["menuid"]]
            return {"errcode": 0, "errmsg": "ok"}
        return {"errcode": 0, "errmsg": "ok"}

    def posts(self, endpoint=None):
        return [c for c in self.calls if c[0] == "post" and (endpoint is None or c[1] == endpoint)]


def test_sync_creates_the_admin_tag_when_missing():
    client = FakeClient(tags=[{"id": 2, "name": "星标组", "count": 0}])
    result = sync_menus(client, BASE, ACCOUNT)
    assert result == {"tag_id": 100, "menuid": "400"}
    assert client.posts("tags/create") == [("post", "tags/create", {"tag": {"name": ADMIN_TAG}})]
    (create,) = client.posts("menu/create")
    assert create[2] == default_menu(BASE, ACCOUNT)
    (add,) = client.posts("menu/addconditional")
    assert add[2] == admin_menu(BASE, ACCOUNT, 100)
    assert add[2]["matchrule"] == {"tag_id": "100"}
    order = [c[1] for c in client.posts()]
    assert order.index("tags/create") < order.index("menu/create") < order.index("menu/addconditional")


def test_sync_reuses_an_existing_admin_tag():
    client = FakeClient(tags=[{"id": 2, "name": "星标组"}, {"id": 117, "name": ADMIN_TAG, "count": 3}])
    result = sync_menus(client, BASE, ACCOUNT)
    assert result["tag_id"] == 117
    assert client.posts("tags/create") == []
    assert client.posts("menu/addconditional")[0][2]["matchrule"] == {"tag_id": "117"}


def test_resync_replaces_the_previous_admin_menu():
    client = FakeClient(tags=[{"id": 117, "name": ADMIN_TAG}])
    first = sync_menus(client, BASE, ACCOUNT)
    second = sync_menus(client, BASE, ACCOUNT)
    assert first["menuid"] != second["menuid"]
    assert [str(m["menuid"]) for m in client.conditional] == [second["menuid"]]
    assert client.posts("menu/delconditional") == [
        ("post", "menu/delconditional", {"menuid": first["menuid"]})
    ]


def test_resync_leaves_other_conditional_menus_alone():
    other = {"button": [], "matchrule": {"tag_id": "9"}, "menuid": 300}
    client = FakeClient(tags=[{"id": 117, "name": ADMIN_TAG}], conditional=[other])
    sync_menus(client, BASE, ACCOUNT)
    assert client.posts("menu/delconditional") == []


@pytest.mark.parametrize(
    "base_url,account",
    [("ftp://wx.example.org", ACCOUNT), (BASE, "x" * 1100)],
    ids=["bad scheme", "url too long"],
)
def test_sync_refuses_an_invalid_menu_before_any_push(base_url, account):
    client = FakeClient()
    with pytest.raises(MenuError):
        sync_menus(client, base_url, account)
    assert client.posts() == []
    assert client.calls == []


def test_sync_refuses_when_a_definition_is_broken(monkeypatch):
    def too_many(base_url, account):
        menu = default_menu(base_url, account)
        _four_tops(menu)
        return menu

    monkeypatch.setattr(menus.sync, "default_menu", too_many)
    client = FakeClient(tags=[{"id": 117, "name": ADMIN_TAG}])
    with pytest.raises(MenuError, match="top-level buttons"):
        sync_menus(client, BASE, ACCOUNT)
    assert client.posts() == []


def test_set_admin_tag_batches_by_50():
    client = FakeClient(tags=[{"id": 117, "name": ADMIN_TAG}])
    openids = [f"openid-{i:03d}" for i in range(120)]
    assert set_admin_tag(client, openids, True) == 117
    calls = client.posts("tags/members/batchtagging")
    assert [len(c[2]["openid_list"]) for c in calls] == [50, 50, 20]
    assert all(c[2]["tagid"] == 117 for c in calls)
    assert [o for c in calls for o in c[2]["openid_list"]] == openids
    assert client.posts("tags/create") == []


def test_set_admin_tag_untags_and_creates_missing_tag():
    client = FakeClient()
    set_admin_tag(client, ["o1", "o2"], False)
    assert client.posts("tags/create") == [("post", "tags/create", {"tag": {"name": ADMIN_TAG}})]
    assert client.posts("tags/members/batchuntagging") == [
        ("post", "tags/members/batchuntagging", {"openid_list": ["o1", "o2"], "tagid": 100})
    ]
    assert client.posts("tags/members/batchtagging") == []


def test_set_admin_tag_with_no_openids_calls_nothing():
    client = FakeClient()
    assert set_admin_tag(client, [], True) is None
    assert client.calls == []

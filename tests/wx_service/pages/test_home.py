"""首页: tiles by who is looking — no 注册/绑定 for a bound volunteer, the 志愿组织 tiles for admins."""

import re

from tests.support.people import bind, make_volunteer, sign_in
from wx_service.dev.demo import seed_demo

ADMIN_TILES = ["签到扫码", "报名审核", "补签审核", "活动审核", "活动发布", "成员管理"]


def tiles(client):
    html = client.get("/m/?account=demo").get_data(as_text=True)
    return dict((label, href) for href, label in
                re.findall(r'class="grid-menu__item" href="([^"]+)">.*?<span>([^<]+)</span>', html))


def test_a_person_without_an_account_is_offered_registration_and_binding(any_app):
    client = sign_in(any_app.client(), "o_home_new")
    shown = tiles(client)
    assert "志愿者注册" in shown and "账号绑定" in shown
    assert not set(ADMIN_TILES) & set(shown)


def test_a_bound_volunteer_is_not_offered_registration_or_binding(any_app):
    with any_app.app.app_context():
        bind(make_volunteer(name="顾秀英"), "o_home_bound")
    shown = tiles(sign_in(any_app.client(), "o_home_bound"))
    assert "志愿者注册" not in shown and "账号绑定" not in shown
    assert {"做志愿", "打卡签到", "个人中心"} <= set(shown)
    assert not set(ADMIN_TILES) & set(shown)


def test_an_admin_gets_the_admin_tiles_and_each_opens_its_page(any_app):
    with any_app.app.app_context():
        seed_demo()
    client = sign_in(any_app.client(), "o_demo_admin")
    shown = tiles(client)
    assert [label for label in shown if label in ADMIN_TILES] == ADMIN_TILES
    for label in ADMIN_TILES:
        assert client.get(shown[label]).status_code == 200, label
    assert not set(ADMIN_TILES) & set(tiles(sign_in(any_app.client(), "o_demo_volunteer")))
    # 签到扫码 from a page: the admin's running projects, each with its 考勤 page that scans
    projects = client.get(shown["签到扫码"]).get_data(as_text=True)
    attendance = re.search(r'class="attendance-link" href="([^"]+)"', projects)
    assert attendance, "no 考勤 link on the admin's projects"
    page = client.get(attendance.group(1))
    assert page.status_code == 200 and "扫码签到" in page.get_data(as_text=True)


EMOJI = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\uFE0F]")


def test_tile_icons_are_drawn_lines_not_emoji(any_app):
    """Many phones (and Debian's Chromium) have no colour emoji font: an emoji tile shows as a box."""
    with any_app.app.app_context():
        seed_demo()
    client = sign_in(any_app.client(), "o_demo_admin")
    html = client.get("/m/?account=demo").get_data(as_text=True)
    assert not EMOJI.search(html)
    used = re.findall(r'<use href="([^"#]+)#([^"]+)"', html)
    assert len(used) == len(tiles(client)) >= 13
    sprite = client.get(used[0][0]).get_data(as_text=True)
    assert all(f'<symbol id="{name}"' in sprite for _, name in used)


def test_no_page_template_carries_an_emoji():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "wx_service" / "templates"
    found = [str(p) for p in root.rglob("*.html") if EMOJI.search(p.read_text(encoding="utf-8"))]
    assert not found


def test_the_grid_follows_figure_3_2_and_shows_only_tiles_whose_page_exists(any_app):
    """图3-2's twelve, in order; 排行榜 / 群众点单 / … appear the day their page is registered, never dead."""
    from wx_service.pages.home import TILES

    assert [t.label for t in TILES[:12]] == ["做志愿", "找组织", "微心愿", "群众点单", "志愿者注册", "个人中心", "礼遇坊",
                                            "推荐阅读", "一喊就来", "排行榜", "文明万象", "志愿攻略"]
    app = any_app.app
    expected = [t.label for t in TILES if any(e in app.view_functions for e in t.endpoints)]
    shown = tiles(sign_in(any_app.client(), "o_home_grid"))
    assert list(shown) == expected and "礼遇坊" in shown
    client = sign_in(any_app.client(), "o_home_grid")
    for label, href in shown.items():
        assert client.get(href).status_code in (200, 403), label  # 403: the page asks to bind first


def test_a_tile_appears_when_its_endpoint_is_registered(any_app):
    from wx_service.pages.home import Tile

    tile = Tile("排行榜", "ranking", ("pages.not_yet_here", "pages.gifts"))
    with any_app.app.test_request_context("/m/?account=demo"):
        from flask import g

        g.account = "demo"
        assert Tile("排行榜", "ranking", ("pages.not_yet_here",)).url() is None
        assert tile.url() == "/m/gifts?account=demo"

"""首页: the twelve tiles of 图3-2, then the service's own pages, and for org admins the tiles of their menu.

The grid is a registry of tiles by endpoint: a tile is shown only when one of its endpoints exists in
this app, so a tile whose page another part of the service brings (排行榜, 群众点单, …) appears the
day that page is registered and is hidden — never a dead link — until then.  A bound volunteer is not
offered 志愿者注册 / 账号绑定 (they are for people without an account); an admin of an approved org also
gets the 志愿组织 tiles, the same pages as the admin menu.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, g, render_template, url_for

from models.organization import is_active_admin

from ..wechat.binding import bound_volunteer
from ..wechat.oauth import person_required
from . import bp


@dataclass(frozen=True)
class Tile:
    """One tile: its label, its icon (a symbol of static/icons.svg: lines, no emoji font needed), the
    endpoints that may serve it (the first registered one is used) and their fixed arguments."""

    label: str
    icon: str
    endpoints: tuple[str, ...]
    args: tuple[tuple[str, str], ...] = ()

    def url(self) -> str | None:
        endpoint = next((e for e in self.endpoints if e in current_app.view_functions), None)
        return url_for(endpoint, account=g.account, **dict(self.args)) if endpoint else None


# 图3-2, in the manual's order; 排行榜 (statistics) and 群众点单 (新时代文明实践) come with their parts.
TILES = [
    Tile("做志愿", "projects", ("pages.project_list",)),
    Tile("找组织", "orgs", ("pages.org_list",)),
    Tile("微心愿", "wishes", ("pages.wish_list",)),
    Tile("群众点单", "practice-order", ("pages.practice_plans",)),  # 新时代文明实践 (pages/practice.py)
    Tile("志愿者注册", "register", ("pages.register",)),
    Tile("个人中心", "me", ("pages.me",)),
    Tile("礼遇坊", "gifts", ("pages.gifts",)),
    Tile("推荐阅读", "reading", ("pages.articles",), (("category", "reading"),)),
    Tile("一喊就来", "help", ("pages.help_home",)),
    Tile("排行榜", "rankings", ("pages.rankings_page",)),
    Tile("文明万象", "photos", ("pages.photo_wall",)),
    Tile("志愿攻略", "guide", ("pages.articles",), (("category", "guide"),)),
    # beyond 图3-2: the 文明实践 entry (its 微主页, 需求征集, 阵地), then the pages the account's menu also opens
    Tile("文明实践", "practice", ("pages.practice_home",)),
    Tile("打卡签到", "checkin", ("pages.checkin_list",)),
    Tile("账号绑定", "bind", ("pages.bind",)),
    Tile("消息中心", "inbox", ("pages.inbox",)),
]
FOR_UNBOUND_ONLY = {"志愿者注册", "账号绑定"}
# The 志愿组织 menu of menus.definitions, as pages: 签到扫码 opens the projects, whose 考勤 page scans.
ADMIN_TILES = [
    Tile("签到扫码", "scan", ("pages.admin_projects",)),
    Tile("报名审核", "signups", ("pages.admin_signups",)),
    Tile("补签审核", "makeups", ("pages.admin_makeups",)),
    Tile("活动审核", "reviews", ("pages.admin_reviews",)),
    Tile("活动发布", "publish", ("pages.admin_publish",)),
    Tile("成员管理", "members", ("pages.admin_members",)),
    Tile("数据统计", "stats", ("pages.admin_stats",)),
    Tile("礼遇管理", "gifts", ("pages.admin_gifts",)),
    Tile("礼品核销", "pickup", ("pages.admin_pickup",)),
    Tile("文章管理", "reading", ("pages.admin_articles",)),
]


def shown(tiles) -> list[dict]:
    """The tiles whose page exists, as {label, icon, url}."""
    out = []
    for tile in tiles:
        url = tile.url()
        if url is not None:
            out.append({"label": tile.label, "icon": tile.icon, "url": url})
    return out


@bp.get("/")
@person_required
def home():
    volunteer = bound_volunteer(g.account, g.openid)
    tiles = shown(t for t in TILES if not (volunteer and t.label in FOR_UNBOUND_ONLY))
    admin_tiles = shown(ADMIN_TILES) if volunteer and is_active_admin(volunteer.id) else []
    return render_template("pages/home.html", tiles=tiles, admin_tiles=admin_tiles, volunteer=volunteer)

"""首页: the tiles of 图3-2, each a page of its own, and for org admins the tiles of their menu.

A bound volunteer is not offered 志愿者注册 / 账号绑定 (they are for people without an account);
an admin of an approved org also gets the 志愿组织 tiles, the same pages as the admin menu.
"""

from __future__ import annotations

from flask import g, render_template, url_for

from models.organization import is_active_admin

from ..wechat.binding import bound_volunteer
from ..wechat.oauth import person_required
from . import bp

# (label, icon, path): the icon is a symbol of static/icons.svg (lines, no emoji font needed).
TILES = [
    ("做志愿", "projects", "projects"), ("找组织", "orgs", "orgs"), ("微心愿", "wishes", "wishes"),
    ("一喊就来", "help", "help"), ("志愿者注册", "register", "register"), ("个人中心", "me", "me"),
    ("打卡签到", "checkin", "checkin"), ("账号绑定", "bind", "bind"), ("消息中心", "inbox", "me/inbox"),
    ("排行榜", "rankings", "rankings"),
]
# 新时代文明实践 (pages/practice.py): 群众点单 and the 文明实践 entry (its 微主页, 需求征集, 阵地).
TILES += [("群众点单", "practice-order", "practice/plans"), ("文明实践", "practice", "practice")]
FOR_UNBOUND_ONLY = {"register", "bind"}
# The 志愿组织 menu of menus.definitions, as pages: 签到扫码 opens the projects, whose 考勤 page scans.
ADMIN_TILES = [
    ("签到扫码", "scan", "admin/projects"), ("报名审核", "signups", "admin/signups"),
    ("补签审核", "makeups", "admin/makeups"), ("活动审核", "reviews", "admin/reviews"),
    ("活动发布", "publish", "admin/publish"), ("成员管理", "members", "admin/members"),
    ("数据统计", "stats", "admin/stats"),
]


def _tile(label: str, icon: str, path: str) -> dict:
    return {"label": label, "icon": icon, "url": f"{url_for('pages.home')}{path}?account={g.account}"}


@bp.get("/")
@person_required
def home():
    volunteer = bound_volunteer(g.account, g.openid)
    tiles = [_tile(*t) for t in TILES if not (volunteer and t[2] in FOR_UNBOUND_ONLY)]
    admin_tiles = [_tile(*t) for t in ADMIN_TILES] if volunteer and is_active_admin(volunteer.id) else []
    return render_template("pages/home.html", tiles=tiles, admin_tiles=admin_tiles, volunteer=volunteer)

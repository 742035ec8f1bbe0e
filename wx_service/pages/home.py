"""首页: the tiles of 图3-2, each a page of its own."""

from __future__ import annotations

from flask import g, render_template, url_for

from ..binding import bound_volunteer
from ..oauth import person_required
from . import bp

TILES = [
    ("做志愿", "🙋", "projects"), ("找组织", "🏢", "orgs"), ("微心愿", "🎁", "wishes"),
    ("一喊就来", "📣", "help"), ("志愿者注册", "📝", "register"), ("个人中心", "👤", "me"),
    ("打卡签到", "📍", "checkin"), ("账号绑定", "🔗", "bind"), ("消息中心", "✉️", "me/inbox"),
]


@bp.get("/")
@person_required
def home():
    tiles = [{"label": label, "icon": icon, "url": f"{url_for('pages.home')}{path}?account={g.account}"}
             for label, icon, path in TILES]
    return render_template("pages/home.html", tiles=tiles, volunteer=bound_volunteer(g.account, g.openid))

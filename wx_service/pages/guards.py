"""Who may see a page: a signed-in person (OAuth) who is also a bound volunteer."""

from __future__ import annotations

import functools

from flask import g, redirect, render_template, request, session, url_for
from sqlalchemy.exc import DBAPIError

from models import db
from models import points as points_ledger
from models import project as pr

from .. import clock
from ..config import settings
from ..errors import respond, wants_json
from ..wechat.binding import bound_volunteer
from ..wechat.oauth import person_required


def credit_daily_login(volunteer) -> None:
    """每天登录积分: the first page of a local day credits 1 point (the model's unique row decides;
    the session remembers the day so later pages skip the database)."""
    now = clock.now()
    tz = settings().app.timezone
    marker = f"{volunteer.id}:{pr.local_now(now, tz).date().isoformat()}"
    if session.get("login_points") == marker:
        return
    try:
        points_ledger.credit_daily_login(volunteer.id, now=now, tz=tz)
        db.session.commit()
    except DBAPIError:
        db.session.rollback()
        return
    session["login_points"] = marker


def volunteer_required(view):
    """``g.volunteer`` is the bound volunteer; an unbound person is shown the way to bind.

    A volunteer holding a one-time password is sent to change it first.
    """

    @functools.wraps(view)
    @person_required
    def wrapper(*args, **kwargs):
        volunteer = bound_volunteer(g.account, g.openid)
        if volunteer is None:
            if wants_json():
                return respond("not_bound", "请先绑定志愿者账号。", 403)
            return render_template("pages/need_bind.html"), 403
        if volunteer.password_must_change and request.endpoint != "pages.change_password":
            return redirect(url_for("pages.change_password", account=g.account))
        g.volunteer = volunteer
        credit_daily_login(volunteer)
        return view(*args, **kwargs)

    return wrapper


def org_admin_required(view):
    """For admins of an approved org: ``g.admin_org`` is theirs; anyone else gets a 403 page."""
    from models import organization

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        g.admin_org = organization.admin_org_of(g.volunteer.id)
        if g.admin_org is None or g.admin_org.status != organization.ACTIVE:
            return render_template("error.html", message="您不是已审核组织的管理员。", status=403), 403
        return view(*args, **kwargs)

    return volunteer_required(wrapper)

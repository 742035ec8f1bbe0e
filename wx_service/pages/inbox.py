"""消息中心: every notification of the bound volunteer, read and unread, in the personal center."""

from __future__ import annotations

from flask import abort, g, redirect, render_template, request

from models import Notification, db
from models.notification_kinds import lines, title

from .. import clock
from ..wechat.binding import bound_volunteer
from ..wechat.oauth import person_required
from . import bp


def _view(notification: Notification) -> dict:
    return {"id": notification.id, "title": title(notification.kind), "unread": notification.unread,
            "lines": lines(notification.kind, notification.data or {}), "link": notification.link,
            "time": clock.local_text(notification.created_at)}


@bp.get("/me/inbox")
@person_required
def inbox():
    volunteer = bound_volunteer(g.account, g.openid)
    if volunteer is None:
        return render_template("pages/inbox.html", volunteer=None, items=[], unread=0)
    items = [_view(n) for n in Notification.inbox_of(volunteer.id)]
    return render_template("pages/inbox.html", volunteer=volunteer, items=items,
                           unread=sum(1 for item in items if item["unread"]))


@bp.get("/me/inbox/<int:notification_id>")
@person_required
def inbox_entry(notification_id: int):
    volunteer = bound_volunteer(g.account, g.openid)
    if volunteer is None:
        return render_template("pages/inbox.html", volunteer=None, items=[], unread=0)
    notification = Notification.of_volunteer(notification_id, volunteer.id)
    if notification is None:
        abort(404)
    notification.mark_read(clock.now())
    db.session.commit()
    if request.args.get("go") and notification.link:
        return redirect(notification.link)
    return render_template("pages/inbox_entry.html", item=_view(notification))

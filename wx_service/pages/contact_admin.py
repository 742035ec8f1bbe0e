"""留言回复 (联系我们): staff of the main account read followers' texts and answer them from WeChat.

An answer goes out at once as a customer-service text through the account the follower wrote to, so the
page can say whether WeChat took it: after 48 hours without the follower acting, WeChat refuses it
(45015) and the page says it can no longer be answered in WeChat.  Only an answer WeChat accepted is
kept; a refused one stays in the form.
"""

from __future__ import annotations

import logging

import requests
from flask import current_app, flash, g, redirect, render_template, request, url_for
from wechatpy.exceptions import WeChatClientException

from models import RuleViolation, chat_text, contact, db

from .. import clock
from . import bp
from .guards import volunteer_required

log = logging.getLogger(__name__)

WINDOW_CLOSED = (45015, 45047)
NOT_FOLLOWING = (43004, 43101)


def _staff_only():
    contact.require_staff(g.volunteer)


@bp.get("/admin/contact")
@volunteer_required
def admin_contact():
    _staff_only()
    return render_template("contact/admin_list.html", conversations=contact.conversations(), now=clock.now())


@bp.route("/admin/contact/<int:follower_id>", methods=["GET", "POST"])
@volunteer_required
def admin_contact_thread(follower_id):
    _staff_only()
    follower = contact.get_follower(follower_id)
    error, text, status = None, "", 200
    if request.method == "POST":
        text = request.form.get("content", "")
        try:
            _answer(follower, text)
        except RuleViolation as exc:
            db.session.rollback()
            error, status = exc, exc.status
        else:
            flash("回复已发送到对方的微信。", "success")
            return redirect(url_for("pages.admin_contact_thread", follower_id=follower_id))
    now = clock.now()
    thread = contact.conversation(follower)
    window_open = thread.window_open(now) and not (error and error.code in ("window_closed", "not_following"))
    return render_template("contact/admin_thread.html", thread=thread, now=now, error=error, text=text,
                           window_open=window_open), status


def _answer(follower, text: str) -> None:
    """Check the answer, send it as a customer-service text, keep it once WeChat took it."""
    now = clock.now()
    content = contact.check_answer(text, follower.last_seen_at, now)
    client = current_app.extensions["wechat"].client(follower.account)
    try:
        client.message.send_text(follower.openid, chat_text.as_sent(content))  # staff's text links nowhere
    except WeChatClientException as exc:
        if exc.errcode in WINDOW_CLOSED:
            raise RuleViolation("window_closed", contact.WINDOW_CLOSED_MESSAGE, 409) from exc
        if exc.errcode in NOT_FOLLOWING:
            raise RuleViolation("not_following", "对方已取消关注公众号，无法在微信内回复。", 409) from exc
        log.warning("contact answer refused by WeChat: %s %s", exc.errcode, exc.errmsg)
        raise RuleViolation("send_refused", f"微信没有接受这条回复（错误 {exc.errcode}），请稍后再试。", 503) from exc
    except (requests.RequestException, OSError) as exc:
        log.warning("contact answer not sent: %s", exc)
        raise RuleViolation("send_failed", "暂时连不上微信，回复没有发出，请稍后再试。", 503) from exc
    contact.record_reply(follower.id, g.volunteer.id, content, now)
    db.session.commit()

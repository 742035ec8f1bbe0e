"""The WeChat admin user tag follows who is an org admin (so the conditional admin menu does).

Rules in ``models.organization`` note in the session whose admin power changed
(``note_admin_change``); just before that transaction commits, this module turns the note into one
``sync_admin_tag`` job per volunteer, which ``jobs.enqueue`` submits after the commit.  The job
reads the current state, so it is idempotent and order does not matter: running it twice tags or
untags the same openids again, which WeChat accepts.
"""

from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session
from wechatpy.exceptions import WeChatClientException

from jobs import enqueue
from models import Volunteer, db
from models.organization import ADMIN_CHANGES, is_active_admin

log = logging.getLogger(__name__)

#: WeChat answers these for an openid it no longer knows (unfollowed, wrong account): skip it.
GONE_USER_ERRORS = (40003, 43004, 45159)
RETRY = (3, [10, 60, 300])


def sync_admin_tag(volunteer_id: int) -> bool | None:
    """Tag (admin of an approved org) or untag the volunteer on every account they are bound to."""
    from menus import set_admin_tag

    volunteer = db.session.get(Volunteer, volunteer_id)
    if volunteer is None:
        return None
    is_admin = is_active_admin(volunteer_id)
    accounts = current_app.config["WX_SETTINGS"].accounts
    clients = current_app.extensions["wechat"]
    for binding in sorted(volunteer.bindings, key=lambda b: b.account):
        if binding.account not in accounts:
            continue
        try:
            set_admin_tag(clients.client(binding.account), [binding.openid], is_admin)
        except WeChatClientException as exc:
            if exc.errcode not in GONE_USER_ERRORS:
                raise
            log.info("admin tag not moved for volunteer %s on %s: errcode %s", volunteer_id, binding.account,
                     exc.errcode)
    return is_admin


def _enqueue_noted(session) -> None:
    for volunteer_id in sorted(session.info.pop(ADMIN_CHANGES, ())):
        enqueue(sync_admin_tag, volunteer_id, retry=RETRY)


def _discard(session) -> None:
    session.info.pop(ADMIN_CHANGES, None)


event.listen(Session, "before_commit", _enqueue_noted)
event.listen(Session, "after_rollback", _discard)

"""The WeChat admin user tag follows who is an org admin (so the conditional admin menu does).

The tag sits on an openid, so the job is keyed by (account, openid): ``sync_openid_tag`` tags the
openid when it is bound to the admin of an approved org and untags it otherwise — unbound, bound
to someone else, a pending, rejected or deregistered org.  It reads committed state, so it is
idempotent and order does not matter.  ``sync_admin_tag(volunteer_id)`` does the same for every
WeChat a volunteer is bound to (the demo seed, a repair by hand).

Just before a transaction commits, this module turns into jobs, one per (account, openid):
- every binding of a volunteer whose admin power changed (``models.organization.note_admin_change``:
  init-root, registration, review, add/remove admin, 注销组织);
- every binding inserted, moved or deleted that belongs, before or after, to someone who
  administers an org (a new WeChat bound as admin, 解除绑定, an openid taken over by another person).
``jobs.enqueue`` submits them after the commit; a rollback enqueues nothing.
"""

from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session, object_session
from wechatpy.exceptions import WeChatClientException

from jobs import enqueue, settings
from models import Binding, Volunteer, db
from models.organization import ADMIN_CHANGES, admin_org_of, is_active_admin

log = logging.getLogger(__name__)

#: WeChat answers these for an openid it no longer knows (unfollowed, wrong account): skip it.
GONE_USER_ERRORS = (40003, 43004, 45159)
RETRY = (3, [10, 60, 300])
BINDINGS_TOUCHED = "wx_admin_tag_bindings"  # session.info: {(account, openid, volunteer_id)}


def sync_openid_tag(account: str, openid: str) -> bool | None:
    """Tag or untag one openid as its committed binding says; True tagged, False untagged, None skipped."""
    from menus import set_admin_tag

    db.session.rollback()  # committed state, not a transaction a previous job of this worker left open
    if account not in settings().accounts:
        return None
    binding = Binding.query.filter_by(account=account, openid=openid).one_or_none()
    is_admin = binding is not None and is_active_admin(binding.volunteer_id)
    db.session.rollback()
    try:
        set_admin_tag(current_app.extensions["wechat"].client(account), [openid], is_admin)
    except WeChatClientException as exc:
        if exc.errcode not in GONE_USER_ERRORS:
            raise
        log.info("admin tag not moved for %s on %s: errcode %s", openid, account, exc.errcode)
        return None
    return is_admin


def sync_admin_tag(volunteer_id: int) -> bool | None:
    """Tag or untag every openid the volunteer is bound to; whether they are an admin (None: no such volunteer)."""
    db.session.rollback()
    if db.session.get(Volunteer, volunteer_id) is None:
        return None
    is_admin = is_active_admin(volunteer_id)
    pairs = [(b.account, b.openid) for b in Binding.query.filter_by(volunteer_id=volunteer_id).order_by(Binding.id)]
    for account, openid in pairs:
        sync_openid_tag(account, openid)
    return is_admin


def _touched(_mapper, _connection, target) -> None:
    session = object_session(target) or db.session()
    session.info.setdefault(BINDINGS_TOUCHED, set()).add((target.account, target.openid, target.volunteer_id))


def _enqueue_noted(session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: the notes wait for the outermost commit
    session.flush()  # binding changes still pending are noted now, not left for the next transaction
    changed = session.info.pop(ADMIN_CHANGES, set())
    touched = session.info.pop(BINDINGS_TOUCHED, set())
    if not changed and not touched:
        return
    pairs = {(account, openid) for account, openid, volunteer_id in touched
             if volunteer_id in changed or admin_org_of(volunteer_id) is not None}
    if changed:
        pairs |= {(b.account, b.openid) for b in Binding.query.filter(Binding.volunteer_id.in_(changed))}
    for account, openid in sorted(pairs):
        enqueue(sync_openid_tag, account, openid, retry=RETRY)


def _discard(session) -> None:
    session.info.pop(ADMIN_CHANGES, None)
    session.info.pop(BINDINGS_TOUCHED, None)


for _event in ("after_insert", "after_update", "after_delete"):
    event.listen(Binding, _event, _touched)
event.listen(Session, "before_commit", _enqueue_noted)
event.listen(Session, "after_rollback", _discard)

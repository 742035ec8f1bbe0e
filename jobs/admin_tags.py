"""The WeChat admin user tag follows who is an org admin (so the conditional admin menu does).

The tag sits on an openid, so the job is keyed by (account, openid): ``sync_openid_tag`` tags the
openid when it is bound to the admin of an approved org and untags it otherwise — unbound, bound
to someone else, a pending, rejected or deregistered org.  It reads committed state, so it is
idempotent and order does not matter; two jobs of one openid at once (two workers, after an add and a
remove in quick succession) take turns on a lock of that openid, reading and calling WeChat inside it,
so the later read is also the later call and the tag ends as the last commit says.
``sync_admin_tag(volunteer_id)`` does the same for every WeChat a volunteer is bound to (the demo seed,
a repair by hand).

After a commit (``models.base.after_commit``), :func:`tags_to_move` submits one job per (account, openid):
- every binding of a volunteer whose admin power changed (``models.organization.note_admin_change``:
  init-root, registration, review, add/remove admin, 注销组织);
- every binding inserted, moved or deleted (``models.volunteer.BINDING_CHANGES``) that belongs to
  someone who administers an org (a new WeChat bound as admin, 解除绑定, an openid taken over).
A rollback submits nothing.
"""

from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session
from wechatpy.exceptions import WeChatClientException

from jobs import job, settings
from models import Binding, OrgAdmin, Volunteer, db
from models.organization import ADMIN_CHANGES, is_active_admin
from models.volunteer import BINDING_CHANGES

log = logging.getLogger(__name__)

#: WeChat answers these for an openid it no longer knows (unfollowed, wrong account): skip it.
GONE_USER_ERRORS = (40003, 43004, 45159)
TAG_RETRY = (3, [10, 60, 300])
TAG_LOCK_WAIT = 20  # seconds a job waits for another of the same openid (its WeChat calls); then it is retried


@job(retry=TAG_RETRY)
def sync_openid_tag(account: str, openid: str) -> bool | None:
    """Tag or untag one openid as its committed binding says; True tagged, False untagged, None skipped."""
    from menus import set_admin_tag

    db.session.rollback()  # committed state, not a transaction a previous job of this worker left open
    if account not in settings().accounts:
        return None
    with current_app.extensions["wx_store"].lock(f"admin_tag:{account}:{openid}", timeout=TAG_LOCK_WAIT):
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


@job(retry=TAG_RETRY)
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


def tags_to_move(notes: dict[str, list]) -> None:
    """After a commit that changed admin powers or bindings: a tag job for each openid concerned.

    The committing session cannot read again until its next transaction, so the committed state is
    read in a session of its own (one query per kind of note).
    """
    changed = set(notes.get(ADMIN_CHANGES, ()))
    touched = set(notes.get(BINDING_CHANGES, ()))
    with Session(db.engine) as committed:
        owners = {volunteer_id for _account, _openid, volunteer_id in touched} - changed
        admins = set(committed.scalars(select(OrgAdmin.volunteer_id)
                                       .where(OrgAdmin.volunteer_id.in_(owners)))) if owners else set()
        pairs = {(account, openid) for account, openid, volunteer_id in touched
                 if volunteer_id in changed or volunteer_id in admins}
        if changed:
            pairs |= set(committed.execute(select(Binding.account, Binding.openid)
                                           .where(Binding.volunteer_id.in_(changed))).tuples())
    for account, openid in sorted(pairs):
        sync_openid_tag.now(account, openid)

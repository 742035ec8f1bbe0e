"""Who is told about a need or an order, and the log the submitter reads as its history.

A resident needs no volunteer account to submit a need or order (OAuth's openid identifies them).
A submitter whose (account, openid) is bound to a volunteer gets each state change in 消息中心 and as
a template message (``notify``); anyone else gets the template message when they follow the account
(``notify_follower``); every submitter reads the same history on 我的需求 / 我的点单 (``PracticeLog``).  A need
entered on someone's behalf (代录) also tells the volunteer who entered it.
"""

from __future__ import annotations

import secrets

from ..base import db
from ..notification import notify, notify_follower
from ..volunteer import Binding
from .tables import PracticeLog


def log(subject: str, subject_id: int, action: str, *, place_id: int | None, actor_id: int | None, note: str,
        now) -> None:
    db.session.add(PracticeLog(subject=subject, subject_id=subject_id, action=action, place_id=place_id,
                               actor_id=actor_id, note=note or "", at=now))


def history(subject: str, subject_id: int) -> list[PracticeLog]:
    return (PracticeLog.query.filter_by(subject=subject, subject_id=subject_id)
            .order_by(PracticeLog.at, PracticeLog.id).all())


def tell_submitter(row, kind: str, data: dict, *, link: str, cause: str, also: int | None = None) -> None:
    """Tell the submitter of ``row`` (a Need or an Order) and ``also`` (a volunteer id): a bound submitter as a
    volunteer, anyone else as the follower OAuth named (a template message when they follow the account)."""
    volunteer = Binding.volunteer_for(row.account, row.openid)
    ids = {volunteer.id} if volunteer else set()
    if also:
        ids.add(also)
    token = secrets.token_hex(6)  # each committed change is its own message
    for volunteer_id in sorted(ids):
        notify(volunteer_id, kind, data, link=link, cause=cause, key=f"{cause}:{kind}:{token}:{volunteer_id}")
    if volunteer is None and row.openid:
        notify_follower(row.account, row.openid, kind, data, link=link, cause=cause,
                        key=f"{cause}:{kind}:{token}:follower")

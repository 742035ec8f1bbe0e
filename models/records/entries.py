"""培训、表彰奖励、评价 (志愿服务条例 art. 19): org admins record them for the members of their org or below;
the volunteer sees them in the personal center and they appear on the period certificate."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from .. import permissions
from ..base import RuleViolation, db, get_or_refuse
from ..membership import APPROVED, Membership
from ..organization import Organization, subtree_of
from ..volunteer import Volunteer
from .tables import ENTRY_KINDS, RecordEntry

TITLE_MAX, DETAIL_MAX = 100, 300


def _member_org(actor: Volunteer, volunteer_id: int, org_id: int, now: datetime) -> Organization:
    org = get_or_refuse(Organization, org_id, "org_not_found", "组织不存在。")
    permissions.require(actor, "manage_members", org, now=now, message="只能为本组织及下级组织的成员记录。")
    member = db.session.scalar(select(Membership.id).where(Membership.volunteer_id == volunteer_id,
                                                           Membership.org_id == org.id,
                                                           Membership.state == APPROVED))
    if member is None:
        raise RuleViolation("not_member", "该志愿者不是本组织成员。", 404)
    return org


def record_entry(actor: Volunteer, volunteer_id: int, org_id: int, kind: str, title: str, detail: str, day: date,
                 *, now: datetime, today: date) -> RecordEntry:
    """Record one training / award / evaluation of a member of ``org_id`` (the actor's org or below)."""
    org = _member_org(actor, volunteer_id, org_id, now)
    if kind not in ENTRY_KINDS:
        raise RuleViolation("entry_kind_invalid", "请选择记录类别（培训、表彰奖励或评价）。")
    title = (title or "").strip()
    detail = (detail or "").strip()
    if not 2 <= len(title) <= TITLE_MAX:
        raise RuleViolation("entry_title_required", f"请填写名称（2至{TITLE_MAX}字）。")
    if len(detail) > DETAIL_MAX:
        raise RuleViolation("entry_detail_too_long", f"说明不超过{DETAIL_MAX}字。")
    if day > today:
        raise RuleViolation("entry_day_future", "日期不能晚于今天。")
    entry = RecordEntry(volunteer_id=volunteer_id, org_id=org.id, kind=kind, title=title, detail=detail, day=day,
                        recorded_by_id=actor.id, recorded_at=now)
    db.session.add(entry)
    db.session.flush()
    return entry


def entries_of(volunteer_id: int, *, by: Organization | None = None, below: bool = False, start: date | None = None,
               end: date | None = None) -> list[RecordEntry]:
    """A volunteer's entries, newest first; ``by``: recorded by that org (``below``: or one below it); by day in
    [start, end]."""
    query = RecordEntry.query.filter(RecordEntry.volunteer_id == volunteer_id)
    if by is not None and below:
        query = query.join(Organization, Organization.id == RecordEntry.org_id).filter(subtree_of(by))
    elif by is not None:
        query = query.filter(RecordEntry.org_id == by.id)
    if start is not None:
        query = query.filter(RecordEntry.day >= start)
    if end is not None:
        query = query.filter(RecordEntry.day <= end)
    return query.order_by(RecordEntry.day.desc(), RecordEntry.id.desc()).all()

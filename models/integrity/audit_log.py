"""审计: every admin action that creates or cancels hours, with who, when and from where.

Written by the rules themselves (补签 approval, objection upheld, scan assist, desk punch, clean-up
removal and restore), in the transaction of the change, so no face can forget it.  ``Origin`` is the
"from where" the face passes down (IP, user agent, channel) as plain values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from ..base import db
from ..organization import Organization, subtree_of
from ..project import Project
from .tables import A_MAKEUP_APPROVED, AdminAction

#: 补签 approved by one admin for one volunteer within the range at or above this stand out.
STANDOUT_SAME_PERSON = 3


@dataclass(frozen=True)
class Origin:
    """Where an action came from: the client's address and user agent, and the channel."""

    ip: str = ""
    user_agent: str = ""
    channel: str = ""


UNKNOWN = Origin(channel="unknown")


def record(action: str, *, now: datetime, actor_id: int | None, project: Project | None = None,
           volunteer_id: int | None = None, cycle_id: int | None = None, hours=None,
           origin: Origin | None = None, actor_label: str = "", detail: str = "") -> AdminAction:
    origin = origin or UNKNOWN
    row = AdminAction(action=action, actor_id=actor_id, actor_label=actor_label[:100], volunteer_id=volunteer_id,
                      project_id=project.id if project else None, org_id=project.org_id if project else None,
                      cycle_id=cycle_id, hours=hours, at=now, ip=(origin.ip or "")[:64],
                      user_agent=(origin.user_agent or "")[:300], channel=(origin.channel or "")[:20],
                      detail=detail[:300])
    db.session.add(row)
    return row


def _in_subtree(org: Organization):
    return AdminAction.org_id.in_(select(Organization.id).where(subtree_of(org)))


#: admins of orgs at this level or above (市, 区县) read the audit of their subtree
AUDIT_MAX_LEVEL = 2


def may_audit(org: Organization | None) -> bool:
    """Whether the admins of ``org`` read the audit: who did what to whose hours, from which address."""
    return org is not None and org.level <= AUDIT_MAX_LEVEL


def actions_for(org: Organization, start: datetime, end: datetime, limit: int = 500) -> list[AdminAction]:
    """The actions on projects of ``org``'s subtree in [start, end), newest first."""
    return (AdminAction.query.filter(_in_subtree(org), AdminAction.at >= start, AdminAction.at < end)
            .order_by(AdminAction.at.desc(), AdminAction.id.desc()).limit(limit).all())


@dataclass(frozen=True)
class Standout:
    actor_id: int
    volunteer_id: int
    approvals: int


def standout_approvers(org: Organization, start: datetime, end: datetime,
                       threshold: int = STANDOUT_SAME_PERSON) -> list[Standout]:
    """Admins who approved ``threshold`` or more 补签 for the same volunteer in the range (subtree)."""
    count = func.count(AdminAction.id)
    rows = db.session.execute(
        select(AdminAction.actor_id, AdminAction.volunteer_id, count)
        .where(_in_subtree(org), AdminAction.action == A_MAKEUP_APPROVED, AdminAction.at >= start,
               AdminAction.at < end, AdminAction.actor_id.is_not(None), AdminAction.volunteer_id.is_not(None))
        .group_by(AdminAction.actor_id, AdminAction.volunteer_id).having(count >= threshold)
        .order_by(count.desc(), AdminAction.actor_id)).all()
    return [Standout(actor, volunteer, n) for actor, volunteer, n in rows]

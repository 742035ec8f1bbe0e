"""爽约 (no-shows): accepted volunteers who never punched on an activity that has ended.

A place held and not used keeps someone else out.  A signup counts once its project has ended: accepted
(or removed by the 7-day clean-up from accepted) and without any check-in (``first_checkin_at`` is set by
every punch, scan, desk punch or approved 补签).  A project removed because nobody at all checked in is
left out (the activity may not have taken place).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, or_, select

from ..attendance.tables import Removal
from ..base import db
from ..organization import Organization, subtree_of
from ..project import DELETED, Project
from ..signup import ACCEPTED, CANCELLED, Signup


@dataclass(frozen=True)
class NoShows:
    no_shows: int = 0
    accepted: int = 0  # accepted signups of ended activities

    @property
    def rate(self) -> float | None:
        return self.no_shows / self.accepted if self.accepted else None

    @property
    def text(self) -> str:
        if not self.accepted:
            return "暂无已结束的录取活动"
        return f"爽约{self.no_shows}次 / 录取{self.accepted}次（{self.rate:.0%}）"


def _counted(now: datetime):
    """(the signups that count, and the no-show flag) as one select's pieces."""
    removed_accepted = select(Removal.target_id).where(Removal.kind == "signup", Removal.previous_state == ACCEPTED,
                                                       Removal.restored_at.is_(None))
    held = or_(Signup.state == ACCEPTED, and_(Signup.state == CANCELLED, Signup.id.in_(removed_accepted)))
    where = and_(held, Project.ends_at < now, Project.status != DELETED)
    missed = func.sum(case((Signup.first_checkin_at.is_(None), 1), else_=0))
    return where, missed


def for_volunteers(volunteer_ids, now: datetime) -> dict[int, NoShows]:
    """Each volunteer's no-shows and accepted signups of ended activities (every org)."""
    ids = list({int(i) for i in volunteer_ids})
    if not ids:
        return {}
    where, missed = _counted(now)
    rows = db.session.execute(select(Signup.volunteer_id, missed, func.count(Signup.id))
                              .join(Project, Project.id == Signup.project_id)
                              .where(where, Signup.volunteer_id.in_(ids)).group_by(Signup.volunteer_id)).all()
    out = {i: NoShows() for i in ids}
    out.update({vid: NoShows(int(n or 0), int(total)) for vid, n, total in rows})
    return out


def for_volunteer(volunteer_id: int, now: datetime) -> NoShows:
    return for_volunteers([volunteer_id], now)[volunteer_id]


def for_orgs(org: Organization, now: datetime) -> dict[int, NoShows]:
    """Per org of ``org``'s subtree (its own projects): no-shows and accepted signups of ended activities."""
    where, missed = _counted(now)
    rows = db.session.execute(select(Project.org_id, missed, func.count(Signup.id))
                              .join(Project, Project.id == Signup.project_id)
                              .where(where, Project.org_id.in_(select(Organization.id).where(subtree_of(org))))
                              .group_by(Project.org_id)).all()
    return {org_id: NoShows(int(n or 0), int(total)) for org_id, n, total in rows}

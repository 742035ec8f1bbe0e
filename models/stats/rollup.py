"""Keeping the roll-ups in step, in the transaction of the change that moves a figure.

Called by the rules that count or cancel a cycle (打卡, 签退, 补签通过, 异议成立), approve or end a
membership, and make a project count (its first check-in; for 双签 also 结项).  Every change is an
``UPDATE … SET n = n + d`` on rows made sure to exist with ``INSERT … ON CONFLICT DO NOTHING``, so
concurrent changes add up on SQLite and PostgreSQL alike.  A volunteer's own rows are locked first
(the ``'*'`` row's UPDATE), so two changes of one volunteer's months are applied one after the other
and the activity chains stay exact.

The membership table is read through a light table clause: ``models.membership`` calls into this
module, so this module cannot import it.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import column, select, table, update

from ..base import db, insert_of
from ..organization import Organization
from ..project import DEFAULT_TZ, SINGLE, local_now
from .periods import ALL, chain_links, is_month, keys_of
from .tables import ACTIVE_CHAIN, MET_CHAIN, OrgChain, OrgPeriod, VolunteerPeriod, money, monthly_target

MEMBERSHIP = table("membership", column("volunteer_id"), column("org_id"), column("state"))
APPROVED_MEMBER = "approved"  # models.membership.APPROVED


# ------------------------------------------------------------------------------ primitives
def _ensure(model, keys: list[dict]) -> None:
    if not keys:
        return
    db.session.execute(insert_of(model).values(keys).on_conflict_do_nothing())


def _add(model, where, deltas: dict) -> None:
    deltas = {name: value for name, value in deltas.items() if value}
    if deltas:
        db.session.execute(update(model).where(*where)
                           .values({getattr(model, n): getattr(model, n) + v for n, v in deltas.items()})
                           .execution_options(synchronize_session=False))


def bump_orgs(org_ids, periods, **deltas) -> None:
    """Add ``deltas`` to the rows of every org in ``org_ids`` for every period in ``periods``."""
    org_ids, periods = sorted(set(org_ids)), sorted(set(periods))
    if not org_ids or not any(deltas.values()):
        return
    _ensure(OrgPeriod, [_zero_org(o, p) for o in org_ids for p in periods])
    _add(OrgPeriod, (OrgPeriod.org_id.in_(org_ids), OrgPeriod.period.in_(periods)), deltas)


def _zero_org(org_id: int, period: str) -> dict:
    return {"org_id": org_id, "period": period, "participations": 0, "hours_single": 0, "hours_double": 0,
            "projects_single": 0, "projects_double": 0, "own_projects": 0, "joined": 0, "members": 0,
            "effective": 0, "followers": 0}


def _apply_links(org_ids, kind: str, before, after) -> None:
    change = Counter(after)
    change.subtract(Counter(before))
    org_ids = sorted(set(org_ids))
    for (month, prev), delta in sorted(change.items()):
        if delta and org_ids:
            _ensure(OrgChain, [{"org_id": o, "kind": kind, "month": month, "prev_month": prev, "members": 0}
                               for o in org_ids])
            _add(OrgChain, (OrgChain.org_id.in_(org_ids), OrgChain.kind == kind, OrgChain.month == month,
                            OrgChain.prev_month == prev), {"members": delta})


def ancestors(path: str) -> list[int]:
    return [int(p) for p in path.strip("/").split("/") if p]


def member_closure(volunteer_id: int, *, without_org: int | None = None) -> set[int]:
    """Every org the volunteer counts in: their approved orgs and all above them."""
    query = (select(Organization.path).join(MEMBERSHIP, MEMBERSHIP.c.org_id == Organization.id)
             .where(MEMBERSHIP.c.volunteer_id == volunteer_id, MEMBERSHIP.c.state == APPROVED_MEMBER))
    if without_org is not None:
        query = query.where(Organization.id != without_org)
    return {org_id for path in db.session.scalars(query) for org_id in ancestors(path)}


# ---------------------------------------------------------------------------- a volunteer
class _Months:
    """A volunteer's month rows (hours, cycles) and total cycles, as read under the volunteer's lock."""

    def __init__(self, volunteer_id: int, star_delta: int = 0):
        rows = db.session.execute(select(VolunteerPeriod.period, VolunteerPeriod.hours, VolunteerPeriod.cycles)
                                  .where(VolunteerPeriod.volunteer_id == volunteer_id)).all()
        self.months = {p: (money(h), c) for p, h, c in rows if is_month(p)}
        self.total_cycles = next((c for p, _h, c in rows if p == ALL), 0) - star_delta

    def changed(self, month: str, hours: Decimal, cycles: int) -> _Months:
        after = object.__new__(_Months)
        old_hours, old_cycles = self.months.get(month, (Decimal(0), 0))
        after.months = {**self.months, month: (old_hours + hours, old_cycles + cycles)}
        after.total_cycles = self.total_cycles + cycles
        return after

    def links(self, kind: str) -> list[tuple[str, str]]:
        if kind == ACTIVE_CHAIN:
            return chain_links(m for m, (_h, c) in self.months.items() if c > 0)
        target = monthly_target()
        return chain_links(m for m, (h, c) in self.months.items() if c > 0 and h >= target)


def _lock_volunteer(volunteer_id: int, periods, cycles: int = 0, hours: Decimal = Decimal(0)) -> None:
    """Make sure the volunteer's rows exist and update the '*' row first: it holds the volunteer's lock."""
    _ensure(VolunteerPeriod, [{"volunteer_id": volunteer_id, "period": p, "hours": 0, "cycles": 0}
                              for p in sorted(set(periods) | {ALL})])
    db.session.execute(update(VolunteerPeriod).where(VolunteerPeriod.volunteer_id == volunteer_id,
                                                     VolunteerPeriod.period == ALL)
                       .values(hours=VolunteerPeriod.hours + hours, cycles=VolunteerPeriod.cycles + cycles)
                       .execution_options(synchronize_session=False))


def _volunteer_hours(volunteer_id: int, day: date, hours: Decimal, cycles: int) -> None:
    month, year, _ = keys_of(day)
    _lock_volunteer(volunteer_id, (month, year), cycles, hours)
    before = _Months(volunteer_id, star_delta=cycles)
    after = before.changed(month, hours, cycles)
    _add(VolunteerPeriod, (VolunteerPeriod.volunteer_id == volunteer_id, VolunteerPeriod.period.in_((month, year))),
         {"hours": hours, "cycles": cycles})
    effective = int(after.total_cycles > 0) - int(before.total_cycles > 0)
    moved = [(kind, before.links(kind), after.links(kind)) for kind in (ACTIVE_CHAIN, MET_CHAIN)]
    if not effective and all(b == a for _k, b, a in moved):
        return
    closure = member_closure(volunteer_id)
    bump_orgs(closure, [ALL], effective=effective)
    for kind, old, new in moved:
        _apply_links(closure, kind, old, new)


# ------------------------------------------------------------------------------ the hooks
def cycle_counted(cycle, sign: int = 1) -> None:
    """A cycle starts (``sign=1``) or stops (``-1``) counting: 公示中/已确认 ↔ anything else."""
    hours = money(cycle.hours) * sign
    path = cycle.project.org.path
    column_name = "hours_single" if cycle.mode == SINGLE else "hours_double"
    bump_orgs(ancestors(path), keys_of(cycle.day), participations=sign, **{column_name: hours})
    _volunteer_hours(cycle.volunteer_id, cycle.day, hours, sign)


def project_counted(project, sign: int = 1) -> None:
    """A project becomes valid (单签: its first check-in; 双签: first check-in and 结项), in its start month."""
    column_name = "projects_single" if project.checkin_mode == SINGLE else "projects_double"
    periods = keys_of(project.start_date)
    bump_orgs(ancestors(project.org.path), periods, **{column_name: sign})
    bump_orgs([project.org_id], periods, own_projects=sign)


def membership_changed(volunteer_id: int, org_id: int, *, joined: bool, registered_at: datetime,
                       tz: str = DEFAULT_TZ) -> None:
    """A membership was approved (``joined``) or ended: the orgs that gain or lose the member."""
    _lock_volunteer(volunteer_id, ())
    path = db.session.scalar(select(Organization.path).where(Organization.id == org_id))
    changed = set(ancestors(path)) - member_closure(volunteer_id, without_org=org_id)
    if not changed:
        return
    sign = 1 if joined else -1
    months = _Months(volunteer_id)
    bump_orgs(changed, [ALL], members=sign, effective=sign if months.total_cycles > 0 else 0)
    bump_orgs(changed, keys_of(local_now(registered_at, tz).date()), joined=sign)
    for kind in (ACTIVE_CHAIN, MET_CHAIN):
        links = months.links(kind)
        _apply_links(changed, kind, [] if joined else links, links if joined else [])

"""The same figures as the roll-ups, counted straight from the records.

``recount()`` is the reference the roll-up test compares with after random sequences of changes;
``rollup_snapshot()`` reads the roll-ups in the same shape; ``rebuild()`` replaces the roll-ups with
the recount (``flask --app wx_service stats rebuild``: after an import, a change of
``[stats] monthly_target_hours``, or to repair).  ``recount_followers()`` refreshes 关注人数, which follows
WeChat's follow events and is recounted by a periodic job rather than on the callback's hot path.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from sqlalchemy import delete, select, update

from ..attendance.tables import COUNTED, Cycle
from ..base import db
from ..closure import ProjectClosure
from ..follower import Follower
from ..organization import Organization
from ..project import DEFAULT_TZ, SINGLE, Project, local_now
from ..volunteer import Binding, Volunteer
from .periods import ALL, chain_links, keys_of
from .rollup import APPROVED_MEMBER, MEMBERSHIP, ancestors, bump_orgs
from .tables import (
    ACTIVE_CHAIN,
    MET_CHAIN,
    ORG_COUNTERS,
    OrgChain,
    OrgPeriod,
    VolunteerPeriod,
    money,
    monthly_target,
)


def _closures() -> dict[int, set[int]]:
    rows = db.session.execute(select(MEMBERSHIP.c.volunteer_id, Organization.path)
                              .join(Organization, Organization.id == MEMBERSHIP.c.org_id)
                              .where(MEMBERSHIP.c.state == APPROVED_MEMBER)).all()
    out: dict[int, set[int]] = defaultdict(set)
    for volunteer_id, path in rows:
        out[volunteer_id].update(ancestors(path))
    return out


def _closed_project_ids() -> set[int]:
    return set(db.session.scalars(select(ProjectClosure.project_id)))


def recount(tz: str = DEFAULT_TZ) -> dict:
    """{"org": {(org_id, period): {counter: value}}, "volunteer": {(volunteer_id, period): (hours, cycles)},
    "chain": {(org_id, kind, month, prev): members}}, zeros left out."""
    paths = dict(db.session.execute(select(Organization.id, Organization.path)).all())
    org = defaultdict(lambda: defaultdict(Decimal))
    volunteer = defaultdict(lambda: [Decimal(0), 0])
    months = defaultdict(dict)  # volunteer → {month: [hours, cycles]}
    cycles = db.session.execute(
        select(Cycle.volunteer_id, Project.org_id, Cycle.day, Cycle.mode, db.func.sum(Cycle.hours), db.func.count())
        .join(Project, Project.id == Cycle.project_id).where(Cycle.state.in_(COUNTED))
        .group_by(Cycle.volunteer_id, Project.org_id, Cycle.day, Cycle.mode)).all()
    for volunteer_id, org_id, day, mode, hours, count in cycles:
        hours = money(hours)
        for period in keys_of(day):
            for ancestor in ancestors(paths[org_id]):
                org[(ancestor, period)]["participations"] += count
                org[(ancestor, period)]["hours_single" if mode == SINGLE else "hours_double"] += hours
            volunteer[(volunteer_id, period)][0] += hours
            volunteer[(volunteer_id, period)][1] += count
        month = months[volunteer_id].setdefault(keys_of(day)[0], [Decimal(0), 0])
        month[0] += hours
        month[1] += count
    closed = _closed_project_ids()
    for project in Project.query.filter(Project.first_checkin_at.is_not(None)):
        if project.checkin_mode != SINGLE and project.id not in closed:
            continue
        for period in keys_of(project.start_date):
            for ancestor in ancestors(paths[project.org_id]):
                org[(ancestor, period)]["projects_single" if project.checkin_mode == SINGLE else "projects_double"] += 1
            org[(project.org_id, period)]["own_projects"] += 1
    registered = dict(db.session.execute(select(Volunteer.id, Volunteer.created_at)).all())
    chain = defaultdict(int)
    target = monthly_target()
    for volunteer_id, closure in _closures().items():
        mine = months.get(volunteer_id, {})
        active = chain_links(m for m, (_h, c) in mine.items() if c > 0)
        met = chain_links(m for m, (h, c) in mine.items() if c > 0 and h >= target)
        for org_id in closure:
            org[(org_id, ALL)]["members"] += 1
            org[(org_id, ALL)]["effective"] += int(bool(mine))
            for period in keys_of(local_now(registered[volunteer_id], tz).date()):
                org[(org_id, period)]["joined"] += 1
            for kind, links in ((ACTIVE_CHAIN, active), (MET_CHAIN, met)):
                for month, prev in links:
                    chain[(org_id, kind, month, prev)] += 1
    return {"org": _without_zeros(org), "volunteer": {k: (money(h), c) for k, (h, c) in volunteer.items() if c},
            "chain": {k: n for k, n in chain.items() if n}}


def _without_zeros(org) -> dict:
    out = {}
    for key, counters in org.items():
        kept = {name: (money(v) if name.startswith("hours") else int(v)) for name, v in counters.items() if v}
        if kept:
            out[key] = kept
    return out


def rollup_snapshot() -> dict:
    """The roll-up tables in the shape of ``recount()`` (关注人数 left out on both sides)."""
    org = {}
    for row in OrgPeriod.query:
        kept = {name: getattr(row, name) for name in ORG_COUNTERS if getattr(row, name)}
        kept = {name: (money(v) if name.startswith("hours") else int(v)) for name, v in kept.items()}
        if kept:
            org[(row.org_id, row.period)] = kept
    volunteer = {(r.volunteer_id, r.period): (money(r.hours), r.cycles) for r in VolunteerPeriod.query if r.cycles}
    chain = {(r.org_id, r.kind, r.month, r.prev_month): r.members for r in OrgChain.query if r.members}
    return {"org": org, "volunteer": volunteer, "chain": chain}


def rebuild(tz: str = DEFAULT_TZ) -> dict:
    """Replace the roll-ups with a recount (then recount 关注人数); returns how many rows of each."""
    counted = recount(tz)
    for model in (OrgChain, OrgPeriod, VolunteerPeriod):
        db.session.execute(delete(model))
    db.session.add_all(OrgPeriod(org_id=o, period=p, **{n: counters.get(n, 0) for n in ORG_COUNTERS})
                       for (o, p), counters in counted["org"].items())
    db.session.add_all(VolunteerPeriod(volunteer_id=v, period=p, hours=h, cycles=c)
                       for (v, p), (h, c) in counted["volunteer"].items())
    db.session.add_all(OrgChain(org_id=o, kind=k, month=m, prev_month=p, members=n)
                       for (o, k, m, p), n in counted["chain"].items())
    db.session.flush()
    recount_followers()
    return {name: len(rows) for name, rows in counted.items()}


def recount_followers() -> int:
    """关注人数 of every org: members of its subtree bound to a WeChat that follows an account now."""
    following = set(db.session.scalars(
        select(Binding.volunteer_id).join(Follower, (Follower.account == Binding.account)
                                          & (Follower.openid == Binding.openid))
        .where(Follower.following.is_(True))))
    counts = defaultdict(int)
    for volunteer_id, closure in _closures().items():
        if volunteer_id in following:
            for org_id in closure:
                counts[org_id] += 1
    db.session.execute(update(OrgPeriod).where(OrgPeriod.period == ALL).values(followers=0)
                       .execution_options(synchronize_session=False))
    for org_id, n in counts.items():
        bump_orgs([org_id], [ALL], followers=n)
    return len(counts)

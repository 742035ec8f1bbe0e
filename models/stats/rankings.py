"""排行榜 (part 3 首页; part 1 "志愿排行榜"): the 10 volunteers with most counted hours and the 10 orgs
with most valid activities, for this month, this year or all time, in the city, a district or one org.

Read straight from the period rows' indexes ``(period, hours)`` and ``(period, own_projects)``: the
largest first, filtered to the scope, stopping at ten.  Names are masked (张*林).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import exists, select

from ..base import RuleViolation, db
from ..organization import Organization, subtree_of
from ..personal_data import mask_name
from ..volunteer import Volunteer
from .periods import ALL, month_key, year_key
from .rollup import APPROVED_MEMBER, MEMBERSHIP
from .tables import OrgPeriod, VolunteerPeriod, money

TOP = 10
SPANS = {"month": "本月", "year": "本年", "all": "累计"}
SCOPES = {"city": "全市", "district": "本区县", "org": "本组织"}


@dataclass(frozen=True)
class Ranked:
    place: int
    name: str
    value: Decimal | int


def period_of(span: str, today: date) -> str:
    if span not in SPANS:
        raise RuleViolation("span_invalid", "请选择本月、本年或累计。")
    return {"month": month_key(today), "year": year_key(today), "all": ALL}[span]


def top_volunteers(span: str, today: date, scope: Organization | None = None, limit: int = TOP) -> list[Ranked]:
    query = (select(Volunteer.name, VolunteerPeriod.hours)
             .join(Volunteer, Volunteer.id == VolunteerPeriod.volunteer_id)
             .where(VolunteerPeriod.period == period_of(span, today), VolunteerPeriod.cycles > 0))
    if scope is not None:
        query = query.where(exists().where(
            MEMBERSHIP.c.volunteer_id == VolunteerPeriod.volunteer_id, MEMBERSHIP.c.state == APPROVED_MEMBER,
            MEMBERSHIP.c.org_id.in_(select(Organization.id).where(subtree_of(scope)))))
    rows = db.session.execute(query.order_by(VolunteerPeriod.hours.desc(), VolunteerPeriod.volunteer_id)
                              .limit(limit)).all()
    return [Ranked(n, mask_name(name), money(hours)) for n, (name, hours) in enumerate(rows, 1)]


def top_orgs(span: str, today: date, scope: Organization | None = None, limit: int = TOP) -> list[Ranked]:
    query = (select(Organization.name, OrgPeriod.own_projects).join(Organization, Organization.id == OrgPeriod.org_id)
             .where(OrgPeriod.period == period_of(span, today), OrgPeriod.own_projects > 0))
    if scope is not None:
        query = query.where(subtree_of(scope))
    rows = db.session.execute(query.order_by(OrgPeriod.own_projects.desc(), OrgPeriod.org_id).limit(limit)).all()
    return [Ranked(n, name, count) for n, (name, count) in enumerate(rows, 1)]


def scopes_for(volunteer_id: int | None) -> dict[str, Organization | None]:
    """全市 always; 本区县 and 本组织 from the volunteer's first approved org (its level-2 ancestor)."""
    scopes: dict[str, Organization | None] = {"city": None}
    if not volunteer_id:
        return scopes
    org = db.session.scalar(select(Organization).join(MEMBERSHIP, MEMBERSHIP.c.org_id == Organization.id)
                            .where(MEMBERSHIP.c.volunteer_id == volunteer_id, MEMBERSHIP.c.state == APPROVED_MEMBER)
                            .order_by(Organization.level.desc(), Organization.id).limit(1))
    if org is None:
        return scopes
    if org.level >= 2:
        scopes["district"] = db.session.get(Organization, org.ancestor_ids[1])
    scopes["org"] = org
    return scopes

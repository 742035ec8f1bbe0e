"""The rolled-up rows: per org and period, per volunteer and period, and the members' activity chains.

- ``OrgPeriod`` (org, period): figures over the org's whole subtree.  Activity figures (参与人次,
  时长, 项目) add up the records of projects published in the subtree; member figures (总人数, 有效人数,
  新增人数) count each member of the subtree once, however many of its orgs they belong to.
- ``VolunteerPeriod`` (volunteer, period): a volunteer's counted hours and cycles (排行榜, 成员服务概况).
- ``OrgChain`` (org, kind, month, previous month): how many members of the subtree have ``month`` as
  an active (``kind='active'``) or target-reaching (``'met'``) month whose previous such month is
  ``prev_month``: a distinct count over any month range is one sum (see ``periods.chain_links``).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from ..base import db

ACTIVE_CHAIN, MET_CHAIN = "active", "met"

#: 时长达标: a member reaches the target in a month with at least this many counted hours (``[stats]
#: monthly_target_hours``; ``create_app`` installs a source that reads the current app's setting, as it does for
#: the personal data keys, so the rules that roll up need no app).
DEFAULT_MONTHLY_TARGET = Decimal(2)


def _default_target():
    return DEFAULT_MONTHLY_TARGET


_monthly_target: Callable[[], object] = _default_target


def use_monthly_target(source: Callable[[], object] | None) -> None:
    """Read the target (hours, any number) from ``source()`` from now on; None gives back the default."""
    global _monthly_target
    _monthly_target = source or _default_target


def monthly_target() -> Decimal:
    return Decimal(str(_monthly_target()))


ORG_COUNTERS = ("participations", "hours_single", "hours_double", "projects_single", "projects_double",
                "own_projects", "joined", "members", "effective")


class OrgPeriod(db.Model):
    """One org's subtree figures for one period ('2026-11', '2026' or '*')."""

    __tablename__ = "stat_org_period"

    org_id = db.Column(db.Integer, db.ForeignKey("organization.id", ondelete="CASCADE"), primary_key=True)
    period = db.Column(db.String(7), primary_key=True)
    participations = db.Column(db.Integer, nullable=False, default=0)  # 参与人次: counted cycles
    hours_single = db.Column(db.Numeric(14, 2), nullable=False, default=0)
    hours_double = db.Column(db.Numeric(14, 2), nullable=False, default=0)
    projects_single = db.Column(db.Integer, nullable=False, default=0)  # valid 单签 projects, by start month
    projects_double = db.Column(db.Integer, nullable=False, default=0)  # valid and closed 双签 projects
    own_projects = db.Column(db.Integer, nullable=False, default=0)  # of the org itself (排行榜 of orgs)
    joined = db.Column(db.Integer, nullable=False, default=0)  # 新增人数: members who joined the subtree
    members = db.Column(db.Integer, nullable=False, default=0)  # '*' only: 总人数 now
    effective = db.Column(db.Integer, nullable=False, default=0)  # '*' only: 有效人数 now (hours ever)
    followers = db.Column(db.Integer, nullable=False, default=0)  # '*' only: 关注人数 (recounted hourly)


class VolunteerPeriod(db.Model):
    """One volunteer's counted hours and cycles in one period."""

    __tablename__ = "stat_volunteer_period"

    volunteer_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="CASCADE"), primary_key=True)
    period = db.Column(db.String(7), primary_key=True)
    hours = db.Column(db.Numeric(12, 2), nullable=False, default=0)
    cycles = db.Column(db.Integer, nullable=False, default=0)


# 排行榜 reads the ten first entries of these, in the order they are kept (most first, then by id), and stops.
db.Index("ix_stat_volunteer_period_ranking", VolunteerPeriod.period, VolunteerPeriod.hours.desc(),
         VolunteerPeriod.volunteer_id, postgresql_where=VolunteerPeriod.cycles > 0, sqlite_where=VolunteerPeriod.cycles > 0)
db.Index("ix_stat_org_period_ranking", OrgPeriod.period, OrgPeriod.own_projects.desc(), OrgPeriod.org_id,
         postgresql_where=OrgPeriod.own_projects > 0, sqlite_where=OrgPeriod.own_projects > 0)


class OrgChain(db.Model):
    """How many members of the org's subtree link ``month`` to their previous active (or met) month."""

    __tablename__ = "stat_org_chain"

    org_id = db.Column(db.Integer, db.ForeignKey("organization.id", ondelete="CASCADE"), primary_key=True)
    kind = db.Column(db.String(6), primary_key=True)
    month = db.Column(db.String(7), primary_key=True)
    prev_month = db.Column(db.String(7), primary_key=True)
    members = db.Column(db.Integer, nullable=False, default=0)


def money(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))

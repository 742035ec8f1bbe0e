"""The statistics pages' reads: 志愿活动统计 (图2-56), 成员服务概况 (图2-28/2-29), 异常数据 (图2-58/2-59).

Every figure comes from the roll-ups (a few rows per org and month), never from a scan of the
records; the columns are defined in the README (统计 section).  Member lists page by volunteer id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import and_, exists, select

from ..attendance.tables import COUNTED, Cycle
from ..base import RuleViolation, db
from ..organization import ACTIVE, OrgAdmin, Organization, subtree_of
from ..personal_data import lookup_hash
from ..project import Project
from ..volunteer import Volunteer
from .periods import ALL, month_key, months_between, quarter_months, year_key
from .rollup import APPROVED_MEMBER, MEMBERSHIP
from .tables import ACTIVE_CHAIN, OrgChain, OrgPeriod, VolunteerPeriod, money, monthly_target

PER_PAGE = 20
MAX_MONTHS = 60


def month_range(first: str | None, last: str | None, today: date) -> tuple[str, str]:
    """The month range asked for ('YYYY-MM' each, either may be empty): by default this year to now."""
    last = last or month_key(today)
    first = first or f"{today.year:04d}-01"
    for value in (first, last):
        if len(value) != 7 or value[4] != "-" or not (value[:4].isdigit() and value[5:].isdigit()) \
                or not 1 <= int(value[5:]) <= 12:
            raise RuleViolation("month_invalid", "月份格式应为 年-月，例如 2026-03。")
    if first > last:
        raise RuleViolation("month_order", "起始月份不能晚于结束月份。")
    if len(months_between(first, last)) > MAX_MONTHS:
        raise RuleViolation("month_span", f"月份跨度最多{MAX_MONTHS}个月。")
    return first, last


# ------------------------------------------------------------------------ 志愿活动统计
@dataclass
class OrgFigures:
    org: Organization
    relation: str
    members: int = 0  # 总人数
    effective: int = 0  # 有效人数
    participations: int = 0  # 参与人次
    joined: int = 0  # 新增人数
    active: int = 0  # 有活动人数
    met: int = 0  # 时长达标人数
    followers: int = 0  # 关注人数
    hours_single: Decimal = field(default_factory=Decimal)
    hours_double: Decimal = field(default_factory=Decimal)
    projects_single: int = 0
    projects_double: int = 0
    months: dict = field(default_factory=dict)  # month → hours (the chart)

    @property
    def ineffective(self) -> int:  # 无效人数
        return max(self.members - self.effective, 0)

    @property
    def hours(self) -> Decimal:  # 组织总时长
        return money(self.hours_single + self.hours_double)

    @property
    def hours_per_member(self) -> Decimal:  # 人均时长
        return money(self.hours / self.members) if self.members else Decimal("0.00")

    @property
    def projects(self) -> int:  # 活动次数
        return self.projects_single + self.projects_double

    @property
    def activity(self) -> Decimal:  # 活跃度 (percent)
        return money(Decimal(100) * self.active / self.members) if self.members else Decimal("0.00")


def relation_of(org: Organization) -> str:
    """组织关系: 江海志愿者服务总站->崇川区志愿者协会->…"""
    names = dict(db.session.execute(select(Organization.id, Organization.name)
                                    .where(Organization.id.in_(org.ancestor_ids))).all())
    return "->".join(names.get(i, "") for i in org.ancestor_ids)


def activity_stats(org: Organization, first: str, last: str) -> list[OrgFigures]:
    """The org and each of its active direct children, each over its whole subtree, for the months."""
    children = (Organization.query.filter(Organization.parent_id == org.id, Organization.status == ACTIVE)
                .order_by(Organization.id).all())
    relation = relation_of(org)
    rows = [OrgFigures(org, relation)] + [OrgFigures(c, f"{relation}->{c.name}") for c in children]
    by_id = {r.org.id: r for r in rows}
    months = months_between(first, last)
    for period in db.session.scalars(select(OrgPeriod).where(OrgPeriod.org_id.in_(by_id),
                                                             OrgPeriod.period.in_(months + [ALL]))):
        figures = by_id[period.org_id]
        if period.period == ALL:
            figures.members, figures.effective, figures.followers = period.members, period.effective, period.followers
            continue
        figures.participations += period.participations
        figures.joined += period.joined
        figures.hours_single += money(period.hours_single)
        figures.hours_double += money(period.hours_double)
        figures.projects_single += period.projects_single
        figures.projects_double += period.projects_double
        figures.months[period.period] = money(period.hours_single) + money(period.hours_double)
    for org_id, kind, members in db.session.execute(
            select(OrgChain.org_id, OrgChain.kind, db.func.sum(OrgChain.members))
            .where(OrgChain.org_id.in_(by_id), OrgChain.month >= first, OrgChain.month <= last,
                   OrgChain.prev_month < first).group_by(OrgChain.org_id, OrgChain.kind)):
        setattr(by_id[org_id], "active" if kind == ACTIVE_CHAIN else "met", int(members or 0))
    return rows


# ------------------------------------------------------------------------ 成员服务概况
KEY_NAME, KEY_NUMBER, KEY_ID = "name", "number", "id_number"
KEY_TYPES = {KEY_NAME: "姓名", KEY_NUMBER: "志愿号", KEY_ID: "身份证号"}


@dataclass
class MemberRow:
    volunteer: Volunteer
    total: tuple = (Decimal("0.00"), 0)
    month: tuple = (Decimal("0.00"), 0)
    quarter: tuple = (Decimal("0.00"), 0)
    year: tuple = (Decimal("0.00"), 0)
    in_range: tuple = (Decimal("0.00"), 0)


def member_condition(org: Organization, include_children: bool):
    """The volunteer is an approved member of ``org`` (or, with children, of any org of its subtree)."""
    in_org = (MEMBERSHIP.c.org_id.in_(select(Organization.id).where(subtree_of(org))) if include_children
              else MEMBERSHIP.c.org_id == org.id)
    return exists().where(MEMBERSHIP.c.volunteer_id == Volunteer.id, MEMBERSHIP.c.state == APPROVED_MEMBER, in_org)


def _keyword_condition(key_type: str, keyword: str):
    keyword = (keyword or "").strip()
    if not keyword:
        return None
    if key_type == KEY_ID:
        return Volunteer.id_number_hash == lookup_hash(keyword)
    if key_type == KEY_NUMBER:
        return Volunteer.number == keyword
    if key_type == KEY_NAME:
        return Volunteer.name == keyword
    raise RuleViolation("key_type", "请选择按姓名、志愿号或身份证号查询。")


def member_overview(org: Organization, *, today: date, include_children: bool = True, key_type: str = KEY_NAME,
                    keyword: str = "", first: str | None = None, last: str | None = None, page: int = 1,
                    per_page: int = PER_PAGE) -> dict:
    """成员服务概况: one page of members with hours and counts (总/月度/季度/年度, and the range asked)."""
    conditions = [member_condition(org, include_children)]
    keyword_condition = _keyword_condition(key_type, keyword)
    if keyword_condition is not None:
        conditions.append(keyword_condition)
    page = max(int(page or 1), 1)
    volunteers = db.session.scalars(select(Volunteer).where(*conditions).order_by(Volunteer.id)
                                    .offset((page - 1) * per_page).limit(per_page + 1)).all()
    has_next = len(volunteers) > per_page
    volunteers = volunteers[:per_page]
    if keyword_condition is None and include_children:
        total = db.session.scalar(select(OrgPeriod.members).where(OrgPeriod.org_id == org.id,
                                                                  OrgPeriod.period == ALL)) or 0
    else:
        total = db.session.scalar(select(db.func.count()).select_from(Volunteer).where(*conditions))
    return {"rows": member_rows(volunteers, today=today, first=first, last=last), "total": total, "page": page,
            "has_next": has_next}


def member_rows(volunteers, *, today: date, first: str | None = None, last: str | None = None) -> list[MemberRow]:
    """Each volunteer's figures, read from their period rows in one query."""
    ids = [v.id for v in volunteers]
    quarter = quarter_months(today)
    wanted = {ALL, month_key(today), year_key(today), *quarter}
    in_range = months_between(first, last) if first and last else []
    wanted.update(in_range)
    found: dict[int, dict[str, tuple]] = {}
    if ids:
        for row in db.session.scalars(select(VolunteerPeriod).where(VolunteerPeriod.volunteer_id.in_(ids),
                                                                    VolunteerPeriod.period.in_(sorted(wanted)))):
            found.setdefault(row.volunteer_id, {})[row.period] = (money(row.hours), row.cycles)

    def total(periods, mine):
        hours = sum((mine.get(p, (Decimal(0), 0))[0] for p in periods), Decimal(0))
        return money(hours), sum(mine.get(p, (0, 0))[1] for p in periods)

    rows = []
    for volunteer in volunteers:
        mine = found.get(volunteer.id, {})
        rows.append(MemberRow(volunteer, total([ALL], mine), total([month_key(today)], mine), total(quarter, mine),
                              total([year_key(today)], mine), total(in_range, mine)))
    return rows


def require_member_of(org: Organization, volunteer_id: int) -> Volunteer:
    """The volunteer, if a member of ``org``'s subtree (an admin sees only their own members' records)."""
    volunteer = db.session.get(Volunteer, volunteer_id) if volunteer_id else None
    if volunteer is None or not db.session.scalar(select(member_condition(org, True).where(Volunteer.id == volunteer.id))):
        raise RuleViolation("not_member", "该志愿者不是本组织或下级组织的成员。", 404)
    return volunteer


def member_activities(volunteer_id: int, limit: int = 200) -> list[tuple[Cycle, Project]]:
    """活动清单 (图2-29): the volunteer's counted records, newest first."""
    return db.session.execute(select(Cycle, Project).join(Project, Project.id == Cycle.project_id)
                              .where(Cycle.volunteer_id == volunteer_id, Cycle.state.in_(COUNTED))
                              .order_by(Cycle.day.desc(), Cycle.id.desc()).limit(limit)).all()


# ------------------------------------------------------------------------------ 异常数据
ANOMALIES = {
    "no_hours_ever": "无时长成员", "no_hours_range": "时段无时长成员", "below_target": "时段时长未达标成员",
    "no_admin": "无管理员组织", "no_intro": "无简介组织", "no_activity": "时段无活动组织",
}
MEMBER_ANOMALIES = ("no_hours_ever", "no_hours_range", "below_target")


def anomalies(org: Organization, kind: str, *, first: str, last: str, page: int = 1, per_page: int = 50) -> dict:
    """异常数据: members (with one of their orgs in the subtree) or sub-orgs, a page at a time."""
    if kind not in ANOMALIES:
        raise RuleViolation("anomaly_kind", "未知的异常类型。", 404)
    page = max(int(page or 1), 1)
    months = months_between(first, last)
    if kind in MEMBER_ANOMALIES:
        had = select(VolunteerPeriod.volunteer_id).where(VolunteerPeriod.volunteer_id == MEMBERSHIP.c.volunteer_id,
                                                         VolunteerPeriod.cycles > 0)
        if kind == "no_hours_ever":
            had = had.where(VolunteerPeriod.period == ALL)
        else:
            had = had.where(VolunteerPeriod.period.in_(months))
            if kind == "below_target":
                had = had.where(VolunteerPeriod.hours >= monthly_target())
        query = (select(Organization, Volunteer).join(MEMBERSHIP, MEMBERSHIP.c.org_id == Organization.id)
                 .join(Volunteer, Volunteer.id == MEMBERSHIP.c.volunteer_id)
                 .where(subtree_of(org), MEMBERSHIP.c.state == APPROVED_MEMBER, ~had.exists())
                 .order_by(Volunteer.id, Organization.id))
    else:
        query = select(Organization).where(subtree_of(org, include_self=False), Organization.status == ACTIVE)
        if kind == "no_admin":
            query = query.where(~exists().where(OrgAdmin.org_id == Organization.id))
        elif kind == "no_intro":
            query = query.where(Organization.intro == "")
        else:
            query = query.where(~exists().where(and_(OrgPeriod.org_id == Organization.id,
                                                     OrgPeriod.period.in_(months), OrgPeriod.own_projects > 0)))
        query = query.order_by(Organization.path)
    rows = db.session.execute(query.offset((page - 1) * per_page).limit(per_page + 1)).all()
    return {"rows": rows[:per_page], "page": page, "has_next": len(rows) > per_page, "members": kind in MEMBER_ANOMALIES}


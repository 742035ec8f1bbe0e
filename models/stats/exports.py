"""成员数据导出 and 时长数据导出: the two export kinds of the statistics, on the one export mechanism.

Rows come a batch at a time by keyset (``id > last``), so a job holds one batch in memory whatever
the size.  ID numbers are whole only when the export says so (``Export.whole_ids``, decided by the
requesting admin's level); phones are always masked.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import and_, select
from sqlalchemy.orm import aliased

from .. import permissions, personal_data
from ..attendance.tables import COUNTED, CYCLE_LABELS, Cycle
from ..base import db
from ..exports import Export, ExportKind, Sheet, register
from ..organization import Organization, get_org, subtree_of
from ..project import DEFAULT_TZ, Project, local_now
from ..volunteer import Volunteer
from .periods import ALL, months_between, year_key
from .reads import member_condition, month_range
from .rollup import MEMBERSHIP
from .tables import OrgPeriod, VolunteerPeriod, money


def _requested_org(actor, params: dict, now):
    org = get_org(params.get("org_id"))
    permissions.require(actor, "view_stats", org, now=now, message="只能导出本组织及下级组织的数据。")
    return org


def _hours_params(actor, params, now):
    org = _requested_org(actor, params, now)
    month_range(params.get("first"), params.get("last"), local_now(now, DEFAULT_TZ).date())
    return org


# --------------------------------------------------------------------------------- members
def _members_query(export: Export):
    org = db.session.get(Organization, export.org_id)
    return select(Volunteer).where(member_condition(org, export.params.get("children", True)))


def _count_members(export: Export) -> int:
    if export.params.get("children", True):
        return db.session.scalar(select(OrgPeriod.members).where(OrgPeriod.org_id == export.org_id,
                                                                 OrgPeriod.period == ALL)) or 0
    return db.session.scalar(select(db.func.count()).select_from(_members_query(export).subquery()))


def _member_columns(export: Export, year: str):
    """The export's columns as plain values (no mapped objects): the volunteer's, their all-time and year rows."""
    total, in_year = aliased(VolunteerPeriod), aliased(VolunteerPeriod)
    id_number = Volunteer.id_number_encrypted if export.whole_ids else Volunteer.id_number_masked
    return (select(Volunteer.id, Volunteer.name, Volunteer.number, id_number, Volunteer.gender, Volunteer.phone_masked,
                   Volunteer.created_at, total.hours, total.cycles, in_year.hours, in_year.cycles)
            .outerjoin(total, and_(total.volunteer_id == Volunteer.id, total.period == ALL))
            .outerjoin(in_year, and_(in_year.volunteer_id == Volunteer.id, in_year.period == year)))


def _member_batches(export: Export, size: int):
    """The members a batch at a time, by volunteer id, each batch read from one window of ids.

    The window bounds the membership side of the query too, so a batch costs the window whatever its
    place in the export (a keyset ``id > last`` alone lets the planner read every membership below
    ``last`` again, batch after batch).  Windows are sized from the org's member count, about ``size``
    members each; a window holding more is read on from its last id, never more than ``size`` at once.
    """
    org = db.session.get(Organization, export.org_id)
    condition = member_condition(org, export.params.get("children", True))
    year = year_key(local_now(export.created_at, DEFAULT_TZ).date())
    columns = _member_columns(export, year)
    top = db.session.scalar(select(db.func.max(Volunteer.id))) or 0
    members = export.rows_total if export.rows_total is not None else _count_members(export)
    width = max(size, top * size // max(members, 1))
    last = 0
    while last < top:
        end = last + width
        rows = db.session.execute(columns.where(
            Volunteer.id > last, Volunteer.id <= end,
            condition.where(MEMBERSHIP.c.volunteer_id > last, MEMBERSHIP.c.volunteer_id <= end))
            .order_by(Volunteer.id).limit(size)).all()
        if rows:
            id_numbers = personal_data.decrypt_many([r[3] for r in rows]) if export.whole_ids else [r[3] for r in rows]
            yield [(row.name, row.number, id_number, "男" if row.gender == "M" else "女", row.phone_masked,
                    local_now(row.created_at, DEFAULT_TZ).date().isoformat(), float(money(row[7])), row[8] or 0,
                    float(money(row[9])), row[10] or 0) for row, id_number in zip(rows, id_numbers, strict=True)]
        last = rows[-1].id if len(rows) == size else end


MEMBERS = register(ExportKind(
    "members", "成员数据", (Sheet("成员数据", ("姓名", "志愿号", "身份证号", "性别", "手机号", "注册日期", "总时长", "总次数",
                                       "年度时长", "年度次数"), _member_batches),),
    _count_members, _requested_org))


# ----------------------------------------------------------------------------------- hours
def _hours_query(export: Export, *columns):
    org = db.session.get(Organization, export.org_id)
    months = months_between(export.params["first"], export.params["last"])
    first_day = date(int(months[0][:4]), int(months[0][5:]), 1)
    year, month = int(months[-1][:4]), int(months[-1][5:])
    after_last = date(year + (month == 12), month % 12 + 1, 1)
    return (select(*(columns or (Cycle.id,))).join(Project, Project.id == Cycle.project_id)
            .join(Volunteer, Volunteer.id == Cycle.volunteer_id)
            .where(Project.org_id.in_(select(Organization.id).where(subtree_of(org))), Cycle.state.in_(COUNTED),
                   Cycle.day >= first_day, Cycle.day < after_last))


def _count_hours(export: Export) -> int:
    return db.session.scalar(select(db.func.count()).select_from(_hours_query(export).subquery()))


def _hours_batches(export: Export, size: int):
    id_number = Volunteer.id_number_encrypted if export.whole_ids else Volunteer.id_number_masked
    query = _hours_query(export, Cycle.id, Project.name, Volunteer.name, Volunteer.number, id_number, Cycle.day,
                         Cycle.signed_in_at, Cycle.signed_out_at, Cycle.hours, Cycle.mode, Cycle.state)
    last_id = 0
    while True:
        rows = db.session.execute(query.where(Cycle.id > last_id).order_by(Cycle.id).limit(size)).all()
        if not rows:
            return
        ids = personal_data.decrypt_many([r[4] for r in rows]) if export.whole_ids else [r[4] for r in rows]
        yield [(project, name, number, id_no, day.isoformat(), _clock(signed_in), _clock(signed_out),
                float(money(hours)), "单签" if mode == "single" else "双签", CYCLE_LABELS[state])
               for (_, project, name, number, _, day, signed_in, signed_out, hours, mode, state), id_no
               in zip(rows, ids, strict=True)]
        last_id = rows[-1][0]


def _clock(moment) -> str:
    return local_now(moment, DEFAULT_TZ).strftime("%H:%M") if moment else ""


HOURS = register(ExportKind(
    "hours", "时长数据", (Sheet("时长数据", ("项目名称", "姓名", "志愿号", "身份证号", "日期", "签到", "签退", "时长", "计时方式",
                                     "状态"), _hours_batches),),
    _count_hours, _hours_params))

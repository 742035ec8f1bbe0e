"""The national record: volunteers' 统一编号 and the export in 全国志愿服务信息系统's data layout.

The layout follows the four data elements the national standard 《志愿服务信息系统基本规范》(MZ/T 061-2015)
names for exchange between systems — 志愿者, 志愿团体 (orgs), 志愿服务项目, 志愿服务时间 (service records) — with
the fields the national system registers for each (the README has the mapping and says where the field list
comes from).  One sheet per element, in the order and with the columns of ``NATIONAL.sheets``: a kind of the one
export mechanism (``models.exports``; XLSX with a sheet each, or a ZIP of one CSV per sheet).  The export covers an
org and everything below it; hours cancelled by an upheld objection are never exported; ID numbers are whole only
when the requesting admin's level may see them, masked otherwise; phones are always masked; times are local.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import select, union

from .. import exports
from ..attendance.tables import COUNTED, CYCLE_LABELS, SOURCE_LABELS, Cycle
from ..base import RuleViolation, db, get_or_refuse, insert_or_refuse
from ..exports import Export, Sheet
from ..identity import GENDERS, ID_TYPES
from ..membership import APPROVED, Membership
from ..organization import ACTIVE, Organization, admin_org_of, subtree_of
from ..project import DEFAULT_TZ, Project, local_now
from ..volunteer import Volunteer
from .tables import NationalNumber, RecordAudit

NAME = "national"


# ------------------------------------------------------------------------------ 统一编号
def set_national_number(actor: Volunteer, volunteer_id: int, number: str, *, now: datetime) -> NationalNumber:
    """Keep a volunteer's 统一编号 (given by the national system): an admin of the root org records it."""
    own = admin_org_of(actor.id)
    if own is None or own.status != ACTIVE or own.level != 1:
        raise RuleViolation("forbidden", "只有市级管理员可以登记全国志愿者统一编号。", 403)
    get_or_refuse(Volunteer, volunteer_id, "volunteer_not_found", "志愿者不存在。")
    number = "".join((number or "").split()).upper()
    if not 6 <= len(number) <= 40 or not number.isalnum():
        raise RuleViolation("national_number_invalid", "统一编号为6至40位字母或数字。")
    row = db.session.get(NationalNumber, volunteer_id)
    if row is None:
        row = NationalNumber(volunteer_id=volunteer_id, number=number, recorded_at=now, recorded_by_id=actor.id)
        insert_or_refuse(row, "national_number_taken", "该统一编号已登记给其他志愿者。")
    else:
        row.number, row.recorded_at, row.recorded_by_id = number, now, actor.id
    db.session.add(RecordAudit(actor_id=actor.id, action="national_number_set", target=str(volunteer_id),
                               detail=number, at=now))
    db.session.flush()
    return row


# ------------------------------------------------------------------------------ the export
def may_export(actor: Volunteer, max_level: int) -> Organization | None:
    """The org whose subtree ``actor`` may export (an approved org at a level ≤ ``max_level``), or None."""
    own = admin_org_of(actor.id)
    return own if own is not None and own.status == ACTIVE and own.level <= max_level else None


def _may_request(actor: Volunteer, params: dict, now: datetime) -> Organization:
    org = may_export(actor, params.get("max_level", 1))
    if org is None:
        raise RuleViolation("forbidden", "只有市级组织管理员可以导出全国志愿服务信息系统数据。", 403)
    return org


def request_export(actor: Volunteer, fmt: str, *, max_level: int, whole_id_level: int, tz: str,
                   now: datetime) -> Export:
    """导出全国系统数据 (``[records] export_max_level``), on the one export mechanism: the ``Export`` row is its
    audit (who, when, whole ID numbers or not, downloads); whole ID numbers only for admins at a level ≤
    ``whole_id_level`` (``[records] id_number_max_level``).  The caller submits ``jobs.exports.run_export``."""
    return exports.request_export(actor, NAME, {"max_level": max_level, "tz": tz}, fmt, now=now,
                                  whole_id_level=whole_id_level)


# ------------------------------------------------------------------------------ the rows
def _org(export: Export) -> Organization:
    return db.session.get(Organization, export.org_id)


def _local(export: Export):
    tz = export.params.get("tz", DEFAULT_TZ)
    return lambda moment: local_now(moment, tz).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def _keyset(query, key, size: int, row_of) -> Iterator[list[tuple]]:
    """``query``'s rows ``size`` at a time by ``key`` (an id: each row's first entity's), each made a sheet row by
    ``row_of``; a page leaves the session once written, so memory stays flat."""
    last = 0
    while True:
        rows = db.session.execute(query.where(key > last).order_by(key).limit(size)).all()
        if not rows:
            return
        yield [row_of(*row) for row in rows]
        last = rows[-1][0].id
        exports.forget(obj for row in rows for obj in row)


def _volunteer_ids(org: Organization):
    members = (select(Membership.volunteer_id).join(Organization, Organization.id == Membership.org_id)
               .where(subtree_of(org), Membership.state == APPROVED))
    served = (select(Cycle.volunteer_id).join(Project, Project.id == Cycle.project_id)
              .join(Organization, Organization.id == Project.org_id)
              .where(subtree_of(org), Cycle.state.in_(COUNTED)))
    return union(members, served).subquery()


def _volunteers_query(org: Organization):
    ids = _volunteer_ids(org)
    return (select(Volunteer, NationalNumber.number).join(ids, ids.c.volunteer_id == Volunteer.id)
            .outerjoin(NationalNumber, NationalNumber.volunteer_id == Volunteer.id))


def _orgs_query(org: Organization):
    return select(Organization).where(subtree_of(org))


def _projects_query(org: Organization):
    return (select(Project).join(Organization, Organization.id == Project.org_id)
            .where(subtree_of(org), Project.deleted_at.is_(None)))


def _records_query(org: Organization):
    return (select(Cycle, Project.org_id, NationalNumber.number, Volunteer.number)
            .join(Project, Project.id == Cycle.project_id).join(Organization, Organization.id == Project.org_id)
            .join(Volunteer, Volunteer.id == Cycle.volunteer_id)
            .outerjoin(NationalNumber, NationalNumber.volunteer_id == Cycle.volunteer_id)
            .where(subtree_of(org), Cycle.state.in_(COUNTED)))


def _count(export: Export) -> int:
    """Rows of all four sheets (the job's progress counts against their sum)."""
    org = _org(export)
    return sum(db.session.scalar(select(db.func.count()).select_from(query.subquery()))
               for query in (_volunteers_query(org), _orgs_query(org), _projects_query(org), _records_query(org)))


def _volunteer_batches(export: Export, size: int) -> Iterator[list[tuple]]:
    text = _local(export)

    def row(v: Volunteer, national):
        return (national or "", v.number, v.name, GENDERS.get(v.gender, v.gender),
                v.birth_date.isoformat() if v.birth_date else "", ID_TYPES.get(v.id_type, v.id_type),
                v.id_number if export.whole_ids else v.id_number_masked, v.country or "", v.ethnicity or "",
                v.political_status or "", v.education or "", v.phone_masked, text(v.created_at))

    return _keyset(_volunteers_query(_org(export)), Volunteer.id, size, row)


def _org_batches(export: Export, size: int) -> Iterator[list[tuple]]:
    text = _local(export)

    def row(o: Organization):
        return (o.id, o.name, o.parent_id or "", o.level, o.org_type, "、".join(o.service_domains), o.region,
                o.address, o.contact_name, o.contact_phone_masked, text(o.created_at), o.status_label)

    return _keyset(_orgs_query(_org(export)), Organization.id, size, row)


def _project_batches(export: Export, size: int) -> Iterator[list[tuple]]:
    def row(p: Project):
        return (p.id, p.name, p.org_id, p.category, "、".join(p.service_targets), p.region, p.place,
                p.start_date.isoformat(), p.end_date.isoformat(), p.daily_start.strftime("%H:%M"),
                p.daily_end.strftime("%H:%M"), p.recruit_count, " ".join(p.description.split())[:500],
                p.contact_name, p.contact_phone)

    return _keyset(_projects_query(_org(export)), Project.id, size, row)


def _record_batches(export: Export, size: int) -> Iterator[list[tuple]]:
    text = _local(export)

    def row(cycle: Cycle, org_id, national, number):
        return (cycle.id, national or "", number, cycle.project_id, org_id, cycle.day.isoformat(),
                text(cycle.signed_in_at), text(cycle.signed_out_at), str(cycle.hours),
                SOURCE_LABELS.get(cycle.source, cycle.source), CYCLE_LABELS[cycle.state], text(cycle.recorded_at))

    return _keyset(_records_query(_org(export)), Cycle.id, size, row)


NATIONAL = exports.register(exports.ExportKind(NAME, "全国系统数据", (
    Sheet("志愿者", ("志愿者统一编号", "本地志愿者编号", "姓名", "性别", "出生日期", "证件类型", "证件号码", "国籍", "民族",
                  "政治面貌", "学历", "手机号码", "注册时间"), _volunteer_batches),
    Sheet("志愿团体", ("团体编号", "团体名称", "上级团体编号", "团体层级", "团体类型", "服务领域", "所在地区", "详细地址", "负责人",
                   "联系电话", "成立时间", "状态"), _org_batches),
    Sheet("志愿服务项目", ("项目编号", "项目名称", "发布团体编号", "服务类别", "服务对象", "所在地区", "服务地点", "开始日期",
                     "结束日期", "每日开始时间", "每日结束时间", "招募人数", "项目简介", "联系人", "联系电话"), _project_batches),
    Sheet("志愿服务时间", ("记录编号", "志愿者统一编号", "本地志愿者编号", "项目编号", "记录团体编号", "服务日期", "开始时间",
                     "结束时间", "服务时长", "记录方式", "记录状态", "记录时间"), _record_batches),
), _count, _may_request, listed=False))

"""The national record: volunteers' 统一编号 and the export in 全国志愿服务信息系统's data layout.

The layout follows the four data elements the national standard 《志愿服务信息系统基本规范》(MZ/T 061-2015)
names for exchange between systems — 志愿者, 志愿团体 (orgs), 志愿服务项目, 志愿服务时间 (service records) — with
the fields the national system registers for each (the README has the mapping and says where the field list
comes from).  One sheet per element; ``SHEETS`` fixes the column order.  The export covers an org and everything
below it; hours cancelled by an upheld objection are never exported; ID numbers are whole only when the
requesting admin's level may see them, masked otherwise; phones are always masked.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import select, union

from ..attendance.tables import COUNTED, CYCLE_LABELS, SOURCE_LABELS, Cycle
from ..base import RuleViolation, db, get_or_refuse, insert_unique
from ..identity import GENDERS, ID_TYPES
from ..membership import APPROVED, Membership
from ..organization import ACTIVE, Organization, admin_org_of, subtree_of
from ..project import Project
from ..volunteer import Volunteer
from .tables import E_QUEUED, NationalExport, NationalNumber, RecordAudit

SHEETS: dict[str, tuple[str, ...]] = {
    "volunteers": ("志愿者统一编号", "本地志愿者编号", "姓名", "性别", "出生日期", "证件类型", "证件号码", "国籍", "民族",
                   "政治面貌", "学历", "手机号码", "注册时间"),
    "orgs": ("团体编号", "团体名称", "上级团体编号", "团体层级", "团体类型", "服务领域", "所在地区", "详细地址", "负责人",
             "联系电话", "成立时间", "状态"),
    "projects": ("项目编号", "项目名称", "发布团体编号", "服务类别", "服务对象", "所在地区", "服务地点", "开始日期",
                 "结束日期", "每日开始时间", "每日结束时间", "招募人数", "项目简介", "联系人", "联系电话"),
    "records": ("记录编号", "志愿者统一编号", "本地志愿者编号", "项目编号", "记录团体编号", "服务日期", "开始时间",
                "结束时间", "服务时长", "记录方式", "记录状态", "记录时间"),
}
SHEET_TITLES = {"volunteers": "志愿者", "orgs": "志愿团体", "projects": "志愿服务项目", "records": "志愿服务时间"}

BATCH = 500


def _text(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else ""


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
        if not insert_unique(row):
            raise RuleViolation("national_number_taken", "该统一编号已登记给其他志愿者。", 409)
    else:
        row.number, row.recorded_at, row.recorded_by_id = number, now, actor.id
    db.session.add(RecordAudit(actor_id=actor.id, action="national_number_set", target=str(volunteer_id),
                               detail=number, at=now))
    db.session.flush()
    return row


# ------------------------------------------------------------------------------ exports
def may_export(actor: Volunteer, max_level: int) -> Organization | None:
    """The org whose subtree ``actor`` may export (an approved org at a level ≤ ``max_level``), or None."""
    own = admin_org_of(actor.id)
    return own if own is not None and own.status == ACTIVE and own.level <= max_level else None


def request_export(actor: Volunteer, *, export_max_level: int, id_number_max_level: int,
                   now: datetime) -> NationalExport:
    """导出全国系统数据: a job writes it; whole ID numbers only for admins at a level ≤ ``id_number_max_level``."""
    org = may_export(actor, export_max_level)
    if org is None:
        raise RuleViolation("forbidden", "只有市级组织管理员可以导出全国志愿服务信息系统数据。", 403)
    export = NationalExport(requested_by_id=actor.id, org_id=org.id, with_id_numbers=org.level <= id_number_max_level,
                            state=E_QUEUED, requested_at=now)
    db.session.add(export)
    db.session.flush()
    db.session.add(RecordAudit(actor_id=actor.id, action="national_export_requested", target=f"export:{export.id}",
                               detail=f"{org.name}；证件号码{'完整' if export.with_id_numbers else '脱敏'}", at=now))
    return export


def export_of(actor: Volunteer, export_id: int) -> NationalExport:
    export = db.session.get(NationalExport, export_id) if export_id else None
    if export is None or export.requested_by_id != actor.id:
        raise RuleViolation("export_not_found", "导出任务不存在。", 404)
    return export


def exports_of(actor: Volunteer, limit: int = 20) -> list[NationalExport]:
    return (NationalExport.query.filter_by(requested_by_id=actor.id)
            .order_by(NationalExport.id.desc()).limit(limit).all())


def note_download(actor: Volunteer, export: NationalExport, *, now: datetime) -> None:
    export.downloaded_at = now
    db.session.add(RecordAudit(actor_id=actor.id, action="national_export_downloaded", target=f"export:{export.id}",
                               detail="证件号码完整" if export.with_id_numbers else "证件号码脱敏", at=now))


# ------------------------------------------------------------------------------ the rows
def _volunteer_ids(org: Organization):
    members = (select(Membership.volunteer_id).join(Organization, Organization.id == Membership.org_id)
               .where(subtree_of(org), Membership.state == APPROVED))
    served = (select(Cycle.volunteer_id).join(Project, Project.id == Cycle.project_id)
              .join(Organization, Organization.id == Project.org_id)
              .where(subtree_of(org), Cycle.state.in_(COUNTED)))
    return union(members, served).subquery()


def _records_query(org: Organization):
    return (select(Cycle, Project.org_id, NationalNumber.number, Volunteer.number)
            .join(Project, Project.id == Cycle.project_id).join(Organization, Organization.id == Project.org_id)
            .join(Volunteer, Volunteer.id == Cycle.volunteer_id)
            .outerjoin(NationalNumber, NationalNumber.volunteer_id == Cycle.volunteer_id)
            .where(subtree_of(org), Cycle.state.in_(COUNTED)).order_by(Cycle.id))


def counts(org: Organization) -> dict[str, int]:
    """Rows per sheet (the job's progress counts against their sum)."""
    ids = _volunteer_ids(org)
    return {
        "volunteers": db.session.scalar(select(db.func.count()).select_from(ids)),
        "orgs": db.session.scalar(select(db.func.count()).select_from(Organization).where(subtree_of(org))),
        "projects": db.session.scalar(select(db.func.count()).select_from(Project)
                                      .join(Organization, Organization.id == Project.org_id)
                                      .where(subtree_of(org), Project.deleted_at.is_(None))),
        "records": db.session.scalar(select(db.func.count()).select_from(_records_query(org).subquery())),
    }


def _batched(query) -> Iterator:
    """Rows of ``query`` (ordered by an id) read ``BATCH`` at a time by keyset, so memory stays flat."""
    yield from db.session.execute(query.execution_options(yield_per=BATCH))


def volunteer_rows(org: Organization, *, whole_ids: bool) -> Iterator[tuple]:
    ids = _volunteer_ids(org)
    query = (select(Volunteer, NationalNumber.number).join(ids, ids.c.volunteer_id == Volunteer.id)
             .outerjoin(NationalNumber, NationalNumber.volunteer_id == Volunteer.id).order_by(Volunteer.id))
    for v, national in _batched(query):
        yield (national or "", v.number, v.name, GENDERS.get(v.gender, v.gender),
               v.birth_date.isoformat() if v.birth_date else "", ID_TYPES.get(v.id_type, v.id_type),
               v.id_number if whole_ids else v.id_number_masked, v.country or "", v.ethnicity or "",
               v.political_status or "", v.education or "", v.phone_masked, _text(v.created_at))


def org_rows(org: Organization) -> Iterator[tuple]:
    query = select(Organization).where(subtree_of(org)).order_by(Organization.id)
    for (o,) in _batched(query):
        yield (o.id, o.name, o.parent_id or "", o.level, o.org_type, "、".join(o.service_domains), o.region,
               o.address, o.contact_name, o.contact_phone_masked, _text(o.created_at), o.status_label)


def project_rows(org: Organization) -> Iterator[tuple]:
    query = (select(Project).join(Organization, Organization.id == Project.org_id)
             .where(subtree_of(org), Project.deleted_at.is_(None)).order_by(Project.id))
    for (p,) in _batched(query):
        yield (p.id, p.name, p.org_id, p.category, "、".join(p.service_targets), p.region, p.place,
               p.start_date.isoformat(), p.end_date.isoformat(), p.daily_start.strftime("%H:%M"),
               p.daily_end.strftime("%H:%M"), p.recruit_count, " ".join(p.description.split())[:500], p.contact_name,
               p.contact_phone)


def record_rows(org: Organization, *, tz_text) -> Iterator[tuple]:
    """``tz_text(moment)``: a UTC moment as local text (the caller's zone)."""
    for cycle, org_id, national, number in _batched(_records_query(org)):
        yield (cycle.id, national or "", number, cycle.project_id, org_id, cycle.day.isoformat(),
               tz_text(cycle.signed_in_at), tz_text(cycle.signed_out_at), str(cycle.hours),
               SOURCE_LABELS.get(cycle.source, cycle.source), CYCLE_LABELS[cycle.state], tz_text(cycle.recorded_at))


def sheet_rows(sheet: str, org: Organization, *, whole_ids: bool, tz_text) -> Iterator[tuple]:
    if sheet == "volunteers":
        return volunteer_rows(org, whole_ids=whole_ids)
    if sheet == "orgs":
        return org_rows(org)
    if sheet == "projects":
        return project_rows(org)
    return record_rows(org, tz_text=tz_text)

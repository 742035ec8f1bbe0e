"""志愿服务记录证明: issued free of charge from the record, in the name of the org that recorded the hours
(志愿服务条例 art. 19, 谁记录谁证明), with the content 民政部《志愿服务记录与证明出具办法（试行）》 sets out:

- the volunteer: name, ID type and (masked) number, volunteer number (and the national 统一编号 when known);
- the service: per project its dates, service content and hours, and the total;
- the issuer: the org's name, its person in charge and contact;
- the certificate number (random: unique and not guessable) and the issue date; for a period, the trainings,
  awards and evaluations the issuer recorded, and the star level.

Only counted hours (公示中 and 已确认) appear; a line still in publicity says so.  Hours cancelled by an upheld
objection never appear; a certificate that counted a cycle later cancelled reads as superseded (``status_of``).
The same hours give the same certificate, settled by a unique index (``scope_key``), also for two asks at once.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select, update

from .. import permissions
from ..attendance.tables import COUNTED, RECORDED, TWO, Cycle
from ..base import RuleViolation, db, get_or_refuse, insert_unique, won
from ..identity import ID_TYPES
from ..integrity import audit_log
from ..integrity.tables import A_CERTIFICATE_PRINTED
from ..organization import Organization
from ..personal_data import mask_name, mask_phone
from ..project import Project, local_now
from ..volunteer import Volunteer
from . import entries, stars
from .tables import (
    PERIOD,
    PROJECT,
    REVOKED,
    SUPERSEDED,
    VALID,
    Certificate,
    CertificateCycle,
    NationalNumber,
    RecordAudit,
)

# for a period: one certificate per recording org, or one combined by the level-1 org above them
BY_RECORDING_ORG, BY_LEVEL1_ORG = "recording_org", "level1"
PERIOD_ISSUERS = (BY_RECORDING_ORG, BY_LEVEL1_ORG)

_NUMBER_RE = re.compile(r"^[A-Z2-7]{16}$")
PERIOD_MAX_DAYS = 366 * 10
#: new certificates a volunteer may have issued in a day (see ``_require_issuing_allowed``)
NEW_PER_DAY = 20


# --------------------------------------------------------------------------------- numbers
def new_number() -> str:
    """80 random bits in base32, ``ABCD-EFGH-JKLM-NPQR``: unique by the column, never guessed."""
    raw = base64.b32encode(secrets.token_bytes(10)).decode()
    return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


def normalise_number(text: str | None) -> str | None:
    """A typed or scanned number in its stored form, or None when it cannot be one."""
    raw = re.sub(r"[\s\-]", "", (text or "")).upper()[:40]
    if not _NUMBER_RE.match(raw):
        return None
    return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


# ------------------------------------------------------------------------------ the record
@dataclass(frozen=True)
class Line:
    """One project's part of a certificate."""

    project: Project
    cycles: tuple[Cycle, ...]

    @property
    def hours(self) -> Decimal:
        return sum((Decimal(str(c.hours)) for c in self.cycles), Decimal(0)).quantize(TWO)

    def as_dict(self) -> dict:
        days = sorted({c.day for c in self.cycles})
        content = self.project.category
        if self.project.description:
            content += "：" + " ".join(self.project.description.split())[:60]
        return {"project": self.project.name, "org": self.project.org.name if self.project.org else "",
                "first_day": days[0].isoformat(), "last_day": days[-1].isoformat(), "days": len(days),
                "content": content, "hours": str(self.hours),
                "in_publicity": any(c.state == RECORDED for c in self.cycles)}


def counted_cycles(volunteer_id: int, *, project_id: int | None = None, start: date | None = None,
                   end: date | None = None) -> list[Cycle]:
    query = Cycle.query.filter(Cycle.volunteer_id == volunteer_id, Cycle.state.in_(COUNTED), Cycle.hours > 0)
    if project_id is not None:
        query = query.filter(Cycle.project_id == project_id)
    if start is not None:
        query = query.filter(Cycle.day >= start)
    if end is not None:
        query = query.filter(Cycle.day <= end)
    return query.order_by(Cycle.day, Cycle.id).all()


def _lines(cycles) -> list[Line]:
    by_project: dict[int, list[Cycle]] = {}
    for cycle in cycles:
        by_project.setdefault(cycle.project_id, []).append(cycle)
    lines = [Line(cycles[0].project, tuple(cycles)) for cycles in by_project.values()]
    return sorted(lines, key=lambda line: (line.cycles[0].day, line.project.id))


def level1_of(org: Organization) -> Organization:
    return db.session.get(Organization, org.ancestor_ids[0])


def _issuer_of(project: Project, mode: str) -> Organization:
    return level1_of(project.org) if mode == BY_LEVEL1_ORG else project.org


def national_number_of(volunteer_id: int) -> str | None:
    return db.session.scalar(select(NationalNumber.number).where(NationalNumber.volunteer_id == volunteer_id))


def _content(volunteer: Volunteer, issuer: Organization, lines: list[Line], *, kind: str, period, combined: bool,
             thresholds, local_today: date) -> dict:
    level = stars.level_for(stars.confirmed_hours(volunteer.id), thresholds)
    out = {
        "volunteer": {"name": volunteer.name, "id_type": ID_TYPES.get(volunteer.id_type, volunteer.id_type),
                      "id_number": volunteer.id_number_masked, "number": volunteer.number,
                      "national_number": national_number_of(volunteer.id) or ""},
        "issuer": {"name": issuer.name, "person_in_charge": issuer.contact_name, "contact": issuer.contact_phone},
        "lines": [line.as_dict() for line in lines],
        "total_hours": str(sum((line.hours for line in lines), Decimal(0)).quantize(TWO)),
        "star": stars.level_name(level),
        "issued_on": local_today.isoformat(),
        "kind": kind,
    }
    if kind == PERIOD:
        start, end = period
        out["period"] = {"start": start.isoformat(), "end": end.isoformat()}
        found = entries.entries_of(volunteer.id, by=issuer, below=combined, start=start, end=end)
        out["entries"] = [{"kind": e.kind_label, "title": e.title, "detail": e.detail, "day": e.day.isoformat(),
                           "org": e.org.name} for e in found]
    return out


def scope_key(volunteer_id: int, issuer_id: int, kind: str, project_id: int | None, period,
              cycle_ids: set[int]) -> str:
    """What a certificate certifies, as one value: whose hours, issued by whom, for which project or period, and
    exactly which cycles.  Unique among valid certificates (a partial unique index): asking again for the same
    hours gives the same certificate back, and two asks at once cannot both issue one."""
    span = f"{period[0].isoformat()}~{period[1].isoformat()}" if period else ""
    text = "|".join((kind, str(volunteer_id), str(issuer_id), str(project_id or ""), span,
                     ",".join(str(i) for i in sorted(cycle_ids))))
    return hashlib.sha256(text.encode()).hexdigest()


def _valid_with(key: str) -> Certificate | None:
    """The valid certificate of this scope.  Its cycles are exactly the ones counted now, so it is not superseded."""
    return Certificate.query.filter_by(scope_key=key, state=VALID).one_or_none()


def _require_issuing_allowed(volunteer_id: int, now: datetime) -> None:
    """At most ``NEW_PER_DAY`` new certificates a volunteer a day: each period is its own certificate, so
    without a bound one person could have millions drawn and stored (asking again for one is free)."""
    issued = db.session.scalar(select(db.func.count()).select_from(Certificate).where(
        Certificate.volunteer_id == volunteer_id, Certificate.issued_at > now - timedelta(days=1)))
    if issued >= NEW_PER_DAY:
        raise RuleViolation("certificates_too_many", f"今天已开具{NEW_PER_DAY}份证明，请明天再开具新的证明；"
                                                     "已开具的证明可在“我的证书”中随时查看。", 429)


def _issue(volunteer: Volunteer, issuer: Organization, lines: list[Line], *, kind: str, project_id=None,
           period=None, combined: bool = False, thresholds, now: datetime, tz: str) -> Certificate:
    cycle_ids = {c.id for line in lines for c in line.cycles}
    key = scope_key(volunteer.id, issuer.id, kind, project_id, period, cycle_ids)
    found = _valid_with(key)
    if found is not None:
        return found
    _require_issuing_allowed(volunteer.id, now)
    content = _content(volunteer, issuer, lines, kind=kind, period=period, combined=combined, thresholds=thresholds,
                       local_today=local_now(now, tz).date())
    for _attempt in range(5):
        cert = Certificate(number=new_number(), kind=kind, volunteer_id=volunteer.id, issuer_org_id=issuer.id,
                           project_id=project_id, period_start=period[0] if period else None,
                           period_end=period[1] if period else None, cycle_count=len(cycle_ids),
                           total_hours=Decimal(content["total_hours"]), scope_key=key, state=VALID, issued_at=now,
                           content_json=json.dumps(content, ensure_ascii=False))
        if insert_unique(cert):
            break
        found = _valid_with(key)  # a simultaneous ask issued it first (or, once in 2^80, the number was taken)
        if found is not None:
            return found
    else:  # pragma: no cover - 80 random bits do not collide five times
        raise RuleViolation("number_taken", "证书编号生成失败，请重试。", 503)
    db.session.add_all(CertificateCycle(certificate_id=cert.id, cycle_id=i) for i in sorted(cycle_ids))
    db.session.flush()
    return cert


def _project_certificate(volunteer: Volunteer, project: Project, *, thresholds, now: datetime,
                         tz: str) -> Certificate:
    lines = _lines(counted_cycles(volunteer.id, project_id=project.id))
    if not lines:
        raise RuleViolation("no_hours", "该项目还没有可以证明的服务时长（时长记录后即可开具）。", 409)
    return _issue(volunteer, project.org, lines, kind=PROJECT, project_id=project.id, thresholds=thresholds,
                  now=now, tz=tz)


def issue_for_project(volunteer: Volunteer, project_id: int, *, thresholds, now: datetime, tz: str) -> Certificate:
    """证书打印 (我的活动): the certificate of one project, issued by the org that published and recorded it."""
    project = get_or_refuse(Project, project_id, "project_not_found", "项目不存在。")
    return _project_certificate(volunteer, project, thresholds=thresholds, now=now, tz=tz)


def print_for_member(actor: Volunteer, project_id: int, volunteer_id: int, *, thresholds, now: datetime, tz: str,
                     origin: audit_log.Origin | None = None) -> Certificate:
    """证书打印 on 参与成员 (manual part 2 §16, 图2-47): an admin of the project's org (or above) prints a
    participant's certificate of the project — the same certificate the volunteer gets (issued by the project's
    org, once for the same hours) — and the act is audited (``AdminAction``, with the certificate's number)."""
    project = get_or_refuse(Project, project_id, "project_not_found", "项目不存在。")
    permissions.require(actor, "print_certificate", project.org, now=now,
                        message="只有项目所属组织及其上级组织的管理员可以打印证书。")
    volunteer = get_or_refuse(Volunteer, volunteer_id, "volunteer_not_found", "志愿者不存在。")
    cert = _project_certificate(volunteer, project, thresholds=thresholds, now=now, tz=tz)
    audit_log.record(A_CERTIFICATE_PRINTED, now=now, actor_id=actor.id, project=project, volunteer_id=volunteer.id,
                     hours=cert.total_hours, origin=origin, detail=f"证书编号 {cert.number}")
    return cert


def for_admin(actor: Volunteer, certificate_id: int, *, now: datetime) -> Certificate:
    """A certificate an admin may open and print: issued in the name of the admin's org or one below."""
    cert = get_or_refuse(Certificate, certificate_id, "certificate_not_found", "证书不存在。")
    permissions.require(actor, "print_certificate", db.session.get(Organization, cert.issuer_org_id), now=now,
                        message="只有出具证书的组织及其上级组织的管理员可以查看该证书。")
    return cert


def issue_for_period(volunteer: Volunteer, start: date, end: date, *, mode: str, thresholds, now: datetime,
                     tz: str) -> list[Certificate]:
    """服务记录证明 over all projects from ``start`` to ``end`` (local days): one per recording org, or one by the
    level-1 org above them (``[records] period_issuer``)."""
    if mode not in PERIOD_ISSUERS:
        raise ValueError(f"unknown period issuer mode {mode!r}")
    today = local_now(now, tz).date()
    if start > end:
        raise RuleViolation("period_invalid", "开始日期不能晚于结束日期。")
    if end > today:
        raise RuleViolation("period_future", "结束日期不能晚于今天。")
    if (end - start).days > PERIOD_MAX_DAYS:
        raise RuleViolation("period_too_long", "证明的时间段不能超过十年。")
    by_issuer: dict[int, tuple[Organization, list[Cycle]]] = {}
    for cycle in counted_cycles(volunteer.id, start=start, end=end):
        issuer = _issuer_of(cycle.project, mode)
        by_issuer.setdefault(issuer.id, (issuer, []))[1].append(cycle)
    if not by_issuer:
        raise RuleViolation("no_hours", "该时间段内没有可以证明的服务时长。", 409)
    return [_issue(volunteer, issuer, _lines(cycles), kind=PERIOD, period=(start, end),
                   combined=mode == BY_LEVEL1_ORG, thresholds=thresholds, now=now, tz=tz) for issuer, cycles in sorted(by_issuer.values(), key=lambda item: item[0].id)]


# ------------------------------------------------------------------------------ reading
def status_of(cert: Certificate) -> str:
    """有效, 已撤销, or superseded: a cycle it counted no longer counts (cancelled by an upheld objection)."""
    if cert.state == REVOKED:
        return REVOKED
    still = db.session.scalar(select(db.func.count()).select_from(CertificateCycle)
                              .join(Cycle, Cycle.id == CertificateCycle.cycle_id)
                              .where(CertificateCycle.certificate_id == cert.id, Cycle.state.in_(COUNTED)))
    return VALID if still == cert.cycle_count else SUPERSEDED


def by_number(number: str | None) -> Certificate | None:
    normal = normalise_number(number)
    return Certificate.query.filter_by(number=normal).one_or_none() if normal else None


def mine(volunteer_id: int, certificate_id: int) -> Certificate:
    cert = db.session.get(Certificate, certificate_id) if certificate_id else None
    if cert is None or cert.volunteer_id != volunteer_id:
        raise RuleViolation("certificate_not_found", "证书不存在。", 404)
    return cert


def certificates_of(volunteer_id: int, limit: int = 100) -> list[Certificate]:
    return (Certificate.query.filter_by(volunteer_id=volunteer_id)
            .order_by(Certificate.issued_at.desc(), Certificate.id.desc()).limit(limit).all())


def public_facts(cert: Certificate) -> dict:
    """What the public verification page shows: the content with the name and the contact masked."""
    content = cert.content
    content["volunteer"] = {**content["volunteer"], "name": mask_name(content["volunteer"]["name"])}
    content["issuer"] = {**content["issuer"], "contact": mask_phone(content["issuer"]["contact"])
                         if content["issuer"]["contact"] else ""}
    return content


# ------------------------------------------------------------------------------ revoking
def revoke(actor: Volunteer, certificate_id: int, reason: str, *, now: datetime) -> Certificate:
    """撤销: an admin of the issuing org (or above) withdraws a certificate, with a reason; its page says so."""
    cert = get_or_refuse(Certificate, certificate_id, "certificate_not_found", "证书不存在。")
    issuer = db.session.get(Organization, cert.issuer_org_id)
    permissions.require(actor, "revoke_certificate", issuer, now=now, message="只有出具证书的组织及其上级管理员可以撤销证书。")
    reason = (reason or "").strip()
    if not 2 <= len(reason) <= 200:
        raise RuleViolation("reason_required", "请填写撤销原因（2至200字）。")
    if not won(update(Certificate).where(Certificate.id == cert.id, Certificate.state == VALID)
               .values(state=REVOKED, revoked_at=now, revoked_by_id=actor.id, revoke_reason=reason)):
        raise RuleViolation("already_revoked", "该证书已撤销。", 409)
    db.session.add(RecordAudit(actor_id=actor.id, action="certificate_revoked", target=cert.number, detail=reason,
                               at=now))
    db.session.refresh(cert)
    return cert

"""服务台 (desk mode): an admin's phone or a shared tablet on site punches for people without smartphones.

The admin finds the volunteer by phone number or volunteer number (only volunteers accepted on the
project are found, and only masked), confirms the face and the name, and punches them in or out
(单签 or 双签).  The punches are ``desk`` punches, the admin is recorded on them and in the audit.
The printed card's static QR code is accepted here (and only here), for 单签.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from .. import positions
from ..attendance import punches
from ..attendance.tables import COUNTED, OPEN, Cycle
from ..base import RuleViolation, db
from ..project import (
    APPROVED,
    DOUBLE,
    SINGLE,
    Project,
    ProjectTempAdmin,
    get_project,
    local_now,
    require_project,
)
from ..signup import ACCEPTED, Signup
from ..volunteer import Volunteer
from .audit_log import Origin

NUMBER = re.compile(r"^[0-9A-Za-z]{4,15}$")
PHONE = re.compile(r"^1[3-9][0-9]{9}$")


@dataclass(frozen=True)
class Found:
    """A volunteer as the desk shows them: masked, with what the desk can do for them today."""

    volunteer_id: int
    masked_name: str
    masked_phone: str
    number: str
    avatar: str | None
    action: str | None  # single / sign_in / sign_out / None (nothing to do)
    label: str


def desk_project(actor: Volunteer, project_id: int, now: datetime) -> Project:
    project = get_project(project_id)
    require_project(actor, project, "scan_assist", now=now)
    return project


def _next_action(project: Project, volunteer_id: int, now: datetime, tz: str) -> tuple[str | None, str]:
    today = local_now(now, tz).date()
    cycles = punches.cycles_of_day(project.id, volunteer_id, today)
    if project.checkin_mode == SINGLE:
        if any(c.state in COUNTED for c in cycles):
            return None, "今日已打卡"
        return "single", "确认打卡"
    if any(c.state == OPEN for c in cycles):
        return "sign_out", "确认签退"
    return "sign_in", "确认签到"


def find(actor: Volunteer, project_id: int, query: str, *, now: datetime, tz: str) -> list[Found]:
    """Volunteers accepted on the project whose phone or volunteer number is ``query`` (masked)."""
    project = desk_project(actor, project_id, now)
    query = re.sub(r"[\s-]", "", query or "")
    if PHONE.match(query):
        volunteer = Volunteer.by_phone(query)
        candidates = [volunteer] if volunteer else []
    elif NUMBER.match(query):
        candidates = Volunteer.query.filter_by(number=query).all()
    else:
        raise RuleViolation("desk_query_invalid", "请输入11位手机号码或志愿者编号。")
    accepted = set(db.session.scalars(select(Signup.volunteer_id).where(
        Signup.project_id == project.id, Signup.state == ACCEPTED,
        Signup.volunteer_id.in_([v.id for v in candidates])))) if candidates else set()
    out = []
    for volunteer in candidates:
        if volunteer.id in accepted:
            action, label = _next_action(project, volunteer.id, now, tz)
            out.append(Found(volunteer.id, volunteer.masked_name, volunteer.phone_masked, volunteer.number,
                             volunteer.avatar_path, action, label))
    return out


def found_one(actor: Volunteer, project_id: int, volunteer: Volunteer, *, now: datetime, tz: str) -> Found:
    """A scanned volunteer as ``find`` shows them (refused if not accepted on the project)."""
    project = desk_project(actor, project_id, now)
    signup = Signup.query.filter_by(project_id=project.id, volunteer_id=volunteer.id, state=ACCEPTED).one_or_none()
    if signup is None:
        raise RuleViolation("not_accepted", f"{volunteer.masked_name}未被录取参加该活动。", 409)
    action, label = _next_action(project, volunteer.id, now, tz)
    return Found(volunteer.id, volunteer.masked_name, volunteer.phone_masked, volunteer.number,
                 volunteer.avatar_path, action, label)


def desk_punch(actor: Volunteer, project_id: int, volunteer_id: int, action: str,
               position: positions.Position | None, *, now: datetime, rules: punches.Rules = punches.DEFAULT_RULES,
               origin: Origin | None = None, card: bool = False) -> Cycle:
    """Punch ``volunteer_id`` in or out at the desk (the admin confirmed them); audited as a desk punch.

    ``card``: the volunteer was found by the printed card's static code, which serves 单签 only."""
    project = desk_project(actor, project_id, now)
    volunteer = db.session.get(Volunteer, volunteer_id)
    if volunteer is None:
        raise RuleViolation("volunteer_not_found", "未找到该志愿者。", 404)
    if card and project.checkin_mode != SINGLE:
        raise RuleViolation("card_single_only", "志愿者卡上的固定二维码仅可用于单签项目的服务台签到。", 409)
    extras = punches.Extras(origin=origin)
    if action == "single" and project.checkin_mode == SINGLE:
        return punches.punch_single(volunteer, project.id, position, now=now, rules=rules, by=actor, desk=True,
                                    extras=extras)
    if action == "sign_in" and project.checkin_mode == DOUBLE:
        return punches.sign_in(volunteer, project.id, position, now=now, rules=rules, desk_by=actor, extras=extras)
    if action == "sign_out" and project.checkin_mode == DOUBLE:
        return punches.sign_out(volunteer, project.id, position, now=now, rules=rules, desk_by=actor, extras=extras)
    raise RuleViolation("action_invalid", "该项目不能进行此打卡操作。")


def desk_projects(actor: Volunteer, *, now: datetime, tz: str) -> list[Project]:
    """The approved projects running today that ``actor`` may punch for at a desk."""
    ids = punches.managed_project_ids(actor)
    today = local_now(now, tz).date()
    temp = select(ProjectTempAdmin.project_id).where(ProjectTempAdmin.volunteer_id == actor.id)
    where = Project.id.in_(temp) if ids is None else (Project.id.in_(ids) | Project.id.in_(temp))
    return (Project.query.filter(where, Project.status == APPROVED, Project.start_date <= today,
                                 Project.end_date >= today).order_by(Project.starts_at, Project.id).all())

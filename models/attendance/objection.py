"""时长公示与异议: the public cycles of a project, objections to them, and confirmation after 7 days.

Manual part 2 §三.18–19; part 3 §三.7.  Handling an objection is a conditional UPDATE; an upheld
objection cancels the cycle and reverses its points.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from .. import permissions
from ..base import RuleViolation, db, get_or_refuse, insert_or_refuse, won
from ..integrity import audit_log
from ..integrity.tables import A_OBJECTION_UPHELD
from ..notification import notify
from ..points import reverse_points
from ..project import (
    Project,
)
from ..stats import rollup
from ..volunteer import Volunteer
from .punches import managed_project_ids
from .tables import (
    CANCELLED_CYCLE,
    CONFIRMED,
    COUNTED,
    O_DISMISSED,
    O_PENDING,
    O_UPHELD,
    RECORDED,
    Cycle,
    Objection,
)


# ---------------------------------------------------------------------------- publicity
def public_cycles(project_id: int, *, now: datetime) -> list[Cycle]:
    """时长公示: the project's recorded cycles still inside their 7 days, newest first."""
    return (Cycle.query.filter(Cycle.project_id == project_id, Cycle.state == RECORDED, Cycle.public_until > now)
            .order_by(Cycle.recorded_at.desc(), Cycle.id.desc()).all())


def get_cycle(cycle_id) -> Cycle:
    cycle = db.session.get(Cycle, cycle_id) if cycle_id else None
    if cycle is None:
        raise RuleViolation("record_not_found", "时长记录不存在。", 404)
    return cycle


#: 异议理由: its length in characters.
REASON_MIN, REASON_MAX = 5, 500


def object_to(volunteer: Volunteer, cycle_id: int, reason: str, *, now: datetime) -> Objection:
    """我有异议: anyone logged in, with a reason, while the record is public; once per person and record."""
    cycle = get_cycle(cycle_id)
    if not cycle.in_publicity(now):
        raise RuleViolation("not_in_publicity", "该时长记录已不在公示期内，不能提出异议。", 409)
    reason = (reason or "").strip()
    if not REASON_MIN <= len(reason) <= REASON_MAX:
        raise RuleViolation("reason_required", f"请填写异议理由（{REASON_MIN}至{REASON_MAX}字）。")
    objection = Objection(cycle_id=cycle.id, volunteer_id=volunteer.id, reason=reason, state=O_PENDING,
                          created_at=now)
    return insert_or_refuse(objection, "already_objected", "您已对该时长记录提出过异议。")


def get_objection(objection_id) -> Objection:
    return get_or_refuse(Objection, objection_id, "objection_not_found", "异议不存在。")


def _require_handler(actor: Volunteer, project: Project, now: datetime) -> None:
    permissions.require(actor, "handle_objections", project.org, now=now, message="只有发布活动的组织管理员可以处理异议。")


def _note_objection(objection: Objection, result: str, reply: str, now: datetime) -> None:
    cycle = objection.cycle
    notify(objection.volunteer_id, "objection_result",
           {"subject": f"{cycle.project.name} {cycle.volunteer.masked_name}的时长", "result": result,
            "reason": reply}, link="/m/me/objections", cause=f"objection:{objection.id}",
           key=f"objection_result:{objection.id}")


def _settle(objection_id: int, state: str, actor: Volunteer, reply: str, now: datetime) -> bool:
    """Move a pending objection to ``state``; False when it was handled meanwhile."""
    return won(update(Objection).where(Objection.id == objection_id, Objection.state == O_PENDING)
               .values(state=state, handled_at=now, handled_by_id=actor.id, reply=reply))


def uphold_objection(actor: Volunteer, objection_id: int, reply: str = "", *, now: datetime,
                     origin: audit_log.Origin | None = None) -> Objection:
    """异议成立: the record's hours and the points it gave are cancelled (never adjusted); audited."""
    objection = get_objection(objection_id)
    cycle = objection.cycle
    _require_handler(actor, cycle.project, now)
    reply = (reply or "").strip()[:200] or "经核实，该时长记录已取消。"
    if not _settle(objection.id, O_UPHELD, actor, reply, now):
        raise RuleViolation("objection_handled", "该异议已处理。", 409)
    cancelled = db.session.execute(update(Cycle).where(Cycle.id == cycle.id, Cycle.state.in_(COUNTED))
                                   .values(state=CANCELLED_CYCLE, cancelled_at=now)
                                   .execution_options(synchronize_session=False))
    db.session.refresh(cycle)
    db.session.refresh(objection)
    if cancelled.rowcount == 1:
        reverse_points(cycle, now)
        audit_log.record(A_OBJECTION_UPHELD, now=now, actor_id=actor.id, project=cycle.project,
                         volunteer_id=cycle.volunteer_id, cycle_id=cycle.id, hours=cycle.hours, origin=origin,
                         detail=reply)
        rollup.cycle_counted(cycle, -1)
    _note_objection(objection, "异议成立", reply, now)
    # Other objections to the same record are settled by the same outcome.
    for other in Objection.query.filter(Objection.cycle_id == cycle.id, Objection.state == O_PENDING).all():
        _settle(other.id, O_UPHELD, actor, reply, now)
        db.session.refresh(other)
        _note_objection(other, "异议成立", reply, now)
    db.session.flush()
    return objection


def dismiss_objection(actor: Volunteer, objection_id: int, reply: str = "", *, now: datetime) -> Objection:
    """异议不成立: the record stands."""
    objection = get_objection(objection_id)
    _require_handler(actor, objection.cycle.project, now)
    reply = (reply or "").strip()[:200] or "经核实，该时长记录无误。"
    if not _settle(objection.id, O_DISMISSED, actor, reply, now):
        raise RuleViolation("objection_handled", "该异议已处理。", 409)
    db.session.refresh(objection)
    _note_objection(objection, "异议不成立", reply, now)
    return objection


def pending_objections_for(actor: Volunteer) -> list[Objection]:
    """时长异议: pending objections to records of projects of the admin's org and below."""
    ids = managed_project_ids(actor)
    if ids is None:
        return []
    return (Objection.query.join(Cycle, Cycle.id == Objection.cycle_id)
            .filter(Objection.state == O_PENDING, Cycle.project_id.in_(ids))
            .order_by(Objection.created_at, Objection.id).all())


def objections_of(volunteer_id: int) -> list[Objection]:
    """我的异议."""
    return (Objection.query.filter_by(volunteer_id=volunteer_id)
            .order_by(Objection.created_at.desc(), Objection.id.desc()).all())


def confirm_due(now: datetime) -> int:
    """After the publicity without an upheld (or a still pending) objection, a record is confirmed."""
    pending = select(Objection.id).where(Objection.cycle_id == Cycle.id, Objection.state == O_PENDING).exists()
    result = db.session.execute(update(Cycle).where(Cycle.state == RECORDED, Cycle.public_until <= now, ~pending)
                                .values(state=CONFIRMED, confirmed_at=now)
                                .execution_options(synchronize_session=False))
    return result.rowcount



"""清理: 7 days after an activity, projects without any sign-in and signups without hours are removed.

Every removal is kept as a ``Removal`` row so that an operator can restore it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update

from ..base import RuleViolation, db, won
from ..integrity import audit_log
from ..integrity.tables import A_REMOVAL, A_RESTORE
from ..project import (
    DELETED,
    Project,
)
from ..signup import CANCELLED, LIVE, Signup
from .tables import CLEANUP_DAYS, COUNTED, M_PENDING, Cycle, MakeupRequest, Removal

# ---------------------------------------------------------------------------------- clean-up
REMOVE_PROJECT_REASON = "活动结束7天后仍无签到记录，系统自动清除"
REMOVE_SIGNUP_REASON = "活动结束7天后仍无服务时长记录，系统自动清除报名"


def _removed(change, kind: str, target_id: int, previous: str, reason: str, now: datetime) -> int:
    """Run the conditional ``change``; when it won (still in ``previous``), log the ``Removal``: 1, else 0."""
    if not won(change):
        return 0
    db.session.add(Removal(kind=kind, target_id=target_id, previous_state=previous, reason=reason, removed_at=now))
    _audit(A_REMOVAL, kind, target_id, now, "系统清理", reason)
    return 1


def _audit(action: str, kind: str, target_id: int, now: datetime, who: str, detail: str) -> None:
    if kind == "project":
        project, volunteer_id = db.session.get(Project, target_id), None
    else:
        signup = db.session.get(Signup, target_id)
        project, volunteer_id = (signup.project, signup.volunteer_id) if signup else (None, None)
    audit_log.record(action, now=now, actor_id=None, actor_label=who, project=project, volunteer_id=volunteer_id,
                     origin=audit_log.Origin(channel="job" if action == A_REMOVAL else "cli"),
                     detail=f"{'活动' if kind == 'project' else '报名'} #{target_id}：{detail}")


def remove_stale(now: datetime) -> dict:
    """Remove (softly, logged in ``Removal``) activities with no punch 7 days after their end and
    signups with no hours 7 days after the end.  A target removed once (even if restored) is
    never removed again; a pending 补签 holds the removal back."""
    cutoff = now - timedelta(days=CLEANUP_DAYS)
    removed = {"projects": 0, "signups": 0}
    seen_projects = select(Removal.target_id).where(Removal.kind == "project")
    pending_makeup = select(MakeupRequest.project_id).where(MakeupRequest.state == M_PENDING)
    for project in Project.query.filter(Project.status != DELETED, Project.ends_at < cutoff,
                                        Project.first_checkin_at.is_(None), Project.id.not_in(seen_projects),
                                        Project.id.not_in(pending_makeup)).all():
        previous = project.status
        removed["projects"] += _removed(
            update(Project).where(Project.id == project.id, Project.status == previous,
                                  Project.first_checkin_at.is_(None))
            .values(status=DELETED, deleted_at=now, delete_reason=REMOVE_PROJECT_REASON),
            "project", project.id, previous, REMOVE_PROJECT_REASON, now)
    seen_signups = select(Removal.target_id).where(Removal.kind == "signup")
    counted = select(Cycle.id).where(Cycle.project_id == Signup.project_id, Cycle.volunteer_id == Signup.volunteer_id,
                                     Cycle.state.in_(COUNTED)).exists()
    waiting = select(MakeupRequest.id).where(MakeupRequest.project_id == Signup.project_id,
                                             MakeupRequest.volunteer_id == Signup.volunteer_id,
                                             MakeupRequest.state == M_PENDING).exists()
    stale = (Signup.query.join(Project, Project.id == Signup.project_id)
             .filter(Signup.state.in_(LIVE), Project.ends_at < cutoff, ~counted, ~waiting,
                     Signup.id.not_in(seen_signups)).all())
    for signup in stale:
        previous = signup.state
        removed["signups"] += _removed(
            update(Signup).where(Signup.id == signup.id, Signup.state == previous)
            .values(state=CANCELLED, cancelled_at=now, cancel_reason=REMOVE_SIGNUP_REASON),
            "signup", signup.id, previous, REMOVE_SIGNUP_REASON, now)
    db.session.flush()
    return removed


def restore(kind: str, target_id: int, *, now: datetime, by: str = "operator") -> Removal:
    """Undo a clean-up removal (the operator command)."""
    removal = Removal.query.filter_by(kind=kind, target_id=target_id).one_or_none()
    if removal is None:
        raise RuleViolation("removal_not_found", "没有该对象的自动清除记录。", 404)
    if removal.restored_at is not None:
        raise RuleViolation("already_restored", "该对象已恢复。", 409)
    if kind == "project":
        done = db.session.execute(update(Project).where(Project.id == target_id, Project.status == DELETED)
                                  .values(status=removal.previous_state, deleted_at=None, delete_reason=None)
                                  .execution_options(synchronize_session=False))
    else:
        done = db.session.execute(update(Signup).where(Signup.id == target_id, Signup.state == CANCELLED)
                                  .values(state=removal.previous_state, cancelled_at=None, cancel_reason=None)
                                  .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise RuleViolation("restore_conflict", "该对象的状态已改变，无法恢复。", 409)
    removal.restored_at, removal.restored_by = now, by[:100]
    _audit(A_RESTORE, kind, target_id, now, by, removal.reason)
    db.session.flush()
    return removal


def removals(limit: int = 100) -> list[Removal]:
    return Removal.query.order_by(Removal.removed_at.desc(), Removal.id.desc()).limit(limit).all()



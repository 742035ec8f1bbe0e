"""报名: signing up for a project (我要参加), its review (报名审核), invitations (邀请/招募), the
waitlist (候补, beyond the manual), cancelling, and the daily reminders.

Capacity (计划招募) counts accepted signups and is decided by the database: every acceptance is a
conditional ``UPDATE project SET accepted_count = accepted_count + 1 WHERE accepted_count <
recruit_count`` whose row count says whether a place was left; every accepted signup that ends
gives its place back the same way.  On PostgreSQL the second of two racing UPDATEs waits for the
first and re-reads the row; on SQLite writers are serialised — the outcome is the same.

A volunteer has at most one signup row per project (a unique constraint); a cancelled one is
reused when they sign up again.  ``first_checkin_at`` is set by the attendance issue: from then on
the signup can no longer be cancelled.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from .base import RuleViolation, db, insert_of, label_of
from .hours import total_hours
from .membership import APPROVED as MEMBER
from .membership import Membership, group_member_ids, member_ids
from .notification import notify, notify_many
from .project import (
    APPROVED,
    DEFAULT_TZ,
    FINISHED,
    SCOPE_MEMBERS,
    Project,
    get_project,
    local_now,
    require_project,
    to_utc,
)
from .volunteer import Volunteer

PENDING, ACCEPTED, REJECTED, CANCELLED, WAITLISTED = "pending", "accepted", "rejected", "cancelled", "waitlisted"
LIVE = (PENDING, ACCEPTED, WAITLISTED)
STATE_LABELS = {PENDING: "待录取", ACCEPTED: "已录取", REJECTED: "未录取", CANCELLED: "已取消", WAITLISTED: "候补中"}
SIGNUP, INVITE = "signup", "invite"
REMINDER_LEAD = timedelta(hours=1)


class Signup(db.Model):
    """报名: one volunteer's signup for one project."""

    __tablename__ = "signup"
    __table_args__ = (
        db.UniqueConstraint("project_id", "volunteer_id"),
        db.Index("ix_signup_project_id_state", "project_id", "state"),
        db.Index("ix_signup_volunteer_id_state", "volunteer_id", "state"),
    )

    id = db.Column(db.Integer, primary_key=True)
    project_id = db.Column(db.Integer, db.ForeignKey("project.id", ondelete="CASCADE"), nullable=False)
    volunteer_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="CASCADE"), nullable=False)
    state = db.Column(db.String(10), nullable=False, default=PENDING)
    source = db.Column(db.String(10), nullable=False, default=SIGNUP)  # signup / invite
    applied_at = db.Column(db.DateTime, nullable=False)
    decided_at = db.Column(db.DateTime)
    decided_by_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="SET NULL"))
    cancelled_at = db.Column(db.DateTime)
    cancel_reason = db.Column(db.String(200))
    first_checkin_at = db.Column(db.DateTime)  # set by the attendance issue

    project = db.relationship(Project)
    volunteer = db.relationship(Volunteer, foreign_keys=[volunteer_id])

    state_label = label_of("state", STATE_LABELS)


class ActivityReminder(db.Model):
    """A reminder sent for one signup on one local day (the unique pair: never twice a day)."""

    __tablename__ = "activity_reminder"
    __table_args__ = (db.UniqueConstraint("signup_id", "day"),)

    id = db.Column(db.Integer, primary_key=True)
    signup_id = db.Column(db.Integer, db.ForeignKey("signup.id", ondelete="CASCADE"), nullable=False)
    day = db.Column(db.Date, nullable=False)
    sent_at = db.Column(db.DateTime, nullable=False)


# ---------------------------------------------------------------------------------- queries
def signup_of(volunteer_id: int | None, project_id: int) -> Signup | None:
    if not volunteer_id:
        return None
    return Signup.query.filter_by(project_id=project_id, volunteer_id=volunteer_id).one_or_none()


def counts(project: Project) -> dict:
    """计划招募 / 报名 / 参与 (checked in at least once) / 录取."""
    rows = dict(db.session.execute(select(Signup.state, db.func.count()).where(Signup.project_id == project.id)
                                   .group_by(Signup.state)).all())
    participated = db.session.scalar(select(db.func.count()).select_from(Signup).where(
        Signup.project_id == project.id, Signup.first_checkin_at.is_not(None))) or 0
    return {"planned": project.recruit_count, "signed_up": sum(rows.get(s, 0) for s in (PENDING, ACCEPTED)),
            "accepted": rows.get(ACCEPTED, 0), "pending": rows.get(PENDING, 0),
            "waitlisted": rows.get(WAITLISTED, 0), "participated": participated}


def signups_of_project(project_id: int, state: str = PENDING) -> list[Signup]:
    order = Signup.applied_at if state in (PENDING, WAITLISTED) else Signup.decided_at
    return Signup.query.filter_by(project_id=project_id, state=state).order_by(order, Signup.id).all()


def accepted_volunteers(project_id: int) -> list[Volunteer]:
    return (Volunteer.query.join(Signup, Signup.volunteer_id == Volunteer.id)
            .filter(Signup.project_id == project_id, Signup.state == ACCEPTED)
            .order_by(Signup.decided_at, Signup.id).all())


def pending_counts(project_ids) -> dict[int, int]:
    ids = list(project_ids)
    if not ids:
        return {}
    return dict(db.session.execute(select(Signup.project_id, db.func.count()).where(
        Signup.project_id.in_(ids), Signup.state == PENDING).group_by(Signup.project_id)).all())


def my_activities(volunteer_id: int, *, now: datetime) -> dict[str, list[Signup]]:
    """我的活动: 待录取 (pending, waitlisted), 参与中 (accepted, not finished), 已完成."""
    rows = (Signup.query.join(Project, Project.id == Signup.project_id)
            .filter(Signup.volunteer_id == volunteer_id, Signup.state.in_(LIVE), Project.status == APPROVED)
            .order_by(Project.starts_at.desc()).all())
    out = {"waiting": [], "current": [], "done": []}
    for row in rows:
        if row.project.phase(now) == FINISHED:
            if row.state == ACCEPTED:
                out["done"].append(row)
        elif row.state == ACCEPTED:
            out["current"].append(row)
        else:
            out["waiting"].append(row)
    return out


def volunteer_summary(volunteer_id: int, *, now: datetime, tz: str = DEFAULT_TZ) -> dict:
    """A volunteer's summary for 报名审核: projects accepted, counted hours in total and this year."""
    accepted = db.session.scalar(select(db.func.count()).select_from(Signup).where(
        Signup.volunteer_id == volunteer_id, Signup.state == ACCEPTED)) or 0
    year_start = date(local_now(now, tz).year, 1, 1)
    return {"projects": accepted, "hours": float(total_hours(volunteer_id)),
            "hours_this_year": float(total_hours(volunteer_id, year_start))}


# ---------------------------------------------------------------------------------- capacity
def _take_place(project_id: int) -> bool:
    result = db.session.execute(
        update(Project).where(Project.id == project_id, Project.accepted_count < Project.recruit_count)
        .values(accepted_count=Project.accepted_count + 1).execution_options(synchronize_session=False))
    return result.rowcount == 1


def _give_place(project_id: int) -> None:
    db.session.execute(update(Project).where(Project.id == project_id, Project.accepted_count > 0)
                       .values(accepted_count=Project.accepted_count - 1).execution_options(synchronize_session=False))


def _move(signup_id: int, from_states, **values) -> bool:
    result = db.session.execute(update(Signup).where(Signup.id == signup_id, Signup.state.in_(from_states))
                                .values(**values).execution_options(synchronize_session=False))
    return result.rowcount == 1


def _when(project: Project) -> str:
    return f"{project.start_date:%Y-%m-%d} {project.daily_start:%H:%M}"


def _note(kind: str, signup_id: int, volunteer_id: int, project: Project, now: datetime, **extra) -> None:
    data = {"project": project.name, "time": _when(project), "place": project.place, **extra}
    notify(volunteer_id, kind, data, link=f"/m/projects/{project.id}", cause=f"signup:{signup_id}",
           key=f"{kind}:{signup_id}:{int(now.timestamp() * 1000)}")


# ---------------------------------------------------------------------------------- signing up
def check_can_sign_up(volunteer: Volunteer, project: Project, *, now: datetime) -> None:
    if project.status != APPROVED:
        raise RuleViolation("project_not_open", "该项目尚未通过审核，暂不能报名。", 409)
    if not project.signup_open(now):
        raise RuleViolation("signup_closed", "不在报名时间内。", 409)
    if project.scope == SCOPE_MEMBERS:
        member = Membership.query.filter_by(volunteer_id=volunteer.id, org_id=project.org_id,
                                            state=MEMBER).one_or_none()
        if member is None:
            raise RuleViolation("members_only", "该项目仅限本组织成员参加，请先加入该组织。", 403)


def sign_up(volunteer: Volunteer, project_id: int, *, now: datetime, waitlist: bool = False) -> Signup:
    """我要参加.  无需审核: accepted at once if a place is left; 需要审核: pending.

    When the places are taken the signup is refused (``project_full``), or, with ``waitlist``,
    joins the waitlist.
    """
    db.session.expire_all()
    project = get_project(project_id)
    check_can_sign_up(volunteer, project, now=now)
    existing = signup_of(volunteer.id, project.id)
    if existing is not None and existing.state in LIVE:
        raise RuleViolation("already_signed_up", f"您已报名该项目（{existing.state_label}）。", 409)
    if existing is not None and existing.state == REJECTED:
        raise RuleViolation("signup_rejected", "您的报名未被录取，不能再次报名。", 409)
    with db.session.begin_nested():  # a refusal below takes back the row it inserted
        existing = _place_signup(existing, volunteer, project, now, waitlist)
    db.session.expire(existing)
    db.session.expire(project)
    if existing.state == ACCEPTED:
        _note("signup_accepted", existing.id, volunteer.id, project, now)
    return existing


def _place_signup(existing, volunteer, project, now, waitlist) -> Signup:
    if existing is None:
        existing = Signup(project_id=project.id, volunteer_id=volunteer.id, applied_at=now, state=PENDING)
        try:
            with db.session.begin_nested():
                db.session.add(existing)
        except IntegrityError:
            raise RuleViolation("already_signed_up", "您已报名该项目。", 409) from None
    reset = {"applied_at": now, "decided_at": None, "decided_by_id": None, "cancelled_at": None,
             "cancel_reason": None, "source": SIGNUP}
    if not project.needs_review:
        if _take_place(project.id):
            if not _move(existing.id, (PENDING, CANCELLED), state=ACCEPTED, **{**reset, "decided_at": now}):
                raise RuleViolation("already_signed_up", "您已报名该项目。", 409)
        elif waitlist:
            _move(existing.id, (PENDING, CANCELLED), state=WAITLISTED, **reset)
        else:
            raise RuleViolation("project_full", "报名人数已满。", 409)
    else:
        if project.accepted_count >= project.recruit_count:
            if not waitlist:
                raise RuleViolation("project_full", "报名人数已满。", 409)
            _move(existing.id, (PENDING, CANCELLED), state=WAITLISTED, **reset)
        elif not _move(existing.id, (PENDING, CANCELLED), state=PENDING, **reset):
            raise RuleViolation("already_signed_up", "您已报名该项目。", 409)
    return existing


def _end_accepted(signup: Signup, project: Project, now: datetime) -> None:
    """An accepted signup ended: give the place back and promote the first waitlisted one."""
    _give_place(project.id)
    promote_waitlist(project.id, now=now)


def promote_waitlist(project_id: int, *, now: datetime) -> Signup | None:
    """候补转正: while places are free, the earliest waitlisted signup is accepted and notified."""
    project = db.session.get(Project, project_id)
    promoted = None
    while True:
        first = (Signup.query.filter_by(project_id=project_id, state=WAITLISTED)
                 .order_by(Signup.applied_at, Signup.id).first())
        if first is None or not _take_place(project_id):
            return promoted
        if not _move(first.id, (WAITLISTED,), state=ACCEPTED, decided_at=now, decided_by_id=None):
            _give_place(project_id)  # someone else moved it meanwhile
            db.session.expire(first)
            continue
        db.session.expire(first)
        _note("signup_promoted", first.id, first.volunteer_id, project, now)
        promoted = first


def cancel_signup(volunteer: Volunteer, project_id: int, *, now: datetime) -> Signup:
    """取消报名/退出: allowed until the volunteer's first check-in on the project."""
    signup = signup_of(volunteer.id, project_id)
    if signup is None or signup.state not in LIVE:
        raise RuleViolation("not_signed_up", "您没有报名该项目。", 404)
    if signup.first_checkin_at is not None:
        raise RuleViolation("already_checked_in", "您已在该项目签到，不能取消报名。", 409)
    was = signup.state
    if not _move(signup.id, LIVE, state=CANCELLED, cancelled_at=now, cancel_reason="本人取消"):
        raise RuleViolation("not_signed_up", "您没有报名该项目。", 404)
    db.session.expire(signup)
    if was == ACCEPTED:
        _end_accepted(signup, signup.project, now)
    return signup


# ---------------------------------------------------------------------------------- 报名审核
def _to_review(actor: Volunteer, project_id: int, signup_ids, now: datetime) -> tuple[Project, list[Signup]]:
    """The project, once ``actor`` may review its signups, and the selected signups of it, first applied first."""
    project = get_project(project_id)
    require_project(actor, project, "review_signups", now=now)
    ids = sorted({int(s) for s in signup_ids})
    if not ids:
        raise RuleViolation("nothing_selected", "请先选择志愿者。")
    return project, Signup.query.filter(Signup.project_id == project.id, Signup.id.in_(ids)).order_by(
        Signup.applied_at, Signup.id).all()


def _reason(reason: str | None, default: str) -> str:
    """The admin's reason, cut to the 200 characters a reason column holds, or ``default`` when none is given."""
    return (reason or "").strip()[:200] or default


def _settled(done: int) -> int:
    """How many signups a review moved; refused when it moved none (all handled meanwhile or unknown)."""
    if not done:
        raise RuleViolation("nothing_pending", "所选报名已被处理或不存在。", 409)
    db.session.expire_all()
    return done


def approve_signups(actor: Volunteer, project_id: int, signup_ids, *, now: datetime) -> int:
    """同意 (one or a batch): pending → accepted while places last; refused when none is left."""
    project, signups = _to_review(actor, project_id, signup_ids, now)
    done = 0
    for signup in signups:
        if signup.state != PENDING:
            continue
        if not _take_place(project.id):
            if done:
                break
            raise RuleViolation("project_full", "已录用人数已达招募人数。", 409)
        if not _move(signup.id, (PENDING,), state=ACCEPTED, decided_at=now, decided_by_id=actor.id):
            _give_place(project.id)
            continue
        _note("signup_accepted", signup.id, signup.volunteer_id, project, now)
        done += 1
    return _settled(done)


def _decide(signups, from_states, kind: str, project: Project, now: datetime, reason: str, **values) -> list[Signup]:
    """Move each selected signup still in one of ``from_states`` (a conditional UPDATE: one handled meanwhile is
    passed over) and tell its volunteer (``kind``, with the reason); the signups moved."""
    moved = [signup for signup in signups if _move(signup.id, from_states, **values)]
    for signup in moved:
        _note(kind, signup.id, signup.volunteer_id, project, now, reason=reason)
    return moved


def reject_signups(actor: Volunteer, project_id: int, signup_ids, *, now: datetime, reason: str = "") -> int:
    """拒绝 (one or a batch): pending or waitlisted → rejected."""
    project, signups = _to_review(actor, project_id, signup_ids, now)
    reason = _reason(reason, "未通过报名审核")
    return _settled(len(_decide(signups, (PENDING, WAITLISTED), "signup_rejected", project, now, reason,
                                state=REJECTED, decided_at=now, decided_by_id=actor.id)))


def cancel_accepted(actor: Volunteer, project_id: int, signup_ids, *, now: datetime, reason: str = "") -> int:
    """取消 (已录用): the admin cancels accepted signups (not after a check-in); places go to the waitlist."""
    project, signups = _to_review(actor, project_id, signup_ids, now)
    reason = _reason(reason, "管理员取消")
    checked_in = next((signup for signup in signups if signup.first_checkin_at is not None), None)
    if checked_in is not None:
        raise RuleViolation("already_checked_in", f"{checked_in.volunteer.masked_name}已签到，不能取消。", 409)
    moved = _decide(signups, (ACCEPTED,), "signup_cancelled", project, now, reason,
                    state=CANCELLED, cancelled_at=now, cancel_reason=reason, decided_by_id=actor.id)
    if not moved:
        raise RuleViolation("not_accepted", "所选志愿者不在已录用名单中。", 409)
    for _ in moved:
        _give_place(project.id)
    promote_waitlist(project.id, now=now)
    db.session.expire_all()
    return len(moved)


# ---------------------------------------------------------------------------------- 邀请/招募
def search_members(actor: Volunteer, project_id: int, name: str, *, now: datetime, limit: int = 30) -> list[Volunteer]:
    """录用本组织成员: members of the project's org whose name contains ``name`` (a name is required)."""
    project = get_project(project_id)
    require_project(actor, project, "invite_volunteers", now=now)
    name = (name or "").strip()
    if not name:
        raise RuleViolation("name_required", "请输入成员姓名再搜索。")
    escaped = name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return (Volunteer.query.join(Membership, Membership.volunteer_id == Volunteer.id)
            .filter(Membership.org_id == project.org_id, Membership.state == MEMBER,
                    Volunteer.name.like(f"%{escaped}%", escape="\\"))
            .order_by(Volunteer.name, Volunteer.id).limit(limit).all())


def invite(actor: Volunteer, project_id: int, volunteer_ids, *, now: datetime) -> dict:
    """邀请: accept org members directly (no review), while places last.

    Returns ``{"accepted": n, "already": n, "full": n}``; those who were pending or waitlisted are
    accepted too.  Each is notified (signup_invited).
    """
    project = get_project(project_id)
    require_project(actor, project, "invite_volunteers", now=now)
    if project.status != APPROVED:
        raise RuleViolation("project_not_open", "项目尚未通过审核，不能招募。", 409)
    if project.phase(now) == FINISHED:
        raise RuleViolation("project_finished", "项目已结束。", 409)
    wanted = sorted({int(v) for v in volunteer_ids})
    if not wanted:
        raise RuleViolation("nothing_selected", "请先选择志愿者。")
    members = set(member_ids(project.org_id))
    if set(wanted) - members:
        raise RuleViolation("not_member", "只能招募本组织成员。")
    result = {"accepted": 0, "already": 0, "full": 0}
    for volunteer_id in wanted:
        signup = signup_of(volunteer_id, project.id)
        if signup is not None and signup.state == ACCEPTED:
            result["already"] += 1
            continue
        if not _take_place(project.id):
            result["full"] = len(wanted) - result["accepted"] - result["already"]
            break
        if signup is None:
            signup = Signup(project_id=project.id, volunteer_id=volunteer_id, applied_at=now, state=ACCEPTED,
                            source=INVITE, decided_at=now, decided_by_id=actor.id)
            try:
                with db.session.begin_nested():
                    db.session.add(signup)
            except IntegrityError:
                _give_place(project.id)
                result["already"] += 1
                continue
        elif not _move(signup.id, (PENDING, WAITLISTED, CANCELLED, REJECTED), state=ACCEPTED, source=INVITE,
                       decided_at=now, decided_by_id=actor.id, cancelled_at=None, cancel_reason=None):
            _give_place(project.id)
            result["already"] += 1
            continue
        _note("signup_invited", signup.id, volunteer_id, project, now, org=project.org.name)
        result["accepted"] += 1
    db.session.expire_all()
    if not result["accepted"] and result["full"]:
        raise RuleViolation("project_full", "已录用人数已达招募人数。", 409)
    return result


def invite_group(actor: Volunteer, project_id: int, group, *, now: datetime, tz: str = DEFAULT_TZ) -> dict:
    """默认分组录用 / 自定义分组录用: invite every member of a built-in group (key) or custom group (id)."""
    project = get_project(project_id)
    require_project(actor, project, "invite_volunteers", now=now)
    ids = group_member_ids(actor, project.org_id, group, now=now, tz=tz)
    if not ids:
        raise RuleViolation("group_empty", "该分组没有成员。")
    return invite(actor, project.id, ids, now=now)


# ---------------------------------------------------------------------------------- reminders
def _insert_reminders(rows: list[dict]) -> list[int]:
    """INSERT … ON CONFLICT (signup_id, day) DO NOTHING RETURNING signup_id."""
    t = ActivityReminder.__table__
    statement = (insert_of(ActivityReminder).values(rows).on_conflict_do_nothing(index_elements=[t.c.signup_id, t.c.day])
                 .returning(t.c.signup_id))
    return list(db.session.execute(statement).scalars())


def send_due_reminders(*, now: datetime, tz: str = DEFAULT_TZ) -> int:
    """Remind accepted volunteers of every project whose daily window opens within the next hour.

    One ``ActivityReminder`` row per (signup, local day) decides: a second run writes nothing.
    Does not commit.  Returns how many reminders were written.
    """
    today: date = local_now(now, tz).date()
    projects = Project.query.filter(Project.status == APPROVED, Project.start_date <= today,
                                    Project.end_date >= today).all()
    written = 0
    for project in projects:
        opens = to_utc(today, project.daily_start, tz)
        if not opens - REMINDER_LEAD <= now < opens:
            continue
        signups = Signup.query.filter_by(project_id=project.id, state=ACCEPTED).all()
        if not signups:
            continue
        new = set(_insert_reminders([{"signup_id": s.id, "day": today, "sent_at": now} for s in signups]))
        volunteer_ids = [s.volunteer_id for s in signups if s.id in new]
        if volunteer_ids:
            notify_many(volunteer_ids, "activity_reminder",
                        {"project": project.name, "time": f"{today:%Y-%m-%d} {project.daily_start:%H:%M}",
                         "place": project.place},
                        f"/m/projects/{project.id}", f"project:{project.id}",
                        f"activity_reminder:{project.id}:{today.isoformat()}")
            written += len(volunteer_ids)
    return written

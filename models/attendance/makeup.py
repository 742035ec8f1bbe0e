"""补签: a volunteer asks within 7 days for a missed sign-in or sign-out; the project's admins review it.

Manual part 2 §三.15; part 3 §三.5.  A review is a conditional UPDATE; an approved request becomes
a recorded cycle like any other.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import update

from .. import hours as hour_rules
from .. import media, permissions
from ..base import RuleViolation, db, get_or_refuse, insert_or_refuse
from ..integrity import audit_log
from ..integrity.tables import A_MAKEUP_APPROVED
from ..notification import notify
from ..project import (
    APPROVED,
    DEFAULT_TZ,
    DOUBLE,
    Project,
    to_utc,
)
from ..signup import ACCEPTED, Signup
from ..stats import rollup
from ..volunteer import Volunteer
from .punches import (
    DEFAULT_RULES,
    Rules,
    activity_days,
    credit_cycle,
    cycles_of_day,
    local_hm,
    managed_project_ids,
    mark_first_checkin,
    new_cycle,
    open_project_and_signup,
    require_accepted,
    window,
)
from .tables import (
    COUNTED,
    LAPSED,
    M_APPROVED,
    M_PENDING,
    M_REJECTED,
    MAKEUP_BOTH,
    MAKEUP_DAYS,
    MAKEUP_KINDS,
    MAKEUP_PHOTO,
    MAKEUP_SIGN_IN,
    MAKEUP_SIGN_OUT,
    MIN_CYCLE,
    OPEN,
    RECORDED,
    SOURCE_MAKEUP,
    UNPAIRED,
    Cycle,
    MakeupRequest,
)


# ---------------------------------------------------------------------------------- 补签
def makeup_open_days(project: Project, *, now: datetime, tz: str = DEFAULT_TZ) -> list[date]:
    """The activity days a 补签 may still be asked for: started, and ended no more than 7 days ago."""
    out = []
    for day in activity_days(project):
        opens, closes = window(project, day, tz)
        if opens <= now <= closes + timedelta(days=MAKEUP_DAYS):
            out.append(day)
    return out


def _parse_moment(value, day: date, tz: str, label: str) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value
    if isinstance(value, time):
        return to_utc(day, value, tz)
    try:
        moment = datetime.strptime(str(value).strip(), "%H:%M").time()
    except ValueError:
        raise RuleViolation("makeup_time_invalid", f"请正确填写{label}（时:分）。") from None
    return to_utc(day, moment, tz)


def check_makeup(project: Project, volunteer_id: int, day: date, kind: str, sign_in_at: datetime | None,
                 sign_out_at: datetime | None, reason: str, media_id: str, *, now: datetime,
                 tz: str = DEFAULT_TZ) -> Cycle | None:
    """The seven rules of part 3 §二.8; returns the cycle a 补签到/补签退 completes (None for both)."""
    if project.checkin_mode != DOUBLE:
        raise RuleViolation("makeup_single", "单签活动没有补签，只有签到/签退活动可以补签。", 409)
    if kind not in MAKEUP_KINDS:
        raise RuleViolation("makeup_kind_invalid", "请选择补签类型。")
    if day not in activity_days(project):
        raise RuleViolation("makeup_day_invalid", "所选日期不是活动日。")
    opens, closes = window(project, day, tz)
    if now < opens:
        raise RuleViolation("makeup_day_invalid", "该日的活动尚未开始，不能补签。", 409)
    if now > closes + timedelta(days=MAKEUP_DAYS):
        raise RuleViolation("makeup_expired", "补签须在当天活动结束后7天内申请，已超过期限。", 409)
    if not (reason or "").strip():
        raise RuleViolation("makeup_reason_required", "请填写没有正常打卡的原因。")
    if len(reason.strip()) > 500:
        raise RuleViolation("makeup_reason_too_long", "原因不能超过500字。")
    if not (media_id or "").strip():
        raise RuleViolation("makeup_photo_required", "请上传活动现场照片。")
    needs_in, needs_out = kind in (MAKEUP_SIGN_IN, MAKEUP_BOTH), kind in (MAKEUP_SIGN_OUT, MAKEUP_BOTH)
    if needs_in and sign_in_at is None:
        raise RuleViolation("makeup_time_required", "请填写补签的签到时间。")
    if needs_out and sign_out_at is None:
        raise RuleViolation("makeup_time_required", "请填写补签的签退时间。")
    for moment in (m for m in (sign_in_at, sign_out_at) if m is not None):
        if not opens <= moment <= closes:
            raise RuleViolation("makeup_outside_window", f"补签时间须在活动时间内（{project.daily_start:%H:%M}–"
                                                         f"{project.daily_end:%H:%M}），签退不得晚于活动结束时间。")
        if moment > now:
            raise RuleViolation("makeup_in_future", "补签时间不能晚于现在。")
    cycles = cycles_of_day(project.id, volunteer_id, day)
    target = None
    if kind == MAKEUP_SIGN_IN:
        unpaired = [c for c in cycles if c.state == UNPAIRED]
        if not unpaired:
            raise RuleViolation("makeup_nothing_to_pair", "当天没有缺少签到的签退记录，请选择“签到签退全部补签”。", 409)
        target = unpaired[-1]
        last_out = max(c.signed_out_at for c in cycles if c.signed_out_at is not None)
        if sign_in_at > last_out:
            raise RuleViolation("makeup_after_sign_out", f"补签签到时间不得晚于最后一次签退打卡时间（{local_hm(last_out, tz)}）。")
        start, end = sign_in_at, target.signed_out_at
    elif kind == MAKEUP_SIGN_OUT:
        unclosed = [c for c in cycles if c.state in (OPEN, LAPSED)]
        if not unclosed:
            raise RuleViolation("makeup_nothing_to_close", "当天没有未签退的签到记录，请选择“签到签退全部补签”。", 409)
        target = unclosed[-1]
        start, end = target.signed_in_at, sign_out_at
    else:
        start, end = sign_in_at, sign_out_at
    if end - start < MIN_CYCLE:
        raise RuleViolation("makeup_too_short", "签到与签退之间不得少于30分钟。")
    for other in cycles:
        if other is target or other.state not in COUNTED + (OPEN,):
            continue
        other_end = other.signed_out_at or other.deadline
        if other.signed_in_at and other_end and start < other_end and other.signed_in_at < end:
            raise RuleViolation("makeup_overlap", "补签时段与已有的打卡记录重叠。")
    return target


def submit_makeup(volunteer: Volunteer, project_id: int, fields: dict, *, account: str, now: datetime,
                  rules: Rules = DEFAULT_RULES) -> MakeupRequest:
    """申请补签: checked by ``check_makeup``; one per volunteer, project and day (a unique constraint)."""
    project, signup = open_project_and_signup(project_id, volunteer.id)
    require_accepted(signup)
    try:
        day = fields["day"] if isinstance(fields.get("day"), date) else date.fromisoformat(str(fields.get("day")))
    except (TypeError, ValueError):
        raise RuleViolation("makeup_day_invalid", "请选择补签日期。") from None
    kind = fields.get("kind") or ""
    sign_in_at = _parse_moment(fields.get("sign_in"), day, rules.tz, "签到时间") \
        if kind in (MAKEUP_SIGN_IN, MAKEUP_BOTH) else None
    sign_out_at = _parse_moment(fields.get("sign_out"), day, rules.tz, "签退时间") \
        if kind in (MAKEUP_SIGN_OUT, MAKEUP_BOTH) else None
    reason, media_id = (fields.get("reason") or "").strip(), (fields.get("media_id") or "").strip()
    if MakeupRequest.query.filter_by(project_id=project.id, volunteer_id=volunteer.id, day=day).first():
        raise RuleViolation("makeup_exists", "该日已提交过补签申请，补签申请只能提交一次。", 409)
    target = check_makeup(project, volunteer.id, day, kind, sign_in_at, sign_out_at, reason, media_id, now=now,
                          tz=rules.tz)
    photo = media.receive(account, media_id[:200], MAKEUP_PHOTO, now=now)
    request = MakeupRequest(project_id=project.id, volunteer_id=volunteer.id, day=day, kind=kind,
                            sign_in_at=sign_in_at, sign_out_at=sign_out_at, reason=reason, photo_id=photo.id,
                            state=M_PENDING, submitted_at=now,
                            target_cycle_id=target.id if target else None)
    return insert_or_refuse(request, "makeup_exists", "该日已提交过补签申请，补签申请只能提交一次。")


def get_makeup(makeup_id) -> MakeupRequest:
    return get_or_refuse(MakeupRequest, makeup_id, "makeup_not_found", "补签申请不存在。")


def _require_makeup_reviewer(actor: Volunteer, project: Project, now: datetime) -> None:
    permissions.require(actor, "review_makeups", project.org, now=now, message="只有发布活动的组织管理员可以审核补签。")


def may_review_makeup(actor: Volunteer | None, request: MakeupRequest, *, now: datetime) -> bool:
    return actor is not None and permissions.can(actor, "review_makeups", request.project.org, now=now)


def _note_makeup(request: MakeupRequest, result: str, reason: str) -> None:
    notify(request.volunteer_id, "makeup_result", {"project": request.project.name, "result": result,
                                                   "reason": reason},
           link=f"/m/me/makeups/{request.id}", cause=f"makeup:{request.id}", key=f"makeup_result:{request.id}")


def approve_makeup(actor: Volunteer, makeup_id: int, *, now: datetime, rules: Rules = DEFAULT_RULES,
                   origin: audit_log.Origin | None = None) -> Cycle:
    """通过: the cycle is created (or completed) and its hours enter publicity (audited)."""
    request = get_makeup(makeup_id)
    project = request.project
    _require_makeup_reviewer(actor, project, now)
    if request.state != M_PENDING:
        raise RuleViolation("makeup_decided", "该补签申请已审核。", 409)
    target = db.session.get(Cycle, request.target_cycle_id) if request.target_cycle_id else None
    if request.kind != MAKEUP_BOTH and (target is None or target.state not in (OPEN, LAPSED, UNPAIRED)):
        raise RuleViolation("makeup_stale", "补签所针对的打卡记录已变化，无法通过，请拒绝并说明原因。", 409)
    done = db.session.execute(update(MakeupRequest).where(MakeupRequest.id == request.id,
                                                          MakeupRequest.state == M_PENDING)
                              .values(state=M_APPROVED, decided_at=now, decided_by_id=actor.id)
                              .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise RuleViolation("makeup_decided", "该补签申请已审核。", 409)
    db.session.refresh(request)
    if request.kind == MAKEUP_BOTH:
        cycle = new_cycle(project, request.volunteer_id, request.day, now, mode=DOUBLE, source=SOURCE_MAKEUP,
                           state=RECORDED, signed_in_at=request.sign_in_at, signed_out_at=request.sign_out_at)
        db.session.add(cycle)
    else:
        cycle = target
        cycle.signed_in_at = request.sign_in_at or cycle.signed_in_at
        cycle.signed_out_at = request.sign_out_at or cycle.signed_out_at
        cycle.state, cycle.open_volunteer_id, cycle.source = RECORDED, None, SOURCE_MAKEUP
    cycle.hours = hour_rules.cycle_hours(cycle.signed_in_at, cycle.signed_out_at, rules.rounding)
    db.session.flush()
    credit_cycle(cycle, now, rules)
    request.cycle_id = cycle.id
    signup = Signup.query.filter_by(project_id=project.id, volunteer_id=request.volunteer_id).one_or_none()
    mark_first_checkin(project, signup, now)
    rollup.cycle_counted(cycle)
    _note_makeup(request, "通过", f"补签时长{cycle.hours}小时，进入公示")
    audit_log.record(A_MAKEUP_APPROVED, now=now, actor_id=actor.id, project=project, volunteer_id=request.volunteer_id,
                     cycle_id=cycle.id, hours=cycle.hours, origin=origin, detail=f"{request.kind_label} {request.day}")
    db.session.flush()
    return cycle


def reject_makeup(actor: Volunteer, makeup_id: int, reason: str, *, now: datetime) -> MakeupRequest:
    """拒绝: a reason is required; the volunteer cannot apply again for that day."""
    request = get_makeup(makeup_id)
    _require_makeup_reviewer(actor, request.project, now)
    reason = (reason or "").strip()
    if not 1 <= len(reason) <= 200:
        raise RuleViolation("reject_reason_required", "拒绝补签必须说明原因（200字以内）。")
    done = db.session.execute(update(MakeupRequest).where(MakeupRequest.id == request.id,
                                                          MakeupRequest.state == M_PENDING)
                              .values(state=M_REJECTED, decided_at=now, decided_by_id=actor.id, reject_reason=reason)
                              .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise RuleViolation("makeup_decided", "该补签申请已审核。", 409)
    db.session.refresh(request)
    _note_makeup(request, "未通过", reason)
    return request


def pending_makeups_for(actor: Volunteer) -> list[MakeupRequest]:
    """补签审核: pending requests on projects of the admin's org and below."""
    ids = managed_project_ids(actor)
    if ids is None:
        return []
    return (MakeupRequest.query.filter(MakeupRequest.state == M_PENDING, MakeupRequest.project_id.in_(ids))
            .order_by(MakeupRequest.submitted_at, MakeupRequest.id).all())


def makeups_of(volunteer_id: int) -> list[MakeupRequest]:
    """我的补签申请."""
    return (MakeupRequest.query.filter_by(volunteer_id=volunteer_id)
            .order_by(MakeupRequest.submitted_at.desc(), MakeupRequest.id.desc()).all())


def makeup_projects(volunteer_id: int, *, now: datetime, tz: str = DEFAULT_TZ) -> list[Project]:
    """Accepted 双签 projects where a 补签 may still be asked for."""
    rows = (Project.query.join(Signup, Signup.project_id == Project.id)
            .filter(Signup.volunteer_id == volunteer_id, Signup.state == ACCEPTED, Project.status == APPROVED,
                    Project.checkin_mode == DOUBLE, Project.starts_at <= now,
                    Project.ends_at >= now - timedelta(days=MAKEUP_DAYS))
            .order_by(Project.starts_at, Project.id).all())
    return [p for p in rows if makeup_open_days(p, now=now, tz=tz)]



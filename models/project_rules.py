"""项目规则: publishing (项目发布), review (项目审核), editing, revoking and deleting a project; follows, comments.

- Review: a project of a level-1/2 org or of a 免审 org is approved at once; otherwise it waits for
  an admin of an ancestor org, who approves it or deletes it with a reason.  An approved project can
  be revoked (退回/撤销) by its publisher or an ancestor admin: it waits for review again.
- Editing: a finished project cannot be edited; editing the time fields of an approved project
  sends it back through review; once the activity has started its daily window cannot change; the
  check-in mode never changes after publishing.
- A project with any check-in cannot be deleted.

The tables and plain reads stand below, in ``models.project``.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, time

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from . import permissions
from .base import RuleViolation, db, won
from .notification import notify, notify_many
from .organization import Organization, admin_org_of
from .project import (
    ACTIVITY_TIME_FIELDS,
    APPROVED,
    CHECKOUT_MODES,
    DEFAULT_TOPIC_ORGS,
    DEFAULT_TZ,
    DELETED,
    DOUBLE,
    FINISHED,
    LIVE_SIGNUP_STATES,
    MAX_PRESET_HOURS,
    MAX_TEMP_ADMINS,
    PENDING,
    PLACE_FIELDS,
    RUNNING,
    SCOPE_ALL,
    SINGLE,
    TIME_FIELDS,
    TOPIC_PRACTICE,
    TOPICS,
    WINDOW_FIELDS,
    Project,
    ProjectComment,
    ProjectFollow,
    ProjectSite,
    ProjectTempAdmin,
    auto_approved,
    get_project,
    local_now,
    require_project,
    to_utc,
)
from .signup import Signup
from .volunteer import Volunteer


# ---------------------------------------------------------------------------- field checks
def _derive_instants(project: Project, tz: str) -> None:
    project.signup_opens_at = to_utc(project.signup_start, time(0, 0), tz)
    project.signup_closes_at = to_utc(project.signup_end, time(23, 59, 59), tz)
    project.starts_at = to_utc(project.start_date, project.daily_start, tz)
    project.ends_at = to_utc(project.end_date, project.daily_end, tz)


_PUNCTUATION = re.compile(r"[\s\W_]", re.UNICODE)


def check_short_name(short: str) -> None:
    """项目简称 is shown on the punch card: no punctuation or blanks."""
    if _PUNCTUATION.search(short):
        raise RuleViolation("short_name_invalid", "项目简称不能使用标点符号。")


def check_preset_hours(hours: float) -> None:
    """单签: the hours each check-in counts, more than none and at most MAX_PRESET_HOURS."""
    if not 0 < hours <= MAX_PRESET_HOURS:
        raise RuleViolation("preset_hours_invalid", f"单签项目的单次时长最多{MAX_PRESET_HOURS}小时。")


def _check_whole(project: Project) -> None:
    """Rules across fields, on the project as it would be saved."""
    if project.signup_end < project.signup_start:
        raise RuleViolation("signup_window_invalid", "申请截止日期不能早于申请起始日期。")
    if project.end_date < project.start_date:
        raise RuleViolation("activity_dates_invalid", "活动结束日期不能早于开始日期。")
    if project.signup_start > project.end_date or project.signup_end > project.end_date:
        raise RuleViolation("signup_window_invalid", "报名时间应在活动结束之前。")
    if project.daily_end <= project.daily_start:
        raise RuleViolation("daily_window_invalid", "每日计时结束时间应晚于开始时间。")
    if project.topic == TOPIC_PRACTICE and project.checkin_mode != DOUBLE:  # part 4 图4-1
        raise RuleViolation("practice_needs_double", "新时代文明实践活动必须使用双签。")
    if project.checkin_mode == SINGLE:
        if not project.preset_hours:
            raise RuleViolation("preset_hours_invalid", "单签项目请选择单次时长。")
        project.punch_radius, project.checkout_mode = None, None
    else:
        if not project.punch_radius:
            raise RuleViolation("punch_radius_invalid", "双签项目请选择打卡有效距离。")
        if project.checkout_mode not in CHECKOUT_MODES:
            raise RuleViolation("checkout_mode_invalid", "双签项目请选择签出限制。")
        project.preset_hours = None


def allowed_topics(org: Organization, topic_orgs: dict | None = None) -> list[str]:
    """专题项目 this org may choose: the restricted ones only for the orgs configured for them."""
    topic_orgs = {**DEFAULT_TOPIC_ORGS, **(topic_orgs or {})}
    out = []
    for topic in TOPICS:
        names = topic_orgs.get(topic)
        if names is None or org.name in names:
            out.append(topic)
    return out


def _temp_admin_ids(raw) -> list[int]:
    """ID numbers separated by ; , or blanks → volunteer ids (at most six, each a volunteer)."""
    if isinstance(raw, (list, tuple)):
        numbers = [str(n).strip() for n in raw]
    else:
        numbers = re.split(r"[;；,，\s]+", str(raw or ""))
    numbers = list(dict.fromkeys(n.upper() for n in numbers if n))
    if len(numbers) > MAX_TEMP_ADMINS:
        raise RuleViolation("too_many_temp_admins", f"项目临时管理员最多{MAX_TEMP_ADMINS}人。")
    ids = []
    for number in numbers:
        volunteer = Volunteer.by_id_number(number)
        if volunteer is None:
            raise RuleViolation("temp_admin_not_found", f"身份证号 {number[:6]}…… 不是已注册的志愿者。")
        ids.append(volunteer.id)
    return ids


def _set_temp_admins(project: Project, ids: list[int]) -> None:
    ProjectTempAdmin.query.filter_by(project_id=project.id).delete(synchronize_session=False)
    db.session.add_all(ProjectTempAdmin(project_id=project.id, volunteer_id=v) for v in ids)



# ------------------------------------------------------------------------------------ rules
def _notify_review(project: Project, result: str, reason: str = "", *, now: datetime) -> None:
    if project.published_by_id:
        stamp = int(now.replace(tzinfo=UTC).timestamp() * 1000)
        notify(project.published_by_id, "project_review_result",
               {"project": project.name, "result": result, "reason": reason},
               link=f"/m/projects/{project.id}", cause=f"project:{project.id}",
               key=f"project-review:{project.id}:{result}:{stamp}")


def signed_up_ids(project_id: int) -> list[int]:
    """The volunteers whose signup for the project is in force (pending, accepted, waitlisted)."""
    query = (select(Signup.volunteer_id)
             .where(Signup.project_id == project_id, Signup.state.in_(LIVE_SIGNUP_STATES))
             .order_by(Signup.volunteer_id))
    return list(db.session.execute(query).scalars())


def _tell_signed_up(project: Project, kind: str, data: dict, *, link: str | None) -> None:
    """Outbox rows for everyone signed up, in the transaction of the change (one key per change)."""
    volunteer_ids = signed_up_ids(project.id)
    if volunteer_ids:  # a rolled-back change writes nothing; each committed change gets its own key
        notify_many(volunteer_ids, kind, {"project": project.name, **data}, link=link,
                    cause=f"project:{project.id}", key_prefix=f"{kind}:{project.id}:{secrets.token_hex(6)}")


def _tell_changed(project: Project, changed: set[str]) -> None:
    moved, rescheduled = bool(changed & set(PLACE_FIELDS)), bool(changed & set(ACTIVITY_TIME_FIELDS))
    if not (moved or rescheduled):
        return
    what = "活动时间和地点" if moved and rescheduled else "活动时间" if rescheduled else "活动地点"
    _tell_signed_up(project, "project_changed",
                    {"time": f"{project.start_date:%Y-%m-%d} {project.daily_start:%H:%M}", "place": project.place,
                     "change": f"{what}有变更，请留意"}, link=f"/m/projects/{project.id}")


def _tell_gone(project: Project, kind: str, reason: str, default: str) -> None:
    link = f"/m/projects/{project.id}" if kind == "project_revoked" else None  # a deleted project has no page
    _tell_signed_up(project, kind, {"reason": (reason or "").strip() or default}, link=link)


def _route(project: Project, actor_id: int | None, now: datetime) -> None:
    """Approved at once for a level-1/2 or 免审 org; otherwise pending for an ancestor's admin."""
    if auto_approved(project.org):
        project.status, project.reviewed_at, project.reviewed_by_id = APPROVED, now, actor_id
    else:
        project.status, project.reviewed_at, project.reviewed_by_id = PENDING, None, None


def publish_project(actor: Volunteer, fields: dict, *, now: datetime, tz: str = DEFAULT_TZ,
                    topic_orgs: dict | None = None) -> Project:
    """项目发布: an admin publishes a project of their own org.

    The map point becomes the project's first site.  Approved at once for a level-1/2 or 免审 org.
    ``fields`` hold typed values, each already checked alone (the pages parse the form with their
    field spec); the rules across fields are checked here.
    """
    org = admin_org_of(actor.id)
    if org is None:
        raise RuleViolation("forbidden", "只有组织管理员可以发布项目。", 403)
    permissions.require(actor, "publish_project", org, now=now)
    fields = dict(fields)
    temp_ids = _temp_admin_ids(fields.pop("temp_admin_id_numbers", ""))
    if fields.get("topic") and fields["topic"] not in allowed_topics(org, topic_orgs):
        raise RuleViolation("topic_not_allowed", f"“{fields['topic']}”专题仅限特定组织发布。")
    targets = fields.pop("service_targets", [])
    values = {"scope": SCOPE_ALL, "needs_review": True, **fields}
    project = Project(org_id=org.id, org=org, published_by_id=actor.id, published_at=now, accepted_count=0,
                      **values)
    project.service_targets = targets
    _check_whole(project)
    if project.start_date < local_now(now, tz).date():
        raise RuleViolation("activity_dates_invalid", "活动开始日期不能早于今天。")
    _derive_instants(project, tz)
    _route(project, actor.id, now)
    db.session.add(project)
    db.session.flush()
    _set_temp_admins(project, temp_ids)
    db.session.add(ProjectSite(project_id=project.id, label=project.place, latitude=project.latitude,
                               longitude=project.longitude, created_by_id=actor.id, created_at=now))
    db.session.flush()
    return project


def review_project(actor: Volunteer, project_id: int, *, now: datetime) -> Project:
    """确认审核: an ancestor's admin approves a pending project (a conditional UPDATE decides)."""
    project = get_project(project_id)
    permissions.require(actor, "review_project", project.org, now=now)
    result = db.session.execute(
        update(Project).where(Project.id == project.id, Project.status == PENDING)
        .values(status=APPROVED, reviewed_at=now, reviewed_by_id=actor.id).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise RuleViolation("project_not_pending", "该项目不在待审核状态，可能已被其他管理员处理。", 409)
    db.session.expire(project)
    _notify_review(project, "通过", now=now)
    return project


def reject_project(actor: Volunteer, project_id: int, reason: str, *, now: datetime) -> Project:
    """审核删除: an ancestor's admin deletes a pending project with a reason."""
    project = get_project(project_id)
    permissions.require(actor, "review_project", project.org, now=now)
    reason = (reason or "").strip()
    if not 1 <= len(reason) <= 200:
        raise RuleViolation("reason_missing", "请填写删除原因（200字以内）。")
    if project.first_checkin_at is not None:
        raise RuleViolation("project_has_checkins", "该项目已有签到记录，不能删除。", 409)
    result = db.session.execute(
        update(Project).where(Project.id == project.id, Project.status == PENDING)
        .values(status=DELETED, deleted_at=now, delete_reason=reason, reviewed_at=now, reviewed_by_id=actor.id)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise RuleViolation("project_not_pending", "该项目不在待审核状态，可能已被其他管理员处理。", 409)
    db.session.expire(project)
    _notify_review(project, "未通过", reason, now=now)
    _tell_gone(project, "project_deleted", reason, "项目已删除")
    return project


def revoke_project(actor: Volunteer, project_id: int, *, now: datetime, reason: str = "") -> Project:
    """退回/撤销: the publisher or an ancestor's admin takes an approved project back to review.

    The volunteers signed up are told (``project_revoked``)."""
    project = get_project(project_id)
    require_project(actor, project, "revoke_project", now=now)
    if not won(update(Project).where(Project.id == project.id, Project.status == APPROVED)
               .values(status=PENDING, revoked_at=now, reviewed_at=None, reviewed_by_id=None)):
        raise RuleViolation("project_not_approved", "该项目不是已审核状态。", 409)
    db.session.expire(project)
    if actor.id != project.published_by_id:
        _notify_review(project, "已撤销", (reason or "").strip(), now=now)
    _tell_gone(project, "project_revoked", reason, "项目退回审核，请留意后续通知")
    return project


def check_edit(project: Project, changes: dict, *, now: datetime) -> None:
    """The editing rules, on the fields that actually change."""
    if project.phase(now) == FINISHED:
        raise RuleViolation("project_finished", "项目已结束，内容不能再修改。", 409)
    if "checkin_mode" in changes:
        raise RuleViolation("checkin_mode_fixed", "单签项目和双签项目不可互换，如选错类型请删除后重新发布。", 409)
    if project.phase(now) == RUNNING and any(k in changes for k in WINDOW_FIELDS):
        raise RuleViolation("daily_window_fixed", "活动开始后，不能修改每日有效计时时段。", 409)


def edit_project(actor: Volunteer, project_id: int, fields: dict, *, now: datetime, tz: str = DEFAULT_TZ,
                 topic_orgs: dict | None = None) -> Project:
    """修改: an admin of the project's org (or above) edits it.

    A change to a time field of an approved project sends it back through review (approved again
    at once for a level-1/2 or 免审 org); a pending project is routed again (so an exempt org's
    revoked project is approved again by saving it).  When the activity's time or place really
    changed, the volunteers signed up are told (``project_changed``) in the same transaction.
    ``fields`` hold typed values, as for ``publish_project``.
    """
    project = get_project(project_id)
    permissions.require(actor, "edit_project", project.org, now=now)
    fields = dict(fields)
    temp = fields.pop("temp_admin_id_numbers", None)
    changes = {}
    for key, value in fields.items():
        current = project.service_targets if key == "service_targets" else getattr(project, key)
        if current != value:
            changes[key] = value
    check_edit(project, changes, now=now)
    if changes.get("topic") and changes["topic"] not in allowed_topics(project.org, topic_orgs):
        raise RuleViolation("topic_not_allowed", f"“{changes['topic']}”专题仅限特定组织发布。")
    if "recruit_count" in changes and changes["recruit_count"] < project.accepted_count:
        raise RuleViolation("recruit_count_too_small", f"已录用{project.accepted_count}人，招募人数不能少于已录用人数。")
    for key, value in changes.items():
        setattr(project, key, value)
    _check_whole(project)
    _derive_instants(project, tz)
    if temp is not None:
        _set_temp_admins(project, _temp_admin_ids(temp))
    time_changed = any(k in changes for k in TIME_FIELDS)
    if project.status == PENDING or (project.status == APPROVED and time_changed):
        _route(project, actor.id, now)
    project.updated_at = now
    db.session.flush()
    _tell_changed(project, set(changes))
    return project


def delete_project(actor: Volunteer, project_id: int, *, now: datetime, reason: str = "") -> Project:
    """删除: refused once anyone has checked in (``first_checkin_at``, set by attendance).

    The volunteers signed up are told (``project_deleted``)."""
    project = get_project(project_id)
    permissions.require(actor, "delete_project", project.org, now=now)
    result = db.session.execute(
        update(Project).where(Project.id == project.id, Project.status != DELETED, Project.first_checkin_at.is_(None))
        .values(status=DELETED, deleted_at=now, delete_reason=(reason or "").strip()[:200] or None)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise RuleViolation("project_has_checkins", "该项目已有签到记录，不能删除。", 409)
    db.session.expire(project)
    _tell_gone(project, "project_deleted", reason, "项目已取消")
    return project


def add_site(actor: Volunteer, project_id: int, latitude, longitude, label: str = "", *, now: datetime) -> ProjectSite:
    """定位: an admin or temporary admin adds a point to the project (the attendance issue uses it)."""
    project = get_project(project_id)
    require_project(actor, project, "locate_project", now=now)
    try:
        lat, lng = float(latitude), float(longitude)
    except (TypeError, ValueError):
        raise RuleViolation("project_point_invalid", "位置不正确。") from None
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        raise RuleViolation("project_point_invalid", "位置不正确。")
    site = ProjectSite(project_id=project.id, label=(label or project.place)[:100], latitude=lat, longitude=lng,
                       created_by_id=actor.id, created_at=now)
    db.session.add(site)
    db.session.flush()
    return site


# ------------------------------------------------------------------------- follow, comment
def follow(volunteer: Volunteer, project_id: int, on: bool, *, now: datetime) -> bool:
    """关注 / 取消关注 (idempotent)."""
    project = get_project(project_id)
    row = db.session.get(ProjectFollow, (project.id, volunteer.id))
    if on and row is None:
        try:
            with db.session.begin_nested():
                db.session.add(ProjectFollow(project_id=project.id, volunteer_id=volunteer.id, created_at=now))
        except IntegrityError:
            pass
    elif not on and row is not None:
        db.session.delete(row)
    return on


def is_following(volunteer_id: int | None, project_id: int) -> bool:
    return bool(volunteer_id) and db.session.get(ProjectFollow, (project_id, volunteer_id)) is not None


def follow_count(project_id: int) -> int:
    return db.session.scalar(select(db.func.count()).select_from(ProjectFollow)
                             .where(ProjectFollow.project_id == project_id)) or 0


def add_comment(volunteer: Volunteer, project_id: int, body: str, *, now: datetime) -> ProjectComment:
    """留言."""
    project = get_project(project_id)
    if project.status != APPROVED:
        raise RuleViolation("project_not_open", "该项目尚未发布。", 409)
    body = (body or "").strip()
    if not 1 <= len(body) <= 500:
        raise RuleViolation("comment_invalid", "留言应为1至500个字。")
    comment = ProjectComment(project_id=project.id, volunteer_id=volunteer.id, body=body, created_at=now)
    db.session.add(comment)
    db.session.flush()
    return comment


def comments_of(project_id: int, limit: int = 50) -> list[ProjectComment]:
    return (ProjectComment.query.filter_by(project_id=project_id)
            .order_by(ProjectComment.created_at.desc(), ProjectComment.id.desc()).limit(limit).all())


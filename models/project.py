"""志愿服务项目: publishing (项目发布), review (项目审核), editing, revoking and deleting a project.

Manual part 2 §三.13–15 and part 3 §三.1–2.  A project belongs to the org that published it.

- Review: a project of a level-1/2 org or of a 免审 org is approved at once; otherwise it waits for
  an admin of an ancestor org, who approves it or deletes it with a reason.  An approved project can
  be revoked (退回/撤销) by its publisher or an ancestor admin: it waits for review again.
- Phase (招募 / 进行 / 完成) is derived from ``now``, never stored.
- Editing: a finished project cannot be edited; editing the time fields of an approved project
  sends it back through review; once the activity has started its daily window cannot change; the
  check-in mode never changes after publishing.
- A project with any check-in cannot be deleted: the attendance issue sets ``first_checkin_at``.

Dates and the daily window are local (the rules' zone); ``starts_at``/``ends_at`` and the signup
window are also kept as UTC instants (derived at every save) so lists can filter and sort in SQL.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import column, select, table, update

from . import permissions
from .base import RuleViolation, db, utcnow
from .organization import ACTIVE, Organization, admin_org_of, subtree_of
from .volunteer import Volunteer

DEFAULT_TZ = "Asia/Shanghai"

#: 服务类别 (图2-10).
CATEGORIES = ("环保绿化", "扶贫济困", "减灾救灾", "治安巡逻", "法律咨询", "维权服务", "纠纷调解", "医疗保健",
              "卫生保洁", "教育培训", "科技创新", "心理健康", "文化娱乐", "全民健身", "敬老助老", "科普宣传",
              "其它", "赛会服务", "文明交通", "文明实践")
#: 服务对象 (图2-40), several may be chosen.
SERVICE_TARGETS = ("青少年", "婴幼儿", "孤寡老人", "残障人士", "优抚对象", "特困群体", "社会公众", "其它")
#: 专题项目.  The first two are for the orgs configured for them; 新时代文明实践 is open to all.
TOPIC_TRAFFIC, TOPIC_TODAY, TOPIC_PRACTICE = "文明交通周周行", "今天我是志愿者", "新时代文明实践"
TOPICS = (TOPIC_TRAFFIC, TOPIC_TODAY, TOPIC_PRACTICE)
#: Org names allowed to publish each restricted topic (``[projects] topic_orgs`` overrides it).
DEFAULT_TOPIC_ORGS = {TOPIC_TRAFFIC: ["站台文明交通志愿服务队", "路口文明交通志愿服务队"], TOPIC_TODAY: []}

SCOPE_ALL, SCOPE_MEMBERS = "all", "members"
SCOPES = {SCOPE_ALL: "全员参与", SCOPE_MEMBERS: "仅本组织成员"}
SINGLE, DOUBLE = "single", "double"
CHECKIN_MODES = {SINGLE: "单签", DOUBLE: "双签"}
CENTRAL, SCATTERED = "central", "scattered"
CHECKOUT_MODES = {CENTRAL: "集中签出", SCATTERED: "分散签出"}
MAX_PRESET_HOURS = 3
PRESET_HOURS = (0.5, 1, 1.5, 2, 2.5, 3)
RADII = (100, 200, 300, 500, 1000, 2000)  # 打卡有效距离, metres
MAX_TEMP_ADMINS = 6
SHORT_NAME_MAX = 10  # 项目简称: shown on the punch card

PENDING, APPROVED, DELETED = "pending", "approved", "deleted"
STATUS_LABELS = {PENDING: "待审核", APPROVED: "已审核", DELETED: "已删除"}
RECRUITING, RUNNING, FINISHED = "recruiting", "running", "finished"
PHASE_LABELS = {RECRUITING: "招募", RUNNING: "进行", FINISHED: "完成"}

TIME_FIELDS = ("signup_start", "signup_end", "start_date", "end_date", "daily_start", "daily_end")
WINDOW_FIELDS = ("daily_start", "daily_end")
#: What the volunteers signed up are told about when it changes: when the activity is, where it is.
ACTIVITY_TIME_FIELDS = ("start_date", "end_date", "daily_start", "daily_end")
PLACE_FIELDS = ("region", "region_detail", "place", "latitude", "longitude")
#: The signups still in force (``models.signup.LIVE``); the table is read here as a plain table
#: because ``models.signup`` imports this module.
LIVE_SIGNUP_STATES = ("pending", "accepted", "waitlisted")
_SIGNUPS = table("signup", column("project_id"), column("volunteer_id"), column("state"))
EDITABLE_FIELDS = ("name", "short_name", "recruit_count", "scope", "needs_review", "category", "service_targets",
                   "topic", "region", "region_detail", "place", "latitude", "longitude", "description",
                   "requirements", "contact_name", "contact_phone", "preset_hours", "punch_radius",
                   "checkout_mode", *TIME_FIELDS)
LABELS = {"name": "项目名称", "short_name": "项目简称", "recruit_count": "招募人数", "scope": "参与对象",
          "needs_review": "报名审核", "category": "所属类别", "service_targets": "服务对象", "topic": "专题项目",
          "region": "所在地区", "region_detail": "所在镇街", "place": "实施地点", "latitude": "纬度",
          "longitude": "经度", "description": "活动内容", "requirements": "岗位描述及要求",
          "contact_name": "项目联系人", "contact_phone": "联系电话", "signup_start": "申请起始日期",
          "signup_end": "申请截止日期", "start_date": "活动开始日期", "end_date": "活动结束日期",
          "daily_start": "每日计时开始时间", "daily_end": "每日计时结束时间", "checkin_mode": "计时方式",
          "preset_hours": "单次时长", "punch_radius": "打卡有效距离", "checkout_mode": "签出限制",
          "temp_admin_id_numbers": "项目临时管理员"}


class Project(db.Model):
    """志愿服务项目 (活动)."""

    __tablename__ = "project"
    __table_args__ = (
        db.Index("ix_project_status_starts_at", "status", "starts_at"),
        db.Index("ix_project_org_id_status", "org_id", "status"),
        db.CheckConstraint("accepted_count >= 0", name="accepted_count"),
    )

    id = db.Column(db.Integer, primary_key=True)
    org_id = db.Column(db.Integer, db.ForeignKey("organization.id", ondelete="CASCADE"), nullable=False)
    name = db.Column(db.String(100), nullable=False)
    short_name = db.Column(db.String(10), nullable=False)
    recruit_count = db.Column(db.Integer, nullable=False)
    accepted_count = db.Column(db.Integer, nullable=False, default=0)  # settled by conditional UPDATEs
    scope = db.Column(db.String(10), nullable=False, default=SCOPE_ALL)
    needs_review = db.Column(db.Boolean, nullable=False, default=True)
    category = db.Column(db.String(20), nullable=False)
    service_targets_text = db.Column(db.String(200), nullable=False, default="")  # "|青少年|社会公众|"
    topic = db.Column(db.String(20))
    region = db.Column(db.String(30), nullable=False)
    region_detail = db.Column(db.String(60), nullable=False, default="")
    place = db.Column(db.String(200), nullable=False)
    latitude = db.Column(db.Float, nullable=False)  # GCJ-02
    longitude = db.Column(db.Float, nullable=False)
    description = db.Column(db.Text, nullable=False, default="")
    requirements = db.Column(db.Text, nullable=False, default="")
    contact_name = db.Column(db.String(50), nullable=False, default="")
    contact_phone = db.Column(db.String(30), nullable=False, default="")
    signup_start = db.Column(db.Date, nullable=False)  # local dates
    signup_end = db.Column(db.Date, nullable=False)
    start_date = db.Column(db.Date, nullable=False)
    end_date = db.Column(db.Date, nullable=False)
    daily_start = db.Column(db.Time, nullable=False)  # local times
    daily_end = db.Column(db.Time, nullable=False)
    signup_opens_at = db.Column(db.DateTime, nullable=False)  # UTC, derived from the local fields
    signup_closes_at = db.Column(db.DateTime, nullable=False)
    starts_at = db.Column(db.DateTime, nullable=False)
    ends_at = db.Column(db.DateTime, nullable=False)
    checkin_mode = db.Column(db.String(10), nullable=False)
    preset_hours = db.Column(db.Float)  # 单签
    punch_radius = db.Column(db.Integer)  # 双签, metres
    checkout_mode = db.Column(db.String(10))  # 双签
    status = db.Column(db.String(10), nullable=False, default=PENDING)
    published_by_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="SET NULL"))
    published_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    updated_at = db.Column(db.DateTime)
    reviewed_by_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="SET NULL"))
    reviewed_at = db.Column(db.DateTime)
    revoked_at = db.Column(db.DateTime)
    deleted_at = db.Column(db.DateTime)
    delete_reason = db.Column(db.String(200))
    first_checkin_at = db.Column(db.DateTime)  # set by the attendance issue at the first check-in

    org = db.relationship(Organization)

    @property
    def service_targets(self) -> list[str]:
        return [t for t in self.service_targets_text.split("|") if t]

    @service_targets.setter
    def service_targets(self, targets) -> None:
        self.service_targets_text = ("|" + "|".join(targets) + "|") if targets else ""

    def phase(self, now: datetime) -> str:
        """招募 before the activity starts, 进行 until it ends, 完成 after."""
        if now < self.starts_at:
            return RECRUITING
        if now <= self.ends_at:
            return RUNNING
        return FINISHED

    def phase_label(self, now: datetime) -> str:
        return PHASE_LABELS[self.phase(now)]

    def signup_open(self, now: datetime) -> bool:
        """Inside the signup window (which may overlap the activity) and before the end."""
        return self.signup_opens_at <= now <= self.signup_closes_at and now <= self.ends_at

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def mode_label(self) -> str:
        return CHECKIN_MODES[self.checkin_mode]

    @property
    def scope_label(self) -> str:
        return SCOPES[self.scope]

    @property
    def checkin_description(self) -> str:
        if self.checkin_mode == SINGLE:
            return f"单签（每次{self.preset_hours:g}小时）"
        return f"双签（打卡范围{self.punch_radius}米，{CHECKOUT_MODES[self.checkout_mode]}）"

    @property
    def temp_admin_ids(self) -> list[int]:
        return list(db.session.scalars(select(ProjectTempAdmin.volunteer_id)
                                       .where(ProjectTempAdmin.project_id == self.id)
                                       .order_by(ProjectTempAdmin.volunteer_id)))

    @property
    def temp_admins(self) -> list[Volunteer]:
        ids = self.temp_admin_ids
        return Volunteer.query.filter(Volunteer.id.in_(ids)).order_by(Volunteer.id).all() if ids else []

    @property
    def sites(self) -> list[ProjectSite]:
        return ProjectSite.query.filter_by(project_id=self.id).order_by(ProjectSite.id).all()


class ProjectTempAdmin(db.Model):
    """项目临时管理员: at most six volunteers with an admin's project-level powers on one project."""

    __tablename__ = "project_temp_admin"

    project_id = db.Column(db.Integer, db.ForeignKey("project.id", ondelete="CASCADE"), primary_key=True)
    volunteer_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="CASCADE"), primary_key=True,
                             index=True)


class ProjectSite(db.Model):
    """A point of a project (活动定位).  The point set at publishing is the first; 定位 adds more."""

    __tablename__ = "project_site"

    id = db.Column(db.Integer, primary_key=True)
    project_id = db.Column(db.Integer, db.ForeignKey("project.id", ondelete="CASCADE"), nullable=False, index=True)
    label = db.Column(db.String(100), nullable=False, default="")
    latitude = db.Column(db.Float, nullable=False)  # GCJ-02
    longitude = db.Column(db.Float, nullable=False)
    created_by_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="SET NULL"))
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)


class ProjectFollow(db.Model):
    """关注: a volunteer's bookmark of a project."""

    __tablename__ = "project_follow"

    project_id = db.Column(db.Integer, db.ForeignKey("project.id", ondelete="CASCADE"), primary_key=True)
    volunteer_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="CASCADE"), primary_key=True,
                             index=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)


class ProjectComment(db.Model):
    """留言 (活动交流) on a project's page."""

    __tablename__ = "project_comment"

    id = db.Column(db.Integer, primary_key=True)
    project_id = db.Column(db.Integer, db.ForeignKey("project.id", ondelete="CASCADE"), nullable=False, index=True)
    volunteer_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="CASCADE"), nullable=False)
    body = db.Column(db.String(500), nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    volunteer = db.relationship(Volunteer)


# ---------------------------------------------------------------------------------- time
def to_utc(day: date, moment: time, tz: str = DEFAULT_TZ) -> datetime:
    """A local day and time as a naive UTC instant."""
    return datetime.combine(day, moment, tzinfo=ZoneInfo(tz)).astimezone(UTC).replace(tzinfo=None)


def local_now(now: datetime, tz: str = DEFAULT_TZ) -> datetime:
    return now.replace(tzinfo=UTC).astimezone(ZoneInfo(tz)).replace(tzinfo=None)


def _derive_instants(project: Project, tz: str) -> None:
    project.signup_opens_at = to_utc(project.signup_start, time(0, 0), tz)
    project.signup_closes_at = to_utc(project.signup_end, time(23, 59, 59), tz)
    project.starts_at = to_utc(project.start_date, project.daily_start, tz)
    project.ends_at = to_utc(project.end_date, project.daily_end, tz)


# ---------------------------------------------------------------------------- field checks
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


# ---------------------------------------------------------------------------------- queries
def get_project(project_id) -> Project:
    project = db.session.get(Project, project_id) if project_id else None
    if project is None or project.status == DELETED:
        raise RuleViolation("project_not_found", "项目不存在或已删除。", 404)
    return project


def is_temp_admin(volunteer_id: int | None, project_id: int) -> bool:
    if not volunteer_id:
        return False
    return db.session.get(ProjectTempAdmin, (project_id, volunteer_id)) is not None


def auto_approved(org: Organization) -> bool:
    """二级组织、免审组织发布的项目无需审核 (level 1 has no one above to review it either)."""
    return org.level <= 2 or bool(org.review_exempt)


#: What a temporary admin may do on their project (and only there).
TEMP_ADMIN_ACTIONS = frozenset({"review_signups", "locate_project", "scan_assist"})


def can_manage_project(volunteer, project: Project, action: str, *, now=None) -> bool:
    """May ``volunteer`` do ``action`` on ``project``?

    The org admins' powers come from ``permissions.can`` on the project's org; a temporary admin of
    the project gets the project-level ones (``TEMP_ADMIN_ACTIONS``) on this project only; the
    publisher may revoke their own project.
    """
    if volunteer is None or project is None:
        return False
    if permissions.can(volunteer, action, project.org, now=now):
        return True
    if action == "revoke_project":
        own = admin_org_of(volunteer.id)
        return (project.published_by_id == volunteer.id and own is not None and own.id == project.org_id
                and own.status == ACTIVE)
    return action in TEMP_ADMIN_ACTIONS and is_temp_admin(volunteer.id, project.id)


def require_project(volunteer, project: Project, action: str, *, now=None) -> None:
    if not can_manage_project(volunteer, project, action, now=now):
        raise RuleViolation("forbidden", "您没有管理该项目的权限。", 403)


def search_projects(*, now: datetime, region=None, category=None, phase=None, keyword=None, org_id=None,
                    sort: str = "newest", position=None, page: int = 1, per_page: int = 20):
    """做志愿: approved projects matching the filters, sorted, paginated.

    ``sort``: ``newest`` (published), ``soonest`` (starting soonest, unfinished first), ``nearest``
    (to ``position``, a ``positions.Position``; an ordering by the planar approximation, fine within a
    city).  ``phase`` is one of ``recruiting``/``running``/``finished``, compared with ``now``.
    """
    query = select(Project).where(Project.status == APPROVED)
    if region:
        query = query.where(Project.region == region)
    if category:
        query = query.where(Project.category == category)
    if phase == RECRUITING:
        query = query.where(Project.starts_at > now)
    elif phase == RUNNING:
        query = query.where(Project.starts_at <= now, Project.ends_at >= now)
    elif phase == FINISHED:
        query = query.where(Project.ends_at < now)
    if keyword:
        pattern = f"%{_escape_like(keyword.strip())}%"
        query = query.where(db.or_(Project.name.like(pattern, escape="\\"),
                                   Project.short_name.like(pattern, escape="\\"),
                                   Project.place.like(pattern, escape="\\")))
    if org_id:
        org = db.session.get(Organization, int(org_id))
        if org is None:
            query = query.where(db.false())
        else:
            query = query.where(Project.org_id.in_(select(Organization.id).where(subtree_of(org))))
    if sort == "nearest" and position is not None:
        import math

        scale = math.cos(math.radians(position.latitude)) ** 2
        query = query.order_by(((Project.latitude - position.latitude) * (Project.latitude - position.latitude)
                                + (Project.longitude - position.longitude)
                                * (Project.longitude - position.longitude) * scale), Project.id)
    elif sort == "soonest":
        query = query.order_by((Project.ends_at < now), Project.starts_at, Project.id)
    else:
        query = query.order_by(Project.published_at.desc(), Project.id.desc())
    return db.paginate(query, page=max(int(page or 1), 1), per_page=per_page, error_out=False)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def current_projects_of_org(org_id: int, *, now: datetime, limit: int = 20) -> list[Project]:
    """当前项目 on an org's page: its approved projects not finished yet, soonest first."""
    return (Project.query.filter(Project.org_id == org_id, Project.status == APPROVED, Project.ends_at >= now)
            .order_by(Project.starts_at, Project.id).limit(limit).all())


def projects_of_admin(volunteer, *, now: datetime, finished: bool = False, keyword: str | None = None) -> list[Project]:
    """实施中的项目 / 已完成项目: the projects of the admin's org and below, plus those the volunteer is
    a temporary admin of; not deleted."""
    own = admin_org_of(volunteer.id)
    conditions = [Project.id.in_(select(ProjectTempAdmin.project_id)
                                 .where(ProjectTempAdmin.volunteer_id == volunteer.id))]
    if own is not None and own.status == ACTIVE:
        conditions.append(Project.org_id.in_(select(Organization.id).where(subtree_of(own))))
    query = Project.query.filter(db.or_(*conditions), Project.status != DELETED)
    query = query.filter(Project.ends_at < now) if finished else query.filter(Project.ends_at >= now)
    if keyword:
        query = query.filter(Project.name.like(f"%{_escape_like(keyword.strip())}%", escape="\\"))
    return query.order_by(Project.starts_at.desc() if finished else Project.starts_at, Project.id).all()


def pending_reviews_for(volunteer) -> list[Project]:
    """项目审核 (待审核): pending projects of the orgs strictly below the admin's org."""
    own = admin_org_of(volunteer.id)
    if own is None or own.status != ACTIVE:
        return []
    return (Project.query.filter(Project.status == PENDING,
                                 Project.org_id.in_(select(Organization.id).where(subtree_of(own, False))))
            .order_by(Project.published_at, Project.id).all())


def reviewed_below(volunteer, *, keyword: str | None = None, limit: int = 50) -> list[Project]:
    """项目审核 (已审核): approved projects below the admin's org, which the admin may revoke."""
    own = admin_org_of(volunteer.id)
    if own is None or own.status != ACTIVE:
        return []
    query = Project.query.filter(Project.status == APPROVED,
                                 Project.org_id.in_(select(Organization.id).where(subtree_of(own, False))))
    if keyword:
        query = query.filter(Project.name.like(f"%{_escape_like(keyword.strip())}%", escape="\\"))
    return query.order_by(Project.reviewed_at.desc(), Project.id.desc()).limit(limit).all()


# ------------------------------------------------------------------------------------ rules
def _notify_review(project: Project, result: str, reason: str = "") -> None:
    from .notification import notify

    if project.published_by_id:
        stamp = int(utcnow().timestamp() * 1000)
        notify(project.published_by_id, "project_review_result",
               {"project": project.name, "result": result, "reason": reason},
               link=f"/m/projects/{project.id}", cause=f"project:{project.id}",
               key=f"project-review:{project.id}:{result}:{stamp}")


def signed_up_ids(project_id: int) -> list[int]:
    """The volunteers whose signup for the project is in force (pending, accepted, waitlisted)."""
    query = (select(_SIGNUPS.c.volunteer_id)
             .where(_SIGNUPS.c.project_id == project_id, _SIGNUPS.c.state.in_(LIVE_SIGNUP_STATES))
             .order_by(_SIGNUPS.c.volunteer_id))
    return list(db.session.execute(query).scalars())


def _tell_signed_up(project: Project, kind: str, data: dict, *, link: str | None) -> None:
    """Outbox rows for everyone signed up, in the transaction of the change (one key per change)."""
    from .notification import notify_many

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
    _notify_review(project, "通过")
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
    _notify_review(project, "未通过", reason)
    _tell_gone(project, "project_deleted", reason, "项目已删除")
    return project


def revoke_project(actor: Volunteer, project_id: int, *, now: datetime, reason: str = "") -> Project:
    """退回/撤销: the publisher or an ancestor's admin takes an approved project back to review.

    The volunteers signed up are told (``project_revoked``)."""
    project = get_project(project_id)
    require_project(actor, project, "revoke_project", now=now)
    result = db.session.execute(
        update(Project).where(Project.id == project.id, Project.status == APPROVED)
        .values(status=PENDING, revoked_at=now, reviewed_at=None, reviewed_by_id=None)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise RuleViolation("project_not_approved", "该项目不是已审核状态。", 409)
    db.session.expire(project)
    if actor.id != project.published_by_id:
        _notify_review(project, "已撤销", (reason or "").strip())
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
        from sqlalchemy.exc import IntegrityError

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

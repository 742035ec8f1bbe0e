"""志愿服务项目: the project tables (sites, temporary admins, follows, comments), phases and plain reads.

Manual part 2 §三.13–15 and part 3 §三.1–2.  A project belongs to the org that published it.

- Phase (招募 / 进行 / 完成) is derived from ``now``, never stored.
- A project with any check-in cannot be deleted: the attendance rules set ``first_checkin_at``.

Dates and the daily window are local (the rules' zone); ``starts_at``/``ends_at`` and the signup
window are also kept as UTC instants (derived at every save) so lists can filter and sort in SQL.
The rules that publish, review, edit, revoke and delete a project stand above, in
``models.project_rules``.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select

from . import permissions
from .base import RuleViolation, db, label_of, utcnow
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
#: The signups still in force (``models.signup.LIVE``, which imports this module).
LIVE_SIGNUP_STATES = ("pending", "accepted", "waitlisted")
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
        db.Index("ix_project_status_ends_at", "status", "ends_at"),
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
    require_onsite_code = db.Column(db.Boolean, nullable=False, default=False, server_default=db.false())  # 双签 须扫现场码
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

    status_label = label_of("status", STATUS_LABELS)
    mode_label = label_of("checkin_mode", CHECKIN_MODES)
    scope_label = label_of("scope", SCOPES)

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



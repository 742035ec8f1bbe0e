"""考勤: 打卡签到 (单签 / 双签), 扫码辅助签到, 补签, 时长公示与异议, 积分, 服务记录, 清理.

Manual part 2 §二.9–10, §三.13(3), §三.15, §三.18–19 and its notes; part 3 §二.7–8, §三.5, §三.7, §三.9.

- A ``Cycle`` (打卡周期) is one sign-in/sign-out pair of a 双签 project, or the one punch of a 单签
  project on one day.  Every punch is also kept as a ``Punch`` row with its gcj02 position and
  accuracy.  A recorded cycle carries its hours and is public (时长公示) for 7 natural days; then a
  periodic job confirms it unless an objection was upheld, which cancels it.
- Races are settled by the database: a volunteer's one open sign-in is a unique nullable column
  (``open_volunteer_id``); the one single punch per project and day another
  (``single_day``); a sign-out, a review, an objection's handling are conditional UPDATEs.
- Points (积分) are a ledger of rows: credits for 双签 hours and for the first login of a day,
  and reversing rows when a cycle is cancelled — never an adjusted counter.

Every function takes ``now`` (naive UTC); days and daily windows are local to ``Rules.tz``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from . import hours as hour_rules
from . import positions
from .base import RuleViolation, db
from .notification import notify
from .organization import ACTIVE, Organization, admin_org_of, subtree_of
from .project import (
    APPROVED,
    DEFAULT_TZ,
    DELETED,
    DOUBLE,
    SCATTERED,
    SINGLE,
    Project,
    ProjectSite,
    ProjectTempAdmin,
    can_manage_project,
    get_project,
    local_now,
    require_project,
    to_utc,
)
from .signup import ACCEPTED, CANCELLED, LIVE, Signup
from .volunteer import Volunteer

# ------------------------------------------------------------------------------- constants
OPEN, RECORDED, CONFIRMED, LAPSED, CANCELLED_CYCLE, UNPAIRED = (
    "open", "recorded", "confirmed", "lapsed", "cancelled", "unpaired")
CYCLE_STATES = (OPEN, RECORDED, CONFIRMED, LAPSED, CANCELLED_CYCLE, UNPAIRED)
COUNTED = (RECORDED, CONFIRMED)
CYCLE_LABELS = {OPEN: "已签到", RECORDED: "公示中", CONFIRMED: "已确认", LAPSED: "已失效（未签退）",
                CANCELLED_CYCLE: "已取消", UNPAIRED: "仅签退（未签到）"}
SOURCE_PAGE, SOURCE_SCAN, SOURCE_MAKEUP = "page", "scan", "makeup"
SOURCE_LABELS = {SOURCE_PAGE: "本人打卡", SOURCE_SCAN: "管理员扫码", SOURCE_MAKEUP: "补签"}
PUNCH_IN, PUNCH_OUT, PUNCH_SINGLE = "in", "out", "single"

MIN_CYCLE = timedelta(minutes=30)       # 签到30分钟后才可以签退
CHECKOUT_GRACE = timedelta(minutes=30)  # 签退不能晚于活动结束后30分钟
PUBLICITY_DAYS = 7                      # 公示期为7个自然日
MAKEUP_DAYS = 7                         # 当天活动结束后7天内申请补签
CLEANUP_DAYS = 7                        # 活动结束7天后清除无签到的活动、无时长的报名

MAKEUP_SIGN_IN, MAKEUP_SIGN_OUT, MAKEUP_BOTH = "sign_in", "sign_out", "both"
MAKEUP_KINDS = {MAKEUP_SIGN_IN: "补签到", MAKEUP_SIGN_OUT: "补签退", MAKEUP_BOTH: "签到签退全部补签"}
M_PENDING, M_APPROVED, M_REJECTED = "pending", "approved", "rejected"
MAKEUP_STATES = {M_PENDING: "待审核", M_APPROVED: "已通过", M_REJECTED: "未通过"}
PHOTO_PENDING, PHOTO_STORED, PHOTO_FAILED = "pending", "stored", "failed"

O_PENDING, O_UPHELD, O_DISMISSED = "pending", "upheld", "dismissed"
OBJECTION_STATES = {O_PENDING: "待处理", O_UPHELD: "异议成立", O_DISMISSED: "异议不成立"}

R_LOGIN, R_SERVICE, R_REVERSAL, R_REDEEM = "daily_login", "service", "reversal", "redeem"
POINT_REASONS = {R_LOGIN: "每天登录积分", R_SERVICE: "参与活动积分", R_REVERSAL: "时长取消扣回积分",
                 R_REDEEM: "积分兑换"}

TWO = Decimal("0.01")


@dataclass(frozen=True)
class Rules:
    """The configurable parts: the rules' zone, the hours rounding rule, points per 双签 hour."""

    tz: str = DEFAULT_TZ
    rounding: str = hour_rules.DEFAULT_RULE
    points_per_hour: Decimal = Decimal(1)


DEFAULT_RULES = Rules()


# ---------------------------------------------------------------------------------- models
class Cycle(db.Model):
    """打卡周期: one 双签 sign-in/sign-out pair, or the one 单签 punch of a day, and its hours."""

    __tablename__ = "attendance_cycle"
    __table_args__ = (
        db.UniqueConstraint("open_volunteer_id"),
        db.UniqueConstraint("project_id", "volunteer_id", "single_day"),
        db.Index("ix_attendance_cycle_project_id_state", "project_id", "state"),
        db.Index("ix_attendance_cycle_volunteer_id_state", "volunteer_id", "state"),
        db.Index("ix_attendance_cycle_state_public_until", "state", "public_until"),
        db.CheckConstraint("state IN ('open', 'recorded', 'confirmed', 'lapsed', 'cancelled', 'unpaired')",
                           name="state"),
    )

    id = db.Column(db.Integer, primary_key=True)
    project_id = db.Column(db.Integer, db.ForeignKey("project.id", ondelete="CASCADE"), nullable=False)
    volunteer_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="CASCADE"), nullable=False)
    day = db.Column(db.Date, nullable=False)  # the local activity day
    mode = db.Column(db.String(10), nullable=False)  # single / double
    source = db.Column(db.String(10), nullable=False, default=SOURCE_PAGE)
    state = db.Column(db.String(10), nullable=False)
    signed_in_at = db.Column(db.DateTime)
    signed_out_at = db.Column(db.DateTime)
    deadline = db.Column(db.DateTime)  # an open sign-in lapses after it (the day's window end + 30 min)
    hours = db.Column(db.Numeric(6, 2))
    points = db.Column(db.Numeric(8, 2), nullable=False, default=0)
    open_volunteer_id = db.Column(db.Integer)  # = volunteer_id while open: one open sign-in per volunteer
    single_day = db.Column(db.Date)  # = day for 单签: one punch per project and day
    recorded_at = db.Column(db.DateTime)
    public_until = db.Column(db.DateTime)
    confirmed_at = db.Column(db.DateTime)
    cancelled_at = db.Column(db.DateTime)
    lapsed_at = db.Column(db.DateTime)
    created_at = db.Column(db.DateTime, nullable=False)

    project = db.relationship(Project)
    volunteer = db.relationship(Volunteer)

    @property
    def state_label(self) -> str:
        return CYCLE_LABELS[self.state]

    @property
    def source_label(self) -> str:
        return SOURCE_LABELS.get(self.source, self.source)

    def in_publicity(self, now: datetime) -> bool:
        return self.state == RECORDED and self.public_until is not None and now < self.public_until


class Punch(db.Model):
    """打卡: one punch as it happened — when, where (gcj02), how accurately, by whom."""

    __tablename__ = "punch"

    id = db.Column(db.Integer, primary_key=True)
    cycle_id = db.Column(db.Integer, db.ForeignKey("attendance_cycle.id", ondelete="CASCADE"), nullable=False,
                         index=True)
    kind = db.Column(db.String(10), nullable=False)  # in / out / single
    at = db.Column(db.DateTime, nullable=False)
    latitude = db.Column(db.Float)
    longitude = db.Column(db.Float)
    accuracy = db.Column(db.Float)
    distance_m = db.Column(db.Float)  # to the nearest site
    site_id = db.Column(db.Integer, db.ForeignKey("project_site.id", ondelete="SET NULL"))
    by_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="SET NULL"))  # the admin who scanned
    source = db.Column(db.String(10), nullable=False, default=SOURCE_PAGE)


class PointEntry(db.Model):
    """积分明细: one row of the points ledger (credits positive, reversals and redemptions negative)."""

    __tablename__ = "point_entry"
    __table_args__ = (
        db.UniqueConstraint("volunteer_id", "day", "reason"),  # one daily-login credit a day
        db.UniqueConstraint("cycle_id", "reason"),  # one credit and one reversal per cycle
        db.Index("ix_point_entry_volunteer_id_created_at", "volunteer_id", "created_at"),
    )

    id = db.Column(db.Integer, primary_key=True)
    volunteer_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="CASCADE"), nullable=False)
    amount = db.Column(db.Numeric(8, 2), nullable=False)
    reason = db.Column(db.String(20), nullable=False)
    day = db.Column(db.Date)  # daily login only
    cycle_id = db.Column(db.Integer, db.ForeignKey("attendance_cycle.id", ondelete="SET NULL"))
    note = db.Column(db.String(200), nullable=False, default="")
    created_at = db.Column(db.DateTime, nullable=False)

    @property
    def reason_label(self) -> str:
        return POINT_REASONS.get(self.reason, self.reason)


class MakeupRequest(db.Model):
    """补签申请: one per volunteer, project and activity day; never edited or submitted again."""

    __tablename__ = "makeup_request"
    __table_args__ = (
        db.UniqueConstraint("project_id", "volunteer_id", "day"),
        db.Index("ix_makeup_request_state_submitted_at", "state", "submitted_at"),
        db.CheckConstraint("state IN ('pending', 'approved', 'rejected')", name="state"),
    )

    id = db.Column(db.Integer, primary_key=True)
    project_id = db.Column(db.Integer, db.ForeignKey("project.id", ondelete="CASCADE"), nullable=False, index=True)
    volunteer_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="CASCADE"), nullable=False,
                             index=True)
    day = db.Column(db.Date, nullable=False)
    kind = db.Column(db.String(10), nullable=False)
    sign_in_at = db.Column(db.DateTime)  # UTC
    sign_out_at = db.Column(db.DateTime)
    reason = db.Column(db.String(500), nullable=False)
    account = db.Column(db.String(64), nullable=False)  # whose JS-SDK uploaded the photo
    media_id = db.Column(db.String(200), nullable=False)
    photo_state = db.Column(db.String(10), nullable=False, default=PHOTO_PENDING)
    photo_path = db.Column(db.String(200))
    photo_content_type = db.Column(db.String(50))
    photo_attempts = db.Column(db.Integer, nullable=False, default=0)
    photo_error = db.Column(db.String(200))
    state = db.Column(db.String(10), nullable=False, default=M_PENDING)
    target_cycle_id = db.Column(db.Integer, db.ForeignKey("attendance_cycle.id", ondelete="SET NULL"))
    cycle_id = db.Column(db.Integer, db.ForeignKey("attendance_cycle.id", ondelete="SET NULL"))
    submitted_at = db.Column(db.DateTime, nullable=False)
    decided_at = db.Column(db.DateTime)
    decided_by_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="SET NULL"))
    reject_reason = db.Column(db.String(200))

    project = db.relationship(Project)
    volunteer = db.relationship(Volunteer, foreign_keys=[volunteer_id])

    @property
    def kind_label(self) -> str:
        return MAKEUP_KINDS[self.kind]

    @property
    def state_label(self) -> str:
        return MAKEUP_STATES[self.state]


class Objection(db.Model):
    """时长异议: someone's objection to one recorded cycle during its publicity."""

    __tablename__ = "hours_objection"
    __table_args__ = (
        db.UniqueConstraint("cycle_id", "volunteer_id"),
        db.Index("ix_hours_objection_state_created_at", "state", "created_at"),
        db.CheckConstraint("state IN ('pending', 'upheld', 'dismissed')", name="state"),
    )

    id = db.Column(db.Integer, primary_key=True)
    cycle_id = db.Column(db.Integer, db.ForeignKey("attendance_cycle.id", ondelete="CASCADE"), nullable=False,
                         index=True)
    volunteer_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="CASCADE"), nullable=False,
                             index=True)
    reason = db.Column(db.String(500), nullable=False)
    state = db.Column(db.String(10), nullable=False, default=O_PENDING)
    created_at = db.Column(db.DateTime, nullable=False)
    handled_at = db.Column(db.DateTime)
    handled_by_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="SET NULL"))
    reply = db.Column(db.String(200))

    cycle = db.relationship(Cycle)
    volunteer = db.relationship(Volunteer, foreign_keys=[volunteer_id])

    @property
    def state_label(self) -> str:
        return OBJECTION_STATES[self.state]


class Removal(db.Model):
    """A soft removal by the clean-up job (无签到的活动, 无时长的报名), and its restoration."""

    __tablename__ = "attendance_removal"
    __table_args__ = (db.UniqueConstraint("kind", "target_id"),)

    id = db.Column(db.Integer, primary_key=True)
    kind = db.Column(db.String(10), nullable=False)  # project / signup
    target_id = db.Column(db.Integer, nullable=False)
    previous_state = db.Column(db.String(10), nullable=False)
    reason = db.Column(db.String(200), nullable=False)
    removed_at = db.Column(db.DateTime, nullable=False)
    restored_at = db.Column(db.DateTime)
    restored_by = db.Column(db.String(100))


# ------------------------------------------------------------------------------------ time
def window(project: Project, day: date, tz: str = DEFAULT_TZ) -> tuple[datetime, datetime]:
    """The day's 每日有效计时区段 as UTC instants."""
    return to_utc(day, project.daily_start, tz), to_utc(day, project.daily_end, tz)


def _hm(moment: datetime, tz: str) -> str:
    return local_now(moment, tz).strftime("%H:%M")


def _local_text(moment: datetime, tz: str) -> str:
    return local_now(moment, tz).strftime("%Y-%m-%d %H:%M")


def publicity_end(recorded_at: datetime, tz: str = DEFAULT_TZ) -> datetime:
    """公示期: the rest of the recording day and the 7 natural days after it (ends at local midnight)."""
    return to_utc(local_now(recorded_at, tz).date() + timedelta(days=PUBLICITY_DAYS + 1), time(0, 0), tz)


def activity_days(project: Project) -> list[date]:
    return [project.start_date + timedelta(days=n) for n in range((project.end_date - project.start_date).days + 1)]


# ---------------------------------------------------------------------------------- places
def nearest_site(project: Project, position: positions.Position) -> tuple[ProjectSite | None, float | None]:
    """The project's site nearest to ``position`` and its distance in metres (sites are gcj02)."""
    best, best_distance = None, None
    for site in project.sites:
        distance = positions.distance_m(position, positions.Position(site.latitude, site.longitude))
        if best_distance is None or distance < best_distance:
            best, best_distance = site, distance
    return best, best_distance


def check_within_radius(project: Project, position: positions.Position | None, what: str) -> tuple:
    """打卡范围 (双签): within the punch radius of any site; the refusal says by how much it is not."""
    if position is None:
        raise RuleViolation("position_required", f"{what}需要获取您的位置，请允许获取位置后重试。")
    site, distance = nearest_site(project, position)
    if site is None:
        raise RuleViolation("no_site", "该项目尚未设置活动位置，请联系管理员定位。", 409)
    radius = project.punch_radius or 0
    if distance > radius:
        accuracy = f"，定位精度约{position.accuracy:.0f}米" if position.accuracy is not None else ""
        raise RuleViolation(
            "too_far", f"您距离活动地点约{distance:.0f}米，超出打卡范围（{radius}米）{distance - radius:.0f}米{accuracy}，"
                       f"请到活动现场{what}。", 409)
    return site, distance


# ------------------------------------------------------------------------------- the rules
def _require_accepted(signup: Signup | None) -> Signup:
    if signup is None or signup.state != ACCEPTED:
        raise RuleViolation("not_accepted", "只有已录取的志愿者才能在该项目打卡。", 403)
    return signup


def _open_project(project_id: int) -> Project:
    project = get_project(project_id)
    if project.status != APPROVED:
        raise RuleViolation("project_not_open", "该项目尚未通过审核，不能打卡。", 409)
    return project


def _open_project_and_signup(project_id: int, volunteer_id: int) -> tuple[Project, Signup | None]:
    """``_open_project`` and the volunteer's signup on it (None if none), read in one query: the row
    puts the project in the session, where ``get_project`` then finds it without another."""
    row = db.session.execute(
        select(Project, Signup).outerjoin(Signup, (Signup.project_id == Project.id)
                                          & (Signup.volunteer_id == volunteer_id))
        .where(Project.id == project_id)).first() if project_id else None
    return _open_project(project_id), (row[1] if row else None)


def check_punch_time(project: Project, now: datetime, tz: str, *, grace: timedelta = timedelta(0)) -> date:
    """Inside the day's window on an activity day (``grace`` after its end for a sign-out); the local day."""
    today = local_now(now, tz).date()
    if today < project.start_date:
        raise RuleViolation("not_started", f"活动尚未开始，{project.start_date:%Y-%m-%d} "
                                           f"{project.daily_start:%H:%M} 起可以打卡。", 409)
    if today > project.end_date:
        raise RuleViolation("activity_over", "活动已结束，不能再打卡。", 409)
    opens, closes = window(project, today, tz)
    if now < opens:
        raise RuleViolation("too_early", f"还未到打卡时间，今天 {project.daily_start:%H:%M} 起可以打卡。", 409)
    if now > closes + grace:
        latest = _hm(closes + grace, tz)
        raise RuleViolation("too_late", f"今天的打卡时间已过（{latest} 截止）。", 409)
    return today


def _new_cycle(project, volunteer_id, day, now, *, mode, source, state, **values) -> Cycle:
    return Cycle(project_id=project.id, project=project, volunteer_id=volunteer_id, day=day, mode=mode,
                 source=source, state=state, created_at=now, points=Decimal(0), **values)


def _punch_row(cycle, kind, now, position, site=None, distance=None, by_id=None, source=SOURCE_PAGE) -> Punch:
    punch = Punch(cycle_id=cycle.id, kind=kind, at=now, source=source, by_id=by_id,
                  latitude=position.latitude if position else None, longitude=position.longitude if position else None,
                  accuracy=position.accuracy if position else None, distance_m=distance,
                  site_id=site.id if site else None)
    db.session.add(punch)
    return punch


def _mark_first_checkin(project: Project, signup: Signup | None, now: datetime) -> None:
    """Project.first_checkin_at and Signup.first_checkin_at, set once (they gate deletion and cancelling)."""
    if project.first_checkin_at is None:
        db.session.execute(update(Project).where(Project.id == project.id, Project.first_checkin_at.is_(None))
                           .values(first_checkin_at=now).execution_options(synchronize_session=False))
    if signup is not None and signup.first_checkin_at is None:
        db.session.execute(update(Signup).where(Signup.id == signup.id, Signup.first_checkin_at.is_(None))
                           .values(first_checkin_at=now).execution_options(synchronize_session=False))


def _enter_publicity(cycle: Cycle, now: datetime, tz: str) -> None:
    cycle.recorded_at = now
    cycle.public_until = publicity_end(now, tz)


def _credit_cycle(cycle: Cycle, now: datetime, rules: Rules) -> None:
    """A recorded cycle enters publicity; a 双签 cycle earns points (hours × rate) in the ledger."""
    _enter_publicity(cycle, now, rules.tz)
    if cycle.mode == DOUBLE and cycle.hours:
        points = (Decimal(cycle.hours) * Decimal(rules.points_per_hour)).quantize(TWO)
        if points > 0:
            cycle.points = points
            db.session.add(PointEntry(volunteer_id=cycle.volunteer_id, amount=points, reason=R_SERVICE,
                                      cycle_id=cycle.id, note=cycle.project.name[:200], created_at=now))


def lapse_expired(now: datetime, volunteer_id: int | None = None) -> int:
    """An open sign-in whose sign-out deadline passed lapses without hours (补签 is the remedy)."""
    query = update(Cycle).where(Cycle.state == OPEN, Cycle.deadline < now)
    if volunteer_id is not None:
        query = query.where(Cycle.volunteer_id == volunteer_id)
    result = db.session.execute(query.values(state=LAPSED, lapsed_at=now, open_volunteer_id=None)
                                .execution_options(synchronize_session="fetch"))
    return result.rowcount


def open_cycle_of(volunteer_id: int) -> Cycle | None:
    return Cycle.query.filter_by(open_volunteer_id=volunteer_id).one_or_none()


def punch_single(volunteer: Volunteer, project_id: int, position: positions.Position | None, *, now: datetime,
                 rules: Rules = DEFAULT_RULES, by: Volunteer | None = None) -> Cycle:
    """单签: one punch per day inside the window; credits the preset hours; position recorded, not enforced.

    The cycle is recorded at once: it enters publicity in its INSERT (a 单签 cycle earns no points).
    """
    project, signup = _open_project_and_signup(project_id, volunteer.id)
    if project.checkin_mode != SINGLE:
        raise RuleViolation("not_single", "该项目为签到/签退项目，请分别签到和签退。", 409)
    _require_accepted(signup)
    day = check_punch_time(project, now, rules.tz)
    site, distance = nearest_site(project, position) if position is not None else (None, None)
    hours = Decimal(str(project.preset_hours)).quantize(TWO)
    source = SOURCE_SCAN if by is not None else SOURCE_PAGE
    cycle = _new_cycle(project, volunteer.id, day, now, mode=SINGLE, source=source, state=RECORDED,
                       signed_in_at=now, hours=hours, single_day=day)
    _enter_publicity(cycle, now, rules.tz)
    try:
        with db.session.begin_nested():
            db.session.add(cycle)
            db.session.flush()
    except IntegrityError:
        raise RuleViolation("already_punched", "今天已经打过卡了（单签项目每天打卡一次）。", 409) from None
    _punch_row(cycle, PUNCH_SINGLE, now, position, site, distance, by.id if by else None, source)
    _mark_first_checkin(project, signup, now)
    db.session.flush()
    return cycle


def sign_in(volunteer: Volunteer, project_id: int, position: positions.Position | None, *, now: datetime,
            rules: Rules = DEFAULT_RULES) -> Cycle:
    """双签 签到: from the day's window start to its end, within the radius of a site, with no other
    sign-in open (an open one past its deadline lapses first)."""
    project, signup = _open_project_and_signup(project_id, volunteer.id)
    if project.checkin_mode != DOUBLE:
        raise RuleViolation("not_double", "该项目为单签项目，每天打卡一次即可。", 409)
    _require_accepted(signup)
    day = check_punch_time(project, now, rules.tz)
    site, distance = check_within_radius(project, position, "签到")
    _, closes = window(project, day, rules.tz)
    cycle = _new_cycle(project, volunteer.id, day, now, mode=DOUBLE, source=SOURCE_PAGE, state=OPEN,
                       signed_in_at=now, deadline=closes + CHECKOUT_GRACE, open_volunteer_id=volunteer.id)
    if not _insert_open_cycle(cycle):
        # One is open already: if it is past its deadline it lapses, and this one goes in.  (Most
        # sign-ins find none open, so the lapse's UPDATE waits until the insert has met one.)
        if not lapse_expired(now, volunteer.id) or not _insert_open_cycle(cycle):
            _refuse_open(volunteer.id, project, rules)
    _punch_row(cycle, PUNCH_IN, now, position, site, distance)
    _mark_first_checkin(project, signup, now)
    db.session.flush()
    return cycle


def _insert_open_cycle(cycle: Cycle) -> bool:
    """Insert a sign-in; False when the volunteer has one open already (the unique column says so)."""
    try:
        with db.session.begin_nested():
            db.session.add(cycle)
            db.session.flush()
    except IntegrityError:
        return False
    return True


def _refuse_open(volunteer_id: int, project: Project, rules: Rules):
    other = open_cycle_of(volunteer_id)
    if other is None:  # it was closed meanwhile; the caller may try again
        raise RuleViolation("sign_in_busy", "签到未完成，请重试。", 409)
    if other.project_id == project.id:
        raise RuleViolation("already_signed_in", f"您已于 {_hm(other.signed_in_at, rules.tz)} 签到，请在活动结束时签退。",
                            409)
    raise RuleViolation("open_elsewhere", f"您在“{other.project.name}”的签到尚未签退，请先签退"
                                          f"（或于 {_hm(other.deadline, rules.tz)} 后再签到）。", 409)


def sign_out(volunteer: Volunteer, project_id: int, position: positions.Position | None, *, now: datetime,
             rules: Rules = DEFAULT_RULES) -> Cycle:
    """双签 签退: ≥ 30 minutes after the sign-in, ≤ 30 minutes after the day's window end, within the
    radius unless 分散签出.  The cycle's hours are rounded by ``rules.rounding`` and enter publicity.

    Without an open sign-in the sign-out is still recorded (an ``unpaired`` cycle without hours), so
    that a forgotten sign-in can be made up (补签到) against it.
    """
    project, signup = _open_project_and_signup(project_id, volunteer.id)
    if project.checkin_mode != DOUBLE:
        raise RuleViolation("not_double", "该项目为单签项目，每天打卡一次即可。", 409)
    _require_accepted(signup)
    cycle = Cycle.query.filter_by(open_volunteer_id=volunteer.id, project_id=project.id).one_or_none()
    if cycle is not None and cycle.deadline < now:
        lapse_expired(now, volunteer.id)
        raise RuleViolation("sign_out_too_late", f"已超过签退截止时间（{_hm(cycle.deadline, rules.tz)}），"
                                                 "本次签到已失效，如确实参加了活动请申请补签。", 409)
    if cycle is None:
        day = check_punch_time(project, now, rules.tz, grace=CHECKOUT_GRACE)
    else:
        day = cycle.day
        if now < cycle.signed_in_at + MIN_CYCLE:
            raise RuleViolation("sign_out_too_early", f"签到30分钟后才能签退，请于 "
                                                      f"{_hm(cycle.signed_in_at + MIN_CYCLE, rules.tz)} 后再签退。", 409)
    site = distance = None
    if project.checkout_mode == SCATTERED:
        if position is not None:
            site, distance = nearest_site(project, position)
    else:
        site, distance = check_within_radius(project, position, "签退")
    if cycle is None:
        orphan = _new_cycle(project, volunteer.id, day, now, mode=DOUBLE, source=SOURCE_PAGE, state=UNPAIRED,
                            signed_out_at=now)
        db.session.add(orphan)
        db.session.flush()
        _punch_row(orphan, PUNCH_OUT, now, position, site, distance)
        _mark_first_checkin(project, signup, now)
        db.session.flush()
        return orphan
    hours = hour_rules.cycle_hours(cycle.signed_in_at, now, rules.rounding)
    result = db.session.execute(
        update(Cycle).where(Cycle.id == cycle.id, Cycle.state == OPEN)
        .values(state=RECORDED, signed_out_at=now, hours=hours, open_volunteer_id=None)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise RuleViolation("not_signed_in", "您的签到已签退或已失效。", 409)
    db.session.refresh(cycle)
    _credit_cycle(cycle, now, rules)
    _punch_row(cycle, PUNCH_OUT, now, position, site, distance)
    db.session.flush()
    return cycle


def punch(volunteer: Volunteer, project_id: int, action: str, position: positions.Position | None, *,
          now: datetime, rules: Rules = DEFAULT_RULES) -> Cycle:
    """The check-in page's button: ``single``, ``sign_in`` or ``sign_out``."""
    if action == "single":
        return punch_single(volunteer, project_id, position, now=now, rules=rules)
    if action == "sign_in":
        return sign_in(volunteer, project_id, position, now=now, rules=rules)
    if action == "sign_out":
        return sign_out(volunteer, project_id, position, now=now, rules=rules)
    raise RuleViolation("action_invalid", "未知的打卡操作。")


# ------------------------------------------------------------------------ scan assist
def _running_single_projects(actor: Volunteer, volunteer_id: int, *, now: datetime,
                             tz: str) -> list[tuple[Project, bool]]:
    """The 单签 projects ``actor`` may scan for whose window is open now (their org subtree, or temp
    admin), each with whether the volunteer ``volunteer_id`` is accepted on it: one query."""
    own = admin_org_of(actor.id)
    conditions = [Project.id.in_(select(ProjectTempAdmin.project_id).where(ProjectTempAdmin.volunteer_id == actor.id))]
    if own is not None and own.status == ACTIVE:
        conditions.append(Project.org_id.in_(select(Organization.id).where(subtree_of(own))))
    today = local_now(now, tz).date()
    accepted = select(Signup.id).where(Signup.project_id == Project.id, Signup.volunteer_id == volunteer_id,
                                       Signup.state == ACCEPTED).exists()
    candidates = db.session.execute(
        select(Project, accepted).where(db.or_(*conditions), Project.status == APPROVED,
                                        Project.checkin_mode == SINGLE, Project.start_date <= today,
                                        Project.end_date >= today)
        .order_by(Project.starts_at, Project.id)).all()
    out = []
    for project, is_accepted in candidates:
        opens, closes = window(project, today, tz)
        if opens <= now <= closes and can_manage_project(actor, project, "scan_assist", now=now):
            out.append((project, is_accepted))
    return out


def may_scan(actor: Volunteer | None, *, now: datetime) -> bool:
    """Is ``actor`` an admin of an approved org or a temporary admin of some project?"""
    if actor is None:
        return False
    own = admin_org_of(actor.id)
    if own is not None and own.status == ACTIVE:
        return True
    return db.session.scalar(select(db.func.count()).select_from(ProjectTempAdmin)
                             .where(ProjectTempAdmin.volunteer_id == actor.id)) > 0


def scan_targets(actor: Volunteer, volunteer: Volunteer, *, now: datetime, tz: str = DEFAULT_TZ) -> list[Project]:
    """The running 单签 projects of ``actor`` in which the scanned volunteer is accepted."""
    projects = _running_single_projects(actor, volunteer.id, now=now, tz=tz)
    if not projects:
        raise RuleViolation("no_running_project", "您管理的项目当前没有正在进行打卡的单签活动。", 409)
    targets = [project for project, accepted in projects if accepted]
    if not targets:
        raise RuleViolation("not_accepted", f"{volunteer.masked_name}未被录取参加您正在进行的单签活动。", 409)
    return targets


def scan_assist(actor: Volunteer, project_id: int, volunteer: Volunteer | None, *, now: datetime,
                rules: Rules = DEFAULT_RULES, position: positions.Position | None = None) -> Cycle:
    """管理员辅助签到扫码 (单签 only): an admin of the project's org subtree, or its temporary admin,
    signs the scanned volunteer in."""
    project = get_project(project_id)
    require_project(actor, project, "scan_assist", now=now)
    if project.checkin_mode != SINGLE:
        raise RuleViolation("scan_single_only", "扫码签到仅适用于单签项目。", 409)
    if volunteer is None:
        raise RuleViolation("qr_invalid", "无法识别该二维码，请扫描志愿者的“我的二维码”。", 400)
    return punch_single(volunteer, project.id, position, now=now, rules=rules, by=actor)


# ---------------------------------------------------------------------------------- points
def _insert_ignoring(row: dict, conflict: list[str]) -> bool:
    dialect = db.session.get_bind(mapper=PointEntry.__mapper__).dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    t = PointEntry.__table__
    result = db.session.execute(insert(t).values(**row).on_conflict_do_nothing(
        index_elements=[t.c[c] for c in conflict]))
    return result.rowcount == 1


def credit_daily_login(volunteer_id: int, *, now: datetime, tz: str = DEFAULT_TZ) -> bool:
    """每天登录积分: 1 point for the first page of each local day (a unique (volunteer, day, reason) row)."""
    day = local_now(now, tz).date()
    return _insert_ignoring({"volunteer_id": volunteer_id, "amount": Decimal(1), "reason": R_LOGIN, "day": day,
                             "note": "", "created_at": now}, ["volunteer_id", "day", "reason"])


def balance(volunteer_id: int) -> Decimal:
    """当前可用积分: the sum of the ledger."""
    total = db.session.scalar(select(db.func.coalesce(db.func.sum(PointEntry.amount), 0))
                              .where(PointEntry.volunteer_id == volunteer_id))
    return Decimal(str(total)).quantize(TWO)


def total_earned(volunteer_id: int) -> Decimal:
    """累计积分: every credit less the reversals of cancelled hours (redemptions do not lower it)."""
    total = db.session.scalar(select(db.func.coalesce(db.func.sum(PointEntry.amount), 0))
                              .where(PointEntry.volunteer_id == volunteer_id, PointEntry.reason != R_REDEEM))
    return Decimal(str(total)).quantize(TWO)


def ledger(volunteer_id: int, limit: int = 200) -> list[PointEntry]:
    return (PointEntry.query.filter_by(volunteer_id=volunteer_id)
            .order_by(PointEntry.created_at.desc(), PointEntry.id.desc()).limit(limit).all())


def _lock_volunteer(volunteer_id: int) -> None:
    """Serialise ledger debits of one volunteer (PostgreSQL row lock; SQLite serialises writers)."""
    db.session.execute(select(Volunteer.id).where(Volunteer.id == volunteer_id).with_for_update())


def redeem(volunteer_id: int, amount, note: str, *, now: datetime) -> PointEntry:
    """积分兑换 (礼遇坊): a debit row, refused when the balance would go below zero."""
    amount = Decimal(str(amount)).quantize(TWO)
    if amount <= 0:
        raise RuleViolation("amount_invalid", "兑换积分应大于0。")
    _lock_volunteer(volunteer_id)
    if balance(volunteer_id) < amount:
        raise RuleViolation("points_insufficient", "当前可用积分不足。", 409)
    entry = PointEntry(volunteer_id=volunteer_id, amount=-amount, reason=R_REDEEM, note=(note or "")[:200],
                       created_at=now)
    db.session.add(entry)
    db.session.flush()
    return entry


def _reverse_points(cycle: Cycle, now: datetime) -> Decimal:
    """Cancel what a cycle earned with a reversing row (never below a zero balance)."""
    if not cycle.points or Decimal(cycle.points) <= 0:
        return Decimal(0)
    _lock_volunteer(cycle.volunteer_id)
    amount = min(Decimal(cycle.points), max(balance(cycle.volunteer_id), Decimal(0)))
    if amount <= 0:
        return Decimal(0)
    _insert_ignoring({"volunteer_id": cycle.volunteer_id, "amount": -amount, "reason": R_REVERSAL,
                      "cycle_id": cycle.id, "note": cycle.project.name[:200], "created_at": now},
                     ["cycle_id", "reason"])
    return amount


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


def object_to(volunteer: Volunteer, cycle_id: int, reason: str, *, now: datetime) -> Objection:
    """我有异议: anyone logged in, with a reason, while the record is public; once per person and record."""
    cycle = get_cycle(cycle_id)
    if not cycle.in_publicity(now):
        raise RuleViolation("not_in_publicity", "该时长记录已不在公示期内，不能提出异议。", 409)
    reason = (reason or "").strip()
    if not 5 <= len(reason) <= 500:
        raise RuleViolation("reason_required", "请填写异议理由（5至500字）。")
    objection = Objection(cycle_id=cycle.id, volunteer_id=volunteer.id, reason=reason, state=O_PENDING,
                          created_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(objection)
            db.session.flush()
    except IntegrityError:
        raise RuleViolation("already_objected", "您已对该时长记录提出过异议。", 409) from None
    return objection


def get_objection(objection_id) -> Objection:
    objection = db.session.get(Objection, objection_id) if objection_id else None
    if objection is None:
        raise RuleViolation("objection_not_found", "异议不存在。", 404)
    return objection


def _require_handler(actor: Volunteer, project: Project, now: datetime) -> None:
    from . import permissions

    if not permissions.can(actor, "handle_objections", project.org, now=now):
        raise RuleViolation("forbidden", "只有发布活动的组织管理员可以处理异议。", 403)


def _note_objection(objection: Objection, result: str, reply: str, now: datetime) -> None:
    cycle = objection.cycle
    notify(objection.volunteer_id, "objection_result",
           {"subject": f"{cycle.project.name} {cycle.volunteer.masked_name}的时长", "result": result,
            "reason": reply}, link="/m/me/objections", cause=f"objection:{objection.id}",
           key=f"objection_result:{objection.id}")


def uphold_objection(actor: Volunteer, objection_id: int, reply: str = "", *, now: datetime) -> Objection:
    """异议成立: the record's hours and the points it gave are cancelled (never adjusted)."""
    objection = get_objection(objection_id)
    cycle = objection.cycle
    _require_handler(actor, cycle.project, now)
    reply = (reply or "").strip()[:200] or "经核实，该时长记录已取消。"
    done = db.session.execute(update(Objection).where(Objection.id == objection.id, Objection.state == O_PENDING)
                              .values(state=O_UPHELD, handled_at=now, handled_by_id=actor.id, reply=reply)
                              .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise RuleViolation("objection_handled", "该异议已处理。", 409)
    cancelled = db.session.execute(update(Cycle).where(Cycle.id == cycle.id, Cycle.state.in_(COUNTED))
                                   .values(state=CANCELLED_CYCLE, cancelled_at=now)
                                   .execution_options(synchronize_session=False))
    db.session.refresh(cycle)
    db.session.refresh(objection)
    if cancelled.rowcount == 1:
        _reverse_points(cycle, now)
    _note_objection(objection, "异议成立", reply, now)
    # Other objections to the same record are settled by the same outcome.
    for other in Objection.query.filter(Objection.cycle_id == cycle.id, Objection.state == O_PENDING).all():
        db.session.execute(update(Objection).where(Objection.id == other.id, Objection.state == O_PENDING)
                           .values(state=O_UPHELD, handled_at=now, handled_by_id=actor.id, reply=reply)
                           .execution_options(synchronize_session=False))
        db.session.refresh(other)
        _note_objection(other, "异议成立", reply, now)
    db.session.flush()
    return objection


def dismiss_objection(actor: Volunteer, objection_id: int, reply: str = "", *, now: datetime) -> Objection:
    """异议不成立: the record stands."""
    objection = get_objection(objection_id)
    _require_handler(actor, objection.cycle.project, now)
    reply = (reply or "").strip()[:200] or "经核实，该时长记录无误。"
    done = db.session.execute(update(Objection).where(Objection.id == objection.id, Objection.state == O_PENDING)
                              .values(state=O_DISMISSED, handled_at=now, handled_by_id=actor.id, reply=reply)
                              .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise RuleViolation("objection_handled", "该异议已处理。", 409)
    db.session.refresh(objection)
    _note_objection(objection, "异议不成立", reply, now)
    return objection


def _managed_project_ids(actor: Volunteer):
    own = admin_org_of(actor.id)
    if own is None or own.status != ACTIVE:
        return None
    return select(Project.id).where(Project.org_id.in_(select(Organization.id).where(subtree_of(own))))


def pending_objections_for(actor: Volunteer) -> list[Objection]:
    """时长异议: pending objections to records of projects of the admin's org and below."""
    ids = _managed_project_ids(actor)
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


def _cycles_of_day(project_id: int, volunteer_id: int, day: date) -> list[Cycle]:
    return (Cycle.query.filter_by(project_id=project_id, volunteer_id=volunteer_id, day=day)
            .order_by(Cycle.id).all())


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
    cycles = _cycles_of_day(project.id, volunteer_id, day)
    target = None
    if kind == MAKEUP_SIGN_IN:
        unpaired = [c for c in cycles if c.state == UNPAIRED]
        if not unpaired:
            raise RuleViolation("makeup_nothing_to_pair", "当天没有缺少签到的签退记录，请选择“签到签退全部补签”。", 409)
        target = unpaired[-1]
        last_out = max(c.signed_out_at for c in cycles if c.signed_out_at is not None)
        if sign_in_at > last_out:
            raise RuleViolation("makeup_after_sign_out", f"补签签到时间不得晚于最后一次签退打卡时间（{_hm(last_out, tz)}）。")
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
    project, signup = _open_project_and_signup(project_id, volunteer.id)
    _require_accepted(signup)
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
    request = MakeupRequest(project_id=project.id, volunteer_id=volunteer.id, day=day, kind=kind,
                            sign_in_at=sign_in_at, sign_out_at=sign_out_at, reason=reason, account=account,
                            media_id=media_id[:200], state=M_PENDING, submitted_at=now,
                            target_cycle_id=target.id if target else None)
    try:
        with db.session.begin_nested():
            db.session.add(request)
            db.session.flush()
    except IntegrityError:
        raise RuleViolation("makeup_exists", "该日已提交过补签申请，补签申请只能提交一次。", 409) from None
    return request


def get_makeup(makeup_id) -> MakeupRequest:
    request = db.session.get(MakeupRequest, makeup_id) if makeup_id else None
    if request is None:
        raise RuleViolation("makeup_not_found", "补签申请不存在。", 404)
    return request


def _require_makeup_reviewer(actor: Volunteer, project: Project, now: datetime) -> None:
    from . import permissions

    if not permissions.can(actor, "review_makeups", project.org, now=now):
        raise RuleViolation("forbidden", "只有发布活动的组织管理员可以审核补签。", 403)


def may_review_makeup(actor: Volunteer | None, request: MakeupRequest, *, now: datetime) -> bool:
    from . import permissions

    return actor is not None and permissions.can(actor, "review_makeups", request.project.org, now=now)


def _note_makeup(request: MakeupRequest, result: str, reason: str) -> None:
    notify(request.volunteer_id, "makeup_result", {"project": request.project.name, "result": result,
                                                   "reason": reason},
           link=f"/m/me/makeups/{request.id}", cause=f"makeup:{request.id}", key=f"makeup_result:{request.id}")


def approve_makeup(actor: Volunteer, makeup_id: int, *, now: datetime, rules: Rules = DEFAULT_RULES) -> Cycle:
    """通过: the cycle is created (or completed) and its hours enter publicity."""
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
        cycle = _new_cycle(project, request.volunteer_id, request.day, now, mode=DOUBLE, source=SOURCE_MAKEUP,
                           state=RECORDED, signed_in_at=request.sign_in_at, signed_out_at=request.sign_out_at)
        db.session.add(cycle)
    else:
        cycle = target
        cycle.signed_in_at = request.sign_in_at or cycle.signed_in_at
        cycle.signed_out_at = request.sign_out_at or cycle.signed_out_at
        cycle.state, cycle.open_volunteer_id, cycle.source = RECORDED, None, SOURCE_MAKEUP
    cycle.hours = hour_rules.cycle_hours(cycle.signed_in_at, cycle.signed_out_at, rules.rounding)
    db.session.flush()
    _credit_cycle(cycle, now, rules)
    request.cycle_id = cycle.id
    signup = Signup.query.filter_by(project_id=project.id, volunteer_id=request.volunteer_id).one_or_none()
    _mark_first_checkin(project, signup, now)
    _note_makeup(request, "通过", f"补签时长{cycle.hours}小时，进入公示")
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
    ids = _managed_project_ids(actor)
    if ids is None:
        return []
    return (MakeupRequest.query.filter(MakeupRequest.state == M_PENDING, MakeupRequest.project_id.in_(ids))
            .order_by(MakeupRequest.submitted_at, MakeupRequest.id).all())


def makeups_of(volunteer_id: int) -> list[MakeupRequest]:
    """我的补签申请."""
    return (MakeupRequest.query.filter_by(volunteer_id=volunteer_id)
            .order_by(MakeupRequest.submitted_at.desc(), MakeupRequest.id.desc()).all())


def makeup_photo_stored(makeup_id: int, path: str, content_type: str) -> bool:
    result = db.session.execute(update(MakeupRequest).where(MakeupRequest.id == makeup_id,
                                                            MakeupRequest.photo_state == PHOTO_PENDING)
                                .values(photo_state=PHOTO_STORED, photo_path=path, photo_content_type=content_type,
                                        photo_error=None, photo_attempts=MakeupRequest.photo_attempts + 1)
                                .execution_options(synchronize_session=False))
    return result.rowcount == 1


def makeup_photo_failed(makeup_id: int, error: str, *, permanent: bool, max_attempts: int = 5) -> str:
    request = db.session.get(MakeupRequest, makeup_id, populate_existing=True)
    if request is None or request.photo_state != PHOTO_PENDING:
        return request.photo_state if request else PHOTO_FAILED
    request.photo_attempts += 1
    request.photo_error = error[:200]
    if permanent or request.photo_attempts >= max_attempts:
        request.photo_state = PHOTO_FAILED
    return request.photo_state


def makeup_photos_due(now: datetime, *, older_than: timedelta = timedelta(minutes=2),
                      max_attempts: int = 5) -> list[int]:
    return list(db.session.scalars(select(MakeupRequest.id).where(
        MakeupRequest.photo_state == PHOTO_PENDING, MakeupRequest.submitted_at <= now - older_than,
        MakeupRequest.photo_attempts < max_attempts).order_by(MakeupRequest.id)))


# ------------------------------------------------------------------------ service records
def _counted_hours(query):
    return query.where(Cycle.state.in_(COUNTED))


def service_summary(volunteer_id: int, *, now: datetime, tz: str = DEFAULT_TZ) -> dict:
    """我的服务记录: hours and counts (distinct projects) this month, quarter, year and in total."""
    today = local_now(now, tz).date()
    starts = {"month": today.replace(day=1), "quarter": date(today.year, 3 * ((today.month - 1) // 3) + 1, 1),
              "year": date(today.year, 1, 1), "total": None}
    out = {}
    for key, since in starts.items():
        query = _counted_hours(select(db.func.coalesce(db.func.sum(Cycle.hours), 0),
                                      db.func.count(db.distinct(Cycle.project_id)))
                               .where(Cycle.volunteer_id == volunteer_id))
        if since is not None:
            query = query.where(Cycle.day >= since)
        hours, count = db.session.execute(query).one()
        out[key] = {"hours": Decimal(str(hours)).quantize(TWO), "count": count}
    return out


def service_list(volunteer_id: int, limit: int = 200) -> list[Cycle]:
    """The list of 我的服务记录: every cycle with hours or on its way to them, newest first."""
    return (Cycle.query.filter(Cycle.volunteer_id == volunteer_id)
            .order_by(Cycle.day.desc(), Cycle.id.desc()).limit(limit).all())


def total_hours(volunteer_id: int, since: date | None = None) -> Decimal:
    query = _counted_hours(select(db.func.coalesce(db.func.sum(Cycle.hours), 0)).where(Cycle.volunteer_id == volunteer_id))
    if since is not None:
        query = query.where(Cycle.day >= since)
    return Decimal(str(db.session.scalar(query))).quantize(TWO)


def hours_by_volunteer(volunteer_ids, since: datetime | None) -> dict[int, float]:
    """Counted hours per volunteer since ``since`` (UTC, by the cycle's sign-in or recording)."""
    ids = list(volunteer_ids)
    if not ids:
        return {}
    query = _counted_hours(select(Cycle.volunteer_id, db.func.sum(Cycle.hours)).where(Cycle.volunteer_id.in_(ids)))
    if since is not None:
        query = query.where(db.func.coalesce(Cycle.signed_in_at, Cycle.recorded_at) >= since)
    return {v: float(h) for v, h in db.session.execute(query.group_by(Cycle.volunteer_id)).all() if h}


def project_hours(project_id: int) -> list[tuple[Volunteer, Decimal, int]]:
    """时长清单: counted hours per volunteer on one project."""
    rows = db.session.execute(_counted_hours(
        select(Cycle.volunteer_id, db.func.sum(Cycle.hours), db.func.count()).where(Cycle.project_id == project_id))
        .group_by(Cycle.volunteer_id)).all()
    volunteers = {v.id: v for v in Volunteer.query.filter(Volunteer.id.in_([r[0] for r in rows]))} if rows else {}
    return [(volunteers[v], Decimal(str(h)).quantize(TWO), n) for v, h, n in rows]


def cycles_today(volunteer_id: int, project_id: int, *, now: datetime, tz: str = DEFAULT_TZ) -> list[Cycle]:
    return _cycles_of_day(project_id, volunteer_id, local_now(now, tz).date())


def checkin_projects(volunteer_id: int, *, now: datetime) -> list[Project]:
    """打卡签到: the volunteer's accepted projects in 进行 phase."""
    return (Project.query.join(Signup, Signup.project_id == Project.id)
            .filter(Signup.volunteer_id == volunteer_id, Signup.state == ACCEPTED, Project.status == APPROVED,
                    Project.starts_at <= now, Project.ends_at >= now)
            .order_by(Project.starts_at, Project.id).all())


def makeup_projects(volunteer_id: int, *, now: datetime, tz: str = DEFAULT_TZ) -> list[Project]:
    """Accepted 双签 projects where a 补签 may still be asked for."""
    rows = (Project.query.join(Signup, Signup.project_id == Project.id)
            .filter(Signup.volunteer_id == volunteer_id, Signup.state == ACCEPTED, Project.status == APPROVED,
                    Project.checkin_mode == DOUBLE, Project.starts_at <= now,
                    Project.ends_at >= now - timedelta(days=MAKEUP_DAYS))
            .order_by(Project.starts_at, Project.id).all())
    return [p for p in rows if makeup_open_days(p, now=now, tz=tz)]


# ---------------------------------------------------------------------------------- clean-up
REMOVE_PROJECT_REASON = "活动结束7天后仍无签到记录，系统自动清除"
REMOVE_SIGNUP_REASON = "活动结束7天后仍无服务时长记录，系统自动清除报名"


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
        done = db.session.execute(update(Project).where(Project.id == project.id, Project.status == previous,
                                                        Project.first_checkin_at.is_(None))
                                  .values(status=DELETED, deleted_at=now, delete_reason=REMOVE_PROJECT_REASON)
                                  .execution_options(synchronize_session=False))
        if done.rowcount == 1:
            db.session.add(Removal(kind="project", target_id=project.id, previous_state=previous,
                                   reason=REMOVE_PROJECT_REASON, removed_at=now))
            removed["projects"] += 1
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
        done = db.session.execute(update(Signup).where(Signup.id == signup.id, Signup.state == previous)
                                  .values(state=CANCELLED, cancelled_at=now, cancel_reason=REMOVE_SIGNUP_REASON)
                                  .execution_options(synchronize_session=False))
        if done.rowcount == 1:
            db.session.add(Removal(kind="signup", target_id=signup.id, previous_state=previous,
                                   reason=REMOVE_SIGNUP_REASON, removed_at=now))
            removed["signups"] += 1
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
    db.session.flush()
    return removal


def removals(limit: int = 100) -> list[Removal]:
    return Removal.query.order_by(Removal.removed_at.desc(), Removal.id.desc()).limit(limit).all()


def rules_from(tz: str, section: dict | None) -> Rules:
    """``Rules`` from the configured zone and the ``[attendance]`` section."""
    section = section or {}
    return Rules(tz=tz, rounding=section.get("rounding", hour_rules.DEFAULT_RULE),
                 points_per_hour=Decimal(str(section.get("points_per_hour", 1))))

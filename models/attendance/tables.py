"""考勤 tables: cycles (打卡周期), punches, 补签 requests, objections (时长异议), removals (清理), and their states.

- A ``Cycle`` (打卡周期) is one sign-in/sign-out pair of a 双签 project, or the one punch of a 单签
  project on one day.  Every punch is also kept as a ``Punch`` row with its gcj02 position and
  accuracy.  A recorded cycle carries its hours and is public (时长公示) for 7 natural days.
- Races are settled by the database: a volunteer's one open sign-in is a unique nullable column
  (``open_volunteer_id``); the one single punch per project and day another (``single_day``).

The rules that change these rows stand above: ``punch``, ``makeup``, ``objection``, ``cleanup``;
the read-models of hours in ``models.hours``, the points ledger in ``models.points``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from .. import media
from ..base import db, label_of, read_through
from ..media import MediaItem
from ..project import Project
from ..volunteer import Volunteer

# ------------------------------------------------------------------------------- constants
OPEN, RECORDED, CONFIRMED, LAPSED, CANCELLED_CYCLE, UNPAIRED = (
    "open", "recorded", "confirmed", "lapsed", "cancelled", "unpaired")
CYCLE_STATES = (OPEN, RECORDED, CONFIRMED, LAPSED, CANCELLED_CYCLE, UNPAIRED)
COUNTED = (RECORDED, CONFIRMED)
CYCLE_LABELS = {OPEN: "已签到", RECORDED: "公示中", CONFIRMED: "已确认", LAPSED: "已失效（未签退）",
                CANCELLED_CYCLE: "已取消", UNPAIRED: "仅签退（未签到）"}
SOURCE_PAGE, SOURCE_SCAN, SOURCE_MAKEUP, SOURCE_DESK = "page", "scan", "makeup", "desk"
SOURCE_LABELS = {SOURCE_PAGE: "本人打卡", SOURCE_SCAN: "管理员扫码", SOURCE_MAKEUP: "补签", SOURCE_DESK: "服务台代打卡"}
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
PHOTO_PENDING, PHOTO_STORED, PHOTO_FAILED = media.PENDING, media.STORED, media.FAILED
MAKEUP_PHOTO = media.purpose("makeup_photo")  # the 补签 site photo (JS-SDK wx.uploadImage)

O_PENDING, O_UPHELD, O_DISMISSED = "pending", "upheld", "dismissed"
OBJECTION_STATES = {O_PENDING: "待处理", O_UPHELD: "异议成立", O_DISMISSED: "异议不成立"}

TWO = Decimal("0.01")


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

    state_label = label_of("state", CYCLE_LABELS)

    @property
    def source_label(self) -> str:
        return SOURCE_LABELS.get(self.source, self.source)

    def in_publicity(self, now: datetime) -> bool:
        return self.state == RECORDED and self.public_until is not None and now < self.public_until


class Punch(db.Model):
    """打卡: one punch as it happened — when, where (gcj02), how accurately, by whom."""

    __tablename__ = "punch"
    __table_args__ = (db.Index("ix_punch_latitude_longitude", "latitude", "longitude"),)  # repeated spots

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
    fix_age_s = db.Column(db.Float)  # how old the position fix was when the punch was made (seconds)
    onsite_code_at = db.Column(db.DateTime)  # the window start of the on-site code scanned for it
    received_at = db.Column(db.DateTime)  # set when sent late (offline): ``at`` is the recorded time
    client_ref = db.Column(db.String(80), unique=True)  # "<volunteer id>:<the page's id>" of an offline punch

    @property
    def sent_late(self) -> bool:
        return self.received_at is not None


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
    photo_id = db.Column(db.Integer, db.ForeignKey("media_item.id", ondelete="RESTRICT"), nullable=False,
                         index=True)  # the site photo (purpose makeup_photo)
    state = db.Column(db.String(10), nullable=False, default=M_PENDING)
    target_cycle_id = db.Column(db.Integer, db.ForeignKey("attendance_cycle.id", ondelete="SET NULL"))
    cycle_id = db.Column(db.Integer, db.ForeignKey("attendance_cycle.id", ondelete="SET NULL"))
    submitted_at = db.Column(db.DateTime, nullable=False)
    decided_at = db.Column(db.DateTime)
    decided_by_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="SET NULL"))
    reject_reason = db.Column(db.String(200))

    project = db.relationship(Project)
    volunteer = db.relationship(Volunteer, foreign_keys=[volunteer_id])
    photo = db.relationship(MediaItem)

    kind_label = label_of("kind", MAKEUP_KINDS)

    # the photo, read from its media item (templates, tests)
    photo_state = read_through("photo", "state")
    photo_path = read_through("photo", "path")
    photo_error = read_through("photo", "reason")

    state_label = label_of("state", MAKEUP_STATES)


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

    state_label = label_of("state", OBJECTION_STATES)


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


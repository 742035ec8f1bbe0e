"""新时代文明实践 tables: places (实践阵地), needs (群众需求单), plans (活动菜单), orders (群众点单),
the projects that serve them, yearly targets, and one log of what happened to a need or an order.

Manual part 4 §二–§三.  A place is one of three levels — 实践中心 (district), 实践所 (town/street),
实践站 (village/community) — and keeps a materialised path like the org tree (``/3/17/``), so
"this place and everything below" is one indexed prefix match.  Each place is run by one volunteer
org, whose admins are the place's admins.  The rules that change these rows stand above, in
``models.practice.places`` / ``needs`` / ``plans`` / ``orders``; nothing here commits.
"""

from __future__ import annotations

from .. import media, personal_data
from ..base import db, label_of, utcnow
from ..organization import Organization
from ..volunteer import Volunteer

CENTRE, INSTITUTE, STATION = 1, 2, 3
LEVEL_LABELS = {CENTRE: "实践中心", INSTITUTE: "实践所", STATION: "实践站"}
#: 实践类别 (part 4 §一: 理论宣传、文化服务、健康与体育服务、科技与科普服务、教育服务 and local platforms).
CATEGORIES = ("理论宣讲", "文化服务", "健康与体育服务", "科技与科普服务", "教育服务", "其他")
#: 共性 / 个性 需求 (part 4 §三.2 ①).
NEED_KINDS = {"common": "共性需求", "personal": "个性需求"}

# needs: 待处理 → 已处理; 上报 moves it to the parent place and it waits there again (state "reported").
NEED_PENDING, NEED_REPORTED, NEED_HANDLED = "pending", "reported", "handled"
NEED_STATE_LABELS = {NEED_PENDING: "待处理", NEED_REPORTED: "已上报，待上级处理", NEED_HANDLED: "已处理"}
NEED_OPEN = (NEED_PENDING, NEED_REPORTED)

# orders: 待处理 → (上报 →) 已派单 → 已接单 (a project serves it) → 待评价 → 已评价
ORDER_PENDING, ORDER_REPORTED, ORDER_DISPATCHED, ORDER_ACCEPTED, ORDER_RATING, ORDER_RATED = (
    "pending", "reported", "dispatched", "accepted", "rating", "rated")
ORDER_STATE_LABELS = {ORDER_PENDING: "待处理", ORDER_REPORTED: "已上报，待上级处理", ORDER_DISPATCHED: "已派单",
                      ORDER_ACCEPTED: "已接单", ORDER_RATING: "待评价", ORDER_RATED: "已评价"}
ORDER_OPEN = (ORDER_PENDING, ORDER_REPORTED)

PLACE_PHOTO = media.purpose("place_photo")  # 场所图片: 3–6, one of them the outside view (JS-SDK wx.uploadImage)
NEED_PHOTO = media.purpose("practice_need_photo")  # the optional photo of a 群众需求单


class Place(db.Model):
    """实践阵地: a 实践中心, 实践所 or 实践站, run by one volunteer org."""

    __tablename__ = "practice_place"
    __table_args__ = (
        db.Index("ix_practice_place_path", "path", postgresql_ops={"path": "varchar_pattern_ops"}),
        db.CheckConstraint("level BETWEEN 1 AND 3", name="level"),
    )

    id = db.Column(db.Integer, primary_key=True)
    parent_id = db.Column(db.Integer, db.ForeignKey("practice_place.id"), index=True)
    level = db.Column(db.Integer, nullable=False)
    path = db.Column(db.String(60), nullable=False, default="")
    name = db.Column(db.String(100), nullable=False)
    org_id = db.Column(db.Integer, db.ForeignKey("organization.id"), nullable=False, unique=True)
    region = db.Column(db.String(30), nullable=False)  # the district (models.regions)
    intro = db.Column(db.Text, nullable=False, default="")
    phone = db.Column(db.String(30), nullable=False, default="")
    address = db.Column(db.String(200), nullable=False, default="")
    latitude = db.Column(db.Float)  # gcj02
    longitude = db.Column(db.Float)
    organiser = db.Column(db.String(200), nullable=False, default="")  # 组织架构 / 主办单位
    leaders = db.Column(db.String(200), nullable=False, default="")  # 总队长、政委 / 支队长、指导员 / 队长、指导员
    rules_text = db.Column(db.Text, nullable=False, default="")  # 管理制度
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    org = db.relationship(Organization)
    parent = db.relationship("Place", remote_side=[id])

    level_label = label_of("level", LEVEL_LABELS)

    @property
    def has_point(self) -> bool:
        return self.latitude is not None and self.longitude is not None



def place_subtree(place: Place, include_self: bool = True):
    """The SQL condition "this place and every place below it" (one indexed prefix match)."""
    condition = Place.path.like(place.path + "%")
    return condition if include_self else condition & (Place.id != place.id)

class PlacePhoto(db.Model):
    """场所图片 (part 4 §二.2(3)): one photo of a place, its media item; ``outside`` marks the 外部全景图."""

    __tablename__ = "practice_place_photo"
    __table_args__ = (
        db.UniqueConstraint("place_id", "media_item_id"),
        db.Index("ix_practice_place_photo_place_id_created_at", "place_id", "created_at"),
    )

    id = db.Column(db.Integer, primary_key=True)
    place_id = db.Column(db.Integer, db.ForeignKey("practice_place.id", ondelete="CASCADE"), nullable=False)
    media_item_id = db.Column(db.Integer, db.ForeignKey("media_item.id", ondelete="RESTRICT"), nullable=False,
                              index=True)
    outside = db.Column(db.Boolean, nullable=False, default=False)
    added_by_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="SET NULL"))
    created_at = db.Column(db.DateTime, nullable=False)

    place = db.relationship(Place)
    item = db.relationship(media.MediaItem, lazy="joined")

    @property
    def state(self) -> str:
        return self.item.state


class PracticeProject(db.Model):
    """A project of topic 新时代文明实践: the place where it happens, and the order it serves, if any."""

    __tablename__ = "practice_project"

    project_id = db.Column(db.Integer, db.ForeignKey("project.id", ondelete="CASCADE"), primary_key=True)
    place_id = db.Column(db.Integer, db.ForeignKey("practice_place.id"), nullable=False, index=True)
    order_id = db.Column(db.Integer, db.ForeignKey("practice_order.id", ondelete="SET NULL"), unique=True)

    place = db.relationship(Place)


class _Contact:
    """A resident's name and phone: the phone is stored encrypted and listed masked."""

    @property
    def phone(self) -> str:
        return personal_data.decrypt(self.phone_encrypted)

    def set_phone(self, phone: str) -> None:
        self.phone_encrypted = personal_data.encrypt(phone)
        self.phone_masked = personal_data.mask_phone(phone)

    @property
    def masked_name(self) -> str:
        return personal_data.mask_name(self.name)

    def is_submitter(self, account: str | None, openid: str | None) -> bool:
        return bool(openid) and self.account == account and self.openid == openid


class Need(_Contact, db.Model):
    """群众需求单: a resident's need, submitted to a place (or entered for them by a volunteer: 代录)."""

    __tablename__ = "practice_need"
    __table_args__ = (
        db.CheckConstraint("state IN ('pending', 'reported', 'handled')", name="state"),
        db.Index("ix_practice_need_place_id_state", "place_id", "state"),
        db.Index("ix_practice_need_account_openid", "account", "openid"),
    )

    id = db.Column(db.Integer, primary_key=True)
    place_id = db.Column(db.Integer, db.ForeignKey("practice_place.id"), nullable=False)  # who handles it now
    origin_place_id = db.Column(db.Integer, db.ForeignKey("practice_place.id"), nullable=False)
    account = db.Column(db.String(64), nullable=False)  # the submitter as OAuth saw them
    openid = db.Column(db.String(64), nullable=False)
    recorded_by_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="SET NULL"))  # 代录
    title = db.Column(db.String(50), nullable=False)
    name = db.Column(db.String(20), nullable=False)
    phone_encrypted = db.Column(db.Text, nullable=False)
    phone_masked = db.Column(db.String(20), nullable=False)
    region = db.Column(db.String(30), nullable=False)
    content = db.Column(db.Text, nullable=False)
    state = db.Column(db.String(10), nullable=False, default=NEED_PENDING)
    kind = db.Column(db.String(10))  # NEED_KINDS
    category = db.Column(db.String(20))  # CATEGORIES
    handled_note = db.Column(db.Text)
    handled_by_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="SET NULL"))
    handled_at = db.Column(db.DateTime)
    project_id = db.Column(db.Integer, db.ForeignKey("project.id", ondelete="SET NULL"))  # the project serving it
    photo_item_id = db.Column(db.Integer, db.ForeignKey("media_item.id", ondelete="SET NULL"))  # NEED_PHOTO
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    place = db.relationship(Place, foreign_keys=[place_id])
    recorder = db.relationship(Volunteer, foreign_keys=[recorded_by_id])
    photo = db.relationship(media.MediaItem)

    state_label = label_of("state", NEED_STATE_LABELS)

    @property
    def kind_label(self) -> str:
        return NEED_KINDS.get(self.kind or "", "未分类")


class Plan(db.Model):
    """活动菜单 / 活动计划 (中心制单, 图4-10): what a place offers residents to order."""

    __tablename__ = "practice_plan"
    __table_args__ = (
        db.CheckConstraint("planned_sessions BETWEEN 1 AND 1000", name="planned_sessions"),
        db.CheckConstraint("ordered_count >= 0 AND ordered_count <= planned_sessions", name="ordered_count"),
        db.Index("ix_practice_plan_place_id_valid_until", "place_id", "valid_until"),
    )

    id = db.Column(db.Integer, primary_key=True)
    place_id = db.Column(db.Integer, db.ForeignKey("practice_place.id"), nullable=False)
    name = db.Column(db.String(50), nullable=False)
    category = db.Column(db.String(20), nullable=False)
    planned_sessions = db.Column(db.Integer, nullable=False)  # 计划场数: one order takes one session
    ordered_count = db.Column(db.Integer, nullable=False, default=0)  # settled by conditional UPDATEs
    valid_from = db.Column(db.Date, nullable=False)
    valid_until = db.Column(db.Date, nullable=False)
    accepts_orders = db.Column(db.Boolean, nullable=False, default=True)
    audience = db.Column(db.String(100), nullable=False, default="")  # 服务对象
    organiser = db.Column(db.String(100), nullable=False, default="")  # 组织单位
    team = db.Column(db.String(100), nullable=False, default="")  # 实施团队
    activity_time = db.Column(db.String(100), nullable=False, default="")  # 活动时间
    location = db.Column(db.String(200), nullable=False, default="")  # 活动地点
    content = db.Column(db.Text, nullable=False, default="")  # 活动内容
    created_by_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="SET NULL"))
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    place = db.relationship(Place)

    @property
    def sessions_left(self) -> int:
        return self.planned_sessions - self.ordered_count


class Order(_Contact, db.Model):
    """群众点单: a resident's order of one session of a plan, and its way to a project and a rating."""

    __tablename__ = "practice_order"
    __table_args__ = (
        db.CheckConstraint("state IN ('pending', 'reported', 'dispatched', 'accepted', 'rating', 'rated')",
                           name="state"),
        db.CheckConstraint("stars IS NULL OR stars BETWEEN 1 AND 5", name="stars"),
        db.Index("ix_practice_order_place_id_state", "place_id", "state"),
        db.Index("ix_practice_order_account_openid", "account", "openid"),
    )

    id = db.Column(db.Integer, primary_key=True)
    plan_id = db.Column(db.Integer, db.ForeignKey("practice_plan.id"), nullable=False, index=True)
    place_id = db.Column(db.Integer, db.ForeignKey("practice_place.id"), nullable=False)  # who handles it now
    account = db.Column(db.String(64), nullable=False)
    openid = db.Column(db.String(64), nullable=False)
    name = db.Column(db.String(20), nullable=False)
    phone_encrypted = db.Column(db.Text, nullable=False)
    phone_masked = db.Column(db.String(20), nullable=False)
    wish = db.Column(db.Text, nullable=False)  # what they want
    state = db.Column(db.String(10), nullable=False, default=ORDER_PENDING)
    team_org_id = db.Column(db.Integer, db.ForeignKey("organization.id", ondelete="SET NULL"))  # 派单 to
    dispatch_note = db.Column(db.Text)
    dispatched_by_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="SET NULL"))
    dispatched_at = db.Column(db.DateTime)
    project_id = db.Column(db.Integer, db.ForeignKey("project.id", ondelete="SET NULL"))  # 接单: the project
    stars = db.Column(db.Integer)
    comment = db.Column(db.Text)
    rating_started_at = db.Column(db.DateTime)
    rated_at = db.Column(db.DateTime)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    plan = db.relationship(Plan)
    place = db.relationship(Place)
    team_org = db.relationship(Organization)

    state_label = label_of("state", ORDER_STATE_LABELS)


class Target(db.Model):
    """年度活动指标: the activities a place is to hold in one month (set by the city admins)."""

    __tablename__ = "practice_target"
    __table_args__ = (
        db.UniqueConstraint("place_id", "year", "month"),
        db.CheckConstraint("month BETWEEN 1 AND 12", name="month"),
        db.CheckConstraint("planned >= 0", name="planned"),
    )

    id = db.Column(db.Integer, primary_key=True)
    place_id = db.Column(db.Integer, db.ForeignKey("practice_place.id", ondelete="CASCADE"), nullable=False)
    year = db.Column(db.Integer, nullable=False)
    month = db.Column(db.Integer, nullable=False)
    planned = db.Column(db.Integer, nullable=False)


class PracticeLog(db.Model):
    """What happened to a need or an order, by whom: the submitter reads it as the state history."""

    __tablename__ = "practice_log"
    __table_args__ = (db.Index("ix_practice_log_subject_subject_id", "subject", "subject_id"),)

    id = db.Column(db.Integer, primary_key=True)
    subject = db.Column(db.String(10), nullable=False)  # "need" / "order"
    subject_id = db.Column(db.Integer, nullable=False)
    action = db.Column(db.String(20), nullable=False)
    place_id = db.Column(db.Integer, db.ForeignKey("practice_place.id", ondelete="SET NULL"))
    actor_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="SET NULL"))
    note = db.Column(db.Text, nullable=False, default="")
    at = db.Column(db.DateTime, nullable=False)

    place = db.relationship(Place)

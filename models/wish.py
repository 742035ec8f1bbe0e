"""微心愿: the wish tables (photos, the log), their states, who reviews a district, and plain reads.

Approval belongs to an admin of the org covering the wish's district (the active level-2 org of
that region, or an ancestor of it; the root when the district has no org of its own), checked by
``permissions.can(…, "review_wish", org)``.  The rules that move a wish stand above, in
``models.wish_rules``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from . import media, permissions, personal_data, regions
from .base import db, label_of, read_through, utcnow
from .media import MediaItem
from .organization import ACTIVE, Organization
from .volunteer import Volunteer

PENDING, REJECTED, OPEN, CLAIMED, COMPLETED, CONFIRMED, CLOSED = (
    "pending", "rejected", "open", "claimed", "completed", "confirmed", "closed")
STATES = (PENDING, REJECTED, OPEN, CLAIMED, COMPLETED, CONFIRMED, CLOSED)
STATE_LABELS = {PENDING: "待审核", REJECTED: "未通过", OPEN: "待认领", CLAIMED: "已认领", COMPLETED: "待确认",
                CONFIRMED: "已完成", CLOSED: "已完成"}
#: States anyone may see in the published list (pending and rejected stay with publisher and admins).
PUBLIC_STATES = (OPEN, CLAIMED, COMPLETED, CONFIRMED, CLOSED)
DONE_STATES = (COMPLETED, CONFIRMED, CLOSED)

GENDERS = {"M": "男", "F": "女"}
CONFIRM_WITHIN = timedelta(days=14)  # a completed wish the publisher does not confirm is closed after this
MAX_PENDING_PER_PUBLISHER = 3  # wishes waiting for review at once, per WeChat user
MAX_PHOTOS = 9  # chooseImage gives at most nine

LIMITS = {"name": (1, 20), "address": (2, 200), "situation": (2, 500), "content": (2, 300), "plan": (2, 500),
          "reason": (2, 200), "note": (2, 500)}
LABELS = {"name": "姓名", "district": "地区", "street": "街道", "age": "年龄", "gender": "性别", "phone": "电话",
          "address": "详细地址", "situation": "情况描述", "content": "心愿描述", "plan": "认领方案",
          "reason": "原因", "note": "完成情况"}

PHOTO = media.purpose("wish_photo")  # the completion photos (JS-SDK wx.uploadImage)


class Wish(db.Model):
    """微心愿: one wish, its publisher, its review, its claimer and its completion."""

    __tablename__ = "wish"
    __table_args__ = (
        db.CheckConstraint("state IN ('pending', 'rejected', 'open', 'claimed', 'completed', 'confirmed', "
                           "'closed')", name="state"),
        db.CheckConstraint("age BETWEEN 0 AND 120", name="age"),
        db.Index("ix_wish_state_created_at", "state", "created_at"),
        db.Index("ix_wish_account_openid", "account", "openid"),
        db.Index("ix_wish_district_state", "district", "state"),
    )

    id = db.Column(db.Integer, primary_key=True)
    account = db.Column(db.String(64), nullable=False)  # the publisher, as OAuth saw them
    openid = db.Column(db.String(64), nullable=False)
    name = db.Column(db.String(20), nullable=False)
    district = db.Column(db.String(30), nullable=False)
    street = db.Column(db.String(30), nullable=False, default="")
    age = db.Column(db.Integer, nullable=False)
    gender = db.Column(db.String(1), nullable=False)
    phone_encrypted = db.Column(db.Text, nullable=False)
    phone_masked = db.Column(db.String(20), nullable=False)
    address_encrypted = db.Column(db.Text, nullable=False)
    situation = db.Column(db.Text, nullable=False)
    content = db.Column(db.Text, nullable=False)
    state = db.Column(db.String(10), nullable=False, default=PENDING)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    reviewed_by_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="SET NULL"))
    reviewed_org_id = db.Column(db.Integer, db.ForeignKey("organization.id", ondelete="SET NULL"))
    reviewed_at = db.Column(db.DateTime)
    reject_reason = db.Column(db.String(200))
    claimer_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="SET NULL"), index=True)
    claim_plan = db.Column(db.Text)
    claimed_at = db.Column(db.DateTime)
    completion_note = db.Column(db.Text)
    completed_at = db.Column(db.DateTime)
    confirmed_at = db.Column(db.DateTime)
    closed_at = db.Column(db.DateTime)

    claimer = db.relationship(Volunteer, foreign_keys=[claimer_id])
    reviewer = db.relationship(Volunteer, foreign_keys=[reviewed_by_id])
    photos = db.relationship("WishPhoto", order_by="WishPhoto.id", cascade="all, delete-orphan",
                             back_populates="wish")

    # -- personal data -----------------------------------------------------------------------
    phone = personal_data.unsealed("phone")
    address = personal_data.unsealed("address")

    def set_phone(self, phone: str) -> None:
        self.phone_encrypted = personal_data.encrypt(phone)
        self.phone_masked = personal_data.mask_phone(phone)

    def set_address(self, address: str) -> None:
        self.address_encrypted = personal_data.encrypt(address)

    @property
    def masked_name(self) -> str:
        return personal_data.mask_name(self.name)

    # -- display -------------------------------------------------------------------------------
    @property
    def title(self) -> str:
        """心愿名称 in messages: the wish text's first 20 characters."""
        text = " ".join(self.content.split())
        return text if len(text) <= 20 else text[:19] + "…"

    @property
    def region_label(self) -> str:
        return regions.label(self.district, self.street)

    state_label = label_of("state", STATE_LABELS)

    @property
    def gender_label(self) -> str:
        return GENDERS.get(self.gender, "")

    def confirm_deadline(self) -> datetime | None:
        return self.completed_at + CONFIRM_WITHIN if self.completed_at else None

    # -- who is who ------------------------------------------------------------------------------
    def is_publisher(self, account: str | None, openid: str | None) -> bool:
        return bool(openid) and self.account == account and self.openid == openid

    def is_claimer(self, volunteer) -> bool:
        return volunteer is not None and self.claimer_id == volunteer.id and self.state in (CLAIMED, *DONE_STATES)


class WishPhoto(db.Model):
    """A photo of a completed wish: its media item (``models.media``, purpose ``wish_photo``)."""

    __tablename__ = "wish_photo"
    __table_args__ = (db.UniqueConstraint("wish_id", "media_item_id"),)

    id = db.Column(db.Integer, primary_key=True)
    wish_id = db.Column(db.Integer, db.ForeignKey("wish.id", ondelete="CASCADE"), nullable=False, index=True)
    media_item_id = db.Column(db.Integer, db.ForeignKey("media_item.id", ondelete="RESTRICT"), nullable=False,
                              index=True)

    wish = db.relationship(Wish, back_populates="photos")
    item = db.relationship(MediaItem, lazy="joined")

    # read from its media item (templates, tests)
    state = read_through("item", "state")
    media_id = read_through("item", "media_id")
    path = read_through("item", "path")
    attempts = read_through("item", "tries")


class WishLog(db.Model):
    """What happened to a wish, by whom (admins read it on the review page)."""

    __tablename__ = "wish_log"

    id = db.Column(db.Integer, primary_key=True)
    wish_id = db.Column(db.Integer, db.ForeignKey("wish.id", ondelete="CASCADE"), nullable=False, index=True)
    action = db.Column(db.String(20), nullable=False)
    actor_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="SET NULL"))
    note = db.Column(db.Text, nullable=False, default="")
    at = db.Column(db.DateTime, nullable=False)

    actor = db.relationship(Volunteer)



# --------------------------------------------------------------------------------- review
def covering_orgs(district: str) -> list:
    """The orgs whose admins review wishes of ``district``: its active level-2 orgs, else the root."""
    orgs = (Organization.query.filter(Organization.status == ACTIVE, Organization.level == 2,
                                      Organization.region == district).order_by(Organization.id).all())
    if not orgs:
        orgs = (Organization.query.filter(Organization.status == ACTIVE, Organization.level == 1)
                .order_by(Organization.id).all())
    return orgs


def reviewing_org(volunteer, district: str, *, now=None):
    """The covering org of ``district`` this volunteer may review for (theirs or below theirs), or None."""
    for org in covering_orgs(district):
        if permissions.can(volunteer, "review_wish", org, now=now):
            return org
    return None


def can_review(volunteer, wish: Wish, *, now=None) -> bool:
    return reviewing_org(volunteer, wish.district, now=now) is not None


def reviewable_districts(volunteer, *, now=None) -> list[str]:
    return [d for d in regions.DISTRICTS if reviewing_org(volunteer, d, now=now) is not None]



# ---------------------------------------------------------------------------------- queries
def published(*, district: str | None = None, state: str | None = None, page: int = 1, per_page: int = 15):
    """微心愿 list (图3-16): published wishes, newest first; ``state`` one of PUBLIC_STATES or "done"."""
    query = select(Wish).where(Wish.state.in_(PUBLIC_STATES))
    if district:
        query = query.where(Wish.district == district)
    if state == "done":
        query = query.where(Wish.state.in_(DONE_STATES))
    elif state in PUBLIC_STATES:
        query = query.where(Wish.state == state)
    query = query.order_by(Wish.created_at.desc(), Wish.id.desc())
    return db.paginate(query, page=max(int(page or 1), 1), per_page=per_page, error_out=False)


def of_publisher(account: str, openid: str) -> list[Wish]:
    """我的心愿: a WeChat user's wishes, newest first."""
    return (Wish.query.filter_by(account=account, openid=openid)
            .order_by(Wish.created_at.desc(), Wish.id.desc()).all())


def claimed_by(volunteer_id: int) -> list[Wish]:
    """已认领的心愿: wishes this volunteer holds or has fulfilled, unfinished first."""
    wishes = (Wish.query.filter(Wish.claimer_id == volunteer_id, Wish.state.in_((CLAIMED, *DONE_STATES)))
              .order_by(Wish.claimed_at.desc(), Wish.id.desc()).all())
    return sorted(wishes, key=lambda w: w.state != CLAIMED)


def for_review(volunteer, *, state: str = PENDING, now=None) -> list[Wish]:
    """Wishes of the districts this admin reviews, in ``state`` (oldest pending first)."""
    districts = reviewable_districts(volunteer, now=now)
    if not districts:
        return []
    query = Wish.query.filter(Wish.district.in_(districts))
    if state == "done":
        query = query.filter(Wish.state.in_(DONE_STATES))
    elif state in STATES:
        query = query.filter(Wish.state == state)
    order = Wish.created_at.asc() if state == PENDING else Wish.created_at.desc()
    return query.order_by(order, Wish.id).limit(200).all()


def history(wish_id: int) -> list[WishLog]:
    return WishLog.query.filter_by(wish_id=wish_id).order_by(WishLog.at, WishLog.id).all()


def may_view(wish: Wish, account: str | None, openid: str | None, volunteer, *, now=None) -> bool:
    """Published wishes are public; pending and rejected ones only to the publisher and reviewers."""
    if wish.state in PUBLIC_STATES or wish.is_publisher(account, openid):
        return True
    return volunteer is not None and can_review(volunteer, wish, now=now)


def sees_contact(wish: Wish, account: str | None, openid: str | None, volunteer) -> bool:
    """The whole phone and address: the publisher, and the volunteer who claimed it."""
    return wish.is_publisher(account, openid) or wish.is_claimer(volunteer)


def may_see_photos(wish: Wish, account, openid, volunteer, *, now=None) -> bool:
    return sees_contact(wish, account, openid, volunteer) or (
        volunteer is not None and can_review(volunteer, wish, now=now))


"""礼遇坊: gifts and services offered for points, their redemption, pickup codes and hand-over.

An org's admin offers a gift (name, picture, cost in points, stock, valid dates, where to collect).
A volunteer redeems it with points; the stock and the balance are decided by the database in one
transaction: a conditional ``UPDATE gift SET stock = stock - 1 WHERE stock > 0`` whose row count
says whether one was left, then the ledger debit under the volunteer's row lock
(``models.points.redeem``), which refuses a balance that would go below zero and so takes the stock
back with it.  100 redemptions of the last 5 at once give exactly 5.

Each redemption gets a pickup code: a random token for its QR code and a short number to type.
The offering org's admins (and those above) hand it over once — scanned in chat (签到扫码) or typed —
by a conditional ``UPDATE … WHERE state = 'reserved'``.  Cancelling an unclaimed one returns its
points and its stock.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import update

from . import permissions
from . import points as ledger
from .attendance.tables import TWO
from .base import RuleViolation, db, insert_unique, label_of, won
from .integrity import codes
from .organization import ACTIVE, Organization, admin_org_of
from .project import DEFAULT_TZ, local_now
from .volunteer import Volunteer

OFFERED, WITHDRAWN = "offered", "withdrawn"
RESERVED, HANDED, CANCELLED = "reserved", "handed", "cancelled"
STATE_LABELS = {RESERVED: "待领取", HANDED: "已领取", CANCELLED: "已取消"}
QR_PREFIX = "JHZY-P1:"
CODE_DIGITS = 8
#: wrong pickup numbers one admin may type in a day (see ``find_by_code``)
WRONG_CODES_PER_DAY = 20
WRONG_CODES_TTL = 24 * 3600
LIMITS = {"name": 40, "place": 100, "description": 500}


class Gift(db.Model):
    """礼遇: a gift or service one org offers for points."""

    __tablename__ = "gift"
    __table_args__ = (
        db.CheckConstraint("stock >= 0", name="stock_not_negative"),
        db.Index("ix_gift_state_valid_until", "state", "valid_until"),
    )

    id = db.Column(db.Integer, primary_key=True)
    org_id = db.Column(db.Integer, db.ForeignKey("organization.id", ondelete="CASCADE"), nullable=False)
    name = db.Column(db.String(40), nullable=False)
    description = db.Column(db.String(500), nullable=False, default="")
    picture = db.Column(db.String(200))  # its path in the media store (jobs.storage)
    cost = db.Column(db.Numeric(8, 2), nullable=False)
    stock = db.Column(db.Integer, nullable=False)
    valid_from = db.Column(db.Date, nullable=False)
    valid_until = db.Column(db.Date, nullable=False)
    place = db.Column(db.String(100), nullable=False)  # 领取地点
    state = db.Column(db.String(10), nullable=False, default=OFFERED)
    created_by_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="SET NULL"))
    created_at = db.Column(db.DateTime, nullable=False)

    org = db.relationship(Organization)

    def available(self, now: datetime, tz: str = DEFAULT_TZ) -> bool:
        today = local_now(now, tz).date()
        return self.state == OFFERED and self.valid_from <= today <= self.valid_until and self.stock > 0


class Redemption(db.Model):
    """我的兑换: one gift redeemed by one volunteer, its pickup code and whether it was handed over."""

    __tablename__ = "gift_redemption"
    __table_args__ = (
        db.UniqueConstraint("code"),
        db.UniqueConstraint("token"),
        db.Index("ix_gift_redemption_volunteer_id_created_at", "volunteer_id", "created_at"),
    )

    id = db.Column(db.Integer, primary_key=True)
    gift_id = db.Column(db.Integer, db.ForeignKey("gift.id", ondelete="CASCADE"), nullable=False)
    volunteer_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="CASCADE"), nullable=False)
    cost = db.Column(db.Numeric(8, 2), nullable=False)
    code = db.Column(db.String(CODE_DIGITS), nullable=False)  # the short number, typed by the admin
    token = db.Column(db.String(40), nullable=False)  # the QR code's payload after QR_PREFIX
    state = db.Column(db.String(10), nullable=False, default=RESERVED)
    created_at = db.Column(db.DateTime, nullable=False)
    handed_at = db.Column(db.DateTime)
    handed_by_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="SET NULL"))
    cancelled_at = db.Column(db.DateTime)

    gift = db.relationship(Gift)
    volunteer = db.relationship(Volunteer, foreign_keys=[volunteer_id])

    state_label = label_of("state", STATE_LABELS)

    @property
    def qr_payload(self) -> str:
        return QR_PREFIX + self.token


# ---------------------------------------------------------------------------------- reading
def offered_gifts(*, now: datetime, tz: str = DEFAULT_TZ, page: int = 1, per_page: int = 20) -> list[Gift]:
    """礼遇坊: gifts offered today by active orgs, newest first (those out of stock shown too)."""
    today = local_now(now, tz).date()
    return (Gift.query.join(Organization, Organization.id == Gift.org_id)
            .filter(Gift.state == OFFERED, Gift.valid_from <= today, Gift.valid_until >= today,
                    Organization.status == ACTIVE)
            .order_by(Gift.created_at.desc(), Gift.id.desc()).offset((page - 1) * per_page).limit(per_page).all())


def get_gift(gift_id: int) -> Gift:
    gift = db.session.get(Gift, gift_id)
    if gift is None:
        raise RuleViolation("gift_not_found", "该礼遇不存在。", 404)
    return gift


def redemptions_of(volunteer_id: int, limit: int = 100) -> list[Redemption]:
    return (Redemption.query.filter_by(volunteer_id=volunteer_id)
            .order_by(Redemption.created_at.desc(), Redemption.id.desc()).limit(limit).all())


def redemption_of(volunteer_id: int, redemption_id: int) -> Redemption:
    found = db.session.get(Redemption, redemption_id)
    if found is None or found.volunteer_id != volunteer_id:
        raise RuleViolation("redemption_not_found", "没有找到这条兑换记录。", 404)
    return found


def gifts_of_org(org_id: int) -> list[Gift]:
    return Gift.query.filter_by(org_id=org_id).order_by(Gift.created_at.desc(), Gift.id.desc()).all()


# ---------------------------------------------------------------------------------- offering
def _text(values: dict, key: str, label: str, required: bool = True) -> str:
    text = " ".join(str(values.get(key) or "").split()) if key != "description" else str(values.get(key) or "").strip()
    if required and not text:
        raise RuleViolation(f"gift_{key}_missing", f"请填写{label}。")
    if len(text) > LIMITS[key]:
        raise RuleViolation(f"gift_{key}_too_long", f"{label}不能超过{LIMITS[key]}个字。")
    return text


def offer_gift(actor: Volunteer, values: dict, *, now: datetime, tz: str = DEFAULT_TZ) -> Gift:
    """新增礼遇: an admin of an active org offers a gift for points.

    ``values``: name, description, cost (points, > 0), stock (≥ 1), valid_from, valid_until (dates),
    place, picture (a stored image's name, optional).
    """
    org = admin_org_of(actor.id)
    if org is None or org.status != ACTIVE or not permissions.can(actor, "manage_gifts", org, now=now):
        raise RuleViolation("forbidden", "只有已审核组织的管理员可以发布礼遇。", 403)
    name = _text(values, "name", "礼遇名称")
    place = _text(values, "place", "领取地点")
    description = _text(values, "description", "说明", required=False)
    cost = Decimal(str(values.get("cost") or 0)).quantize(TWO)
    if cost <= 0 or cost > Decimal("100000"):
        raise RuleViolation("gift_cost_invalid", "所需积分应在1至100000之间。")
    stock = int(values.get("stock") or 0)
    if not 1 <= stock <= 100000:
        raise RuleViolation("gift_stock_invalid", "库存数量应在1至100000之间。")
    valid_from, valid_until = values.get("valid_from"), values.get("valid_until")
    if not isinstance(valid_from, date) or not isinstance(valid_until, date):
        raise RuleViolation("gift_dates_missing", "请填写有效期。")
    if valid_until < valid_from:
        raise RuleViolation("gift_dates_order", "有效期结束日期不能早于开始日期。")
    if valid_until < local_now(now, tz).date():
        raise RuleViolation("gift_dates_past", "有效期已过，请重新填写。")
    gift = Gift(org_id=org.id, name=name, description=description, picture=values.get("picture") or None,
                cost=cost, stock=stock, valid_from=valid_from, valid_until=valid_until, place=place,
                state=OFFERED, created_by_id=actor.id, created_at=now)
    db.session.add(gift)
    db.session.flush()
    return gift


def require_gift_admin(actor: Volunteer, gift: Gift, *, now: datetime) -> None:
    """The offering org's admins and those of orgs above it manage the gift and hand it over."""
    if not permissions.can(actor, "manage_gifts", gift.org, now=now):
        raise RuleViolation("forbidden", "只有提供该礼遇的组织（及上级组织）的管理员可以操作。", 403)


def withdraw_gift(actor: Volunteer, gift_id: int, *, now: datetime) -> Gift:
    """下架: no more redemptions; those already made can still be collected or cancelled."""
    gift = get_gift(gift_id)
    require_gift_admin(actor, gift, now=now)
    if not won(update(Gift).where(Gift.id == gift.id, Gift.state == OFFERED).values(state=WITHDRAWN)):
        raise RuleViolation("gift_withdrawn", "该礼遇已下架。", 409)
    db.session.expire(gift)
    return gift


# ---------------------------------------------------------------------------------- redeeming
def _new_code() -> str:
    return f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"


def redeem(volunteer: Volunteer, gift_id: int, *, now: datetime, tz: str = DEFAULT_TZ) -> Redemption:
    """立即兑换: one of the stock for ``cost`` points, both or neither (see the module docstring).

    Lock order is the gift's row, then the volunteer's (cancelling takes them in the same order).
    """
    gift = get_gift(gift_id)
    today = local_now(now, tz).date()
    if gift.state != OFFERED or gift.org.status != ACTIVE:
        raise RuleViolation("gift_withdrawn", "该礼遇已下架。", 409)
    if not gift.valid_from <= today <= gift.valid_until:
        raise RuleViolation("gift_not_valid", f"该礼遇的兑换期为{gift.valid_from}至{gift.valid_until}。", 409)
    with db.session.begin_nested():
        if not won(update(Gift).where(Gift.id == gift.id, Gift.state == OFFERED, Gift.stock > 0)
                   .values(stock=Gift.stock - 1)):
            raise RuleViolation("gift_out_of_stock", "该礼遇已兑完。", 409)
        ledger.redeem(volunteer.id, gift.cost, f"兑换：{gift.name}", now=now)
        for _attempt in range(5):
            redemption = Redemption(gift_id=gift.id, volunteer_id=volunteer.id, cost=gift.cost, code=_new_code(),
                                    token=secrets.token_urlsafe(18), state=RESERVED, created_at=now)
            if insert_unique(redemption):
                break
        else:  # pragma: no cover - five random 8-digit codes all taken
            raise RuleViolation("code_busy", "系统繁忙，请稍后再试。", 503)
    db.session.expire(gift)
    return redemption


def cancel_redemption(volunteer: Volunteer, redemption_id: int, *, now: datetime) -> Redemption:
    """取消兑换: only while unclaimed; the stock and the points come back."""
    redemption = redemption_of(volunteer.id, redemption_id)
    with db.session.begin_nested():
        if not won(update(Redemption).where(Redemption.id == redemption.id, Redemption.state == RESERVED)
                   .values(state=CANCELLED, cancelled_at=now)):
            raise RuleViolation("redemption_closed", "该兑换已领取或已取消，不能再取消。", 409)
        db.session.execute(update(Gift).where(Gift.id == redemption.gift_id).values(stock=Gift.stock + 1)
                           .execution_options(synchronize_session=False))
        ledger.refund(volunteer.id, redemption.cost, f"取消兑换：{redemption.gift.name}", now=now)
    db.session.expire(redemption)
    return redemption


# ---------------------------------------------------------------------------------- handing over
def find_by_scan(scanned: str) -> Redemption | None:
    """The redemption a scanned pickup QR code names, or None for anything else."""
    token = codes.static_token(scanned, QR_PREFIX, 40)
    return None if token is None else Redemption.query.filter_by(token=token).one_or_none()


def is_pickup_code(scanned: str) -> bool:
    return (scanned or "").strip().startswith(QR_PREFIX)


def find_by_code(actor: Volunteer, code: str, *, store, now: datetime) -> Redemption:
    """The redemption a typed short number names (blanks ignored), if ``actor`` may hand it over.

    Typing numbers is the one way to reach a redemption without its QR code, so wrong numbers are
    rationed per admin and day (``WRONG_CODES_PER_DAY``): a try is spent before the number is looked
    up, so numbers typed in parallel cannot all pass a count read earlier, and given back when the
    number was right.  Trying a day's budget of the 10⁸ numbers finds nothing worth the effort.
    """
    code = "".join((code or "").split())
    if not (code.isascii() and code.isdigit() and len(code) == CODE_DIGITS):
        raise RuleViolation("code_invalid", f"请输入{CODE_DIGITS}位数字的兑换码。")
    budget = f"pickup_wrong:{actor.id}"
    if store.incr(budget, WRONG_CODES_TTL) > WRONG_CODES_PER_DAY:
        raise RuleViolation("code_tries_used_up", "今天输错的兑换码太多，请改用扫码核销，或明天再输入。", 429)
    found = Redemption.query.filter_by(code=code).one_or_none()
    if found is None:
        raise RuleViolation("code_unknown", "没有这个兑换码，请核对后重新输入。", 404)
    require_gift_admin(actor, found.gift, now=now)
    store.incr(budget, WRONG_CODES_TTL, -1)
    return found


def hand_over(actor: Volunteer, redemption_id: int, *, proof: str, now: datetime) -> Redemption:
    """确认领取: the offering org's admin hands the gift over, once, on the volunteer's proof — the number they
    show or the token of their QR code — so that a row id alone hands nothing over."""
    redemption = db.session.get(Redemption, redemption_id)
    proof = "".join((proof or "").split())
    if redemption is None or not any(hmac.compare_digest(proof.encode(), secret.encode())
                                     for secret in (redemption.code, redemption.token)):
        raise RuleViolation("redemption_not_found", "没有找到这条兑换记录，请重新输入兑换码或扫码。", 404)
    require_gift_admin(actor, redemption.gift, now=now)
    if not won(update(Redemption).where(Redemption.id == redemption.id, Redemption.state == RESERVED)
               .values(state=HANDED, handed_at=now, handed_by_id=actor.id)):
        db.session.expire(redemption)
        if redemption.state == HANDED:
            raise RuleViolation("already_handed", "该兑换已领取过，不能重复领取。", 409)
        raise RuleViolation("redemption_cancelled", "该兑换已取消。", 409)
    db.session.expire(redemption)
    return redemption

"""积分: the points ledger — earn (双签 hours, approved 补签 hours, the first login of a day), reverse,
redeem (礼遇坊) and refund, expire, balance.

Points are a ledger of rows: credits for 双签 hours, for approved 补签 hours and for the first login of
a day, reversing rows when a cycle is cancelled, debits for redemptions, refunds when an unclaimed
redemption is cancelled, and the yearly expiry (when configured) — never an adjusted counter.  The
reason of each row tells them apart.  Manual part 3 §三.9.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select

from .attendance.tables import TWO, Cycle
from .base import RuleViolation, db, insert_of
from .project import DEFAULT_TZ, local_now, to_utc
from .volunteer import Volunteer

R_LOGIN, R_SERVICE, R_REVERSAL, R_REDEEM = "daily_login", "service", "reversal", "redeem"
R_MAKEUP, R_REFUND, R_EXPIRY = "makeup_service", "redeem_refund", "expiry"
POINT_REASONS = {R_LOGIN: "每天登录积分", R_SERVICE: "参与活动积分（双签）", R_MAKEUP: "补签时长积分",
                 R_REVERSAL: "时长取消扣回积分", R_REDEEM: "积分兑换", R_REFUND: "取消兑换退回",
                 R_EXPIRY: "积分年度过期"}
#: Rows that are not earnings: 累计积分 leaves them out (a refund only undoes a redemption).
NOT_EARNED = (R_REDEEM, R_REFUND, R_EXPIRY)
CREDITS = (R_LOGIN, R_SERVICE, R_MAKEUP)


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
    day = db.Column(db.Date)  # daily login: the day; expiry: the cut-off date
    cycle_id = db.Column(db.Integer, db.ForeignKey("attendance_cycle.id", ondelete="SET NULL"))
    note = db.Column(db.String(200), nullable=False, default="")
    created_at = db.Column(db.DateTime, nullable=False)

    @property
    def reason_label(self) -> str:
        return POINT_REASONS.get(self.reason, self.reason)



# ---------------------------------------------------------------------------------- points
def _insert_ignoring(row: dict, conflict: list[str]) -> bool:
    t = PointEntry.__table__
    result = db.session.execute(insert_of(PointEntry).values(**row).on_conflict_do_nothing(
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
                              .where(PointEntry.volunteer_id == volunteer_id, PointEntry.reason.not_in(NOT_EARNED)))
    return Decimal(str(total)).quantize(TWO)


def ledger(volunteer_id: int, limit: int = 200) -> list[PointEntry]:
    return (PointEntry.query.filter_by(volunteer_id=volunteer_id)
            .order_by(PointEntry.created_at.desc(), PointEntry.id.desc()).limit(limit).all())


def _lock_volunteer(volunteer_id: int) -> None:
    """Serialise ledger debits of one volunteer (PostgreSQL row lock; SQLite serialises writers)."""
    db.session.execute(select(Volunteer.id).where(Volunteer.id == volunteer_id).with_for_update())


def redeem(volunteer_id: int, amount, note: str, *, now: datetime) -> PointEntry:
    """积分兑换 (礼遇坊): a debit row, refused when the balance would go below zero.

    The volunteer's row is locked first, so two redemptions of one volunteer at once are decided one
    after the other on a balance that counts the first (PostgreSQL reads committed rows per statement).
    """
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


def reverse_points(cycle: Cycle, now: datetime) -> Decimal:
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


def refund(volunteer_id: int, amount, note: str, *, now: datetime) -> PointEntry:
    """取消兑换退回: the points of a cancelled, unclaimed redemption come back as a credit row."""
    entry = PointEntry(volunteer_id=volunteer_id, amount=Decimal(str(amount)).quantize(TWO), reason=R_REFUND,
                       note=(note or "")[:200], created_at=now)
    db.session.add(entry)
    db.session.flush()
    return entry


# ---------------------------------------------------------------------------------- yearly expiry
def expiry_cutoff(now: datetime, years: int, tz: str = DEFAULT_TZ) -> date | None:
    """积分年度过期: with ``years`` = N, points earned in year Y stay usable to the end of year Y+N.

    So on any day of year T, points earned before 1 January of T−N have lapsed: that date is the
    cut-off.  ``years`` = 0 turns expiry off (None).
    """
    if years <= 0:
        return None
    return date(local_now(now, tz).year - years, 1, 1)


def expire_points(volunteer_id: int, cutoff: date, *, now: datetime, tz: str = DEFAULT_TZ) -> Decimal:
    """Write the expiry row of one volunteer for ``cutoff`` (once: the unique (volunteer, day, reason)).

    What lapses is what is left of the credits earned before the cut-off once every debit is taken
    from the oldest credits first: ``max(0, old credits − all debits net of refunds)``, never more
    than the balance.  Returns the amount expired (0 when nothing lapsed or it was already written).
    """
    _lock_volunteer(volunteer_id)
    start = to_utc(cutoff, datetime.min.time(), tz)
    old = db.session.scalar(select(db.func.coalesce(db.func.sum(PointEntry.amount), 0)).where(
        PointEntry.volunteer_id == volunteer_id, PointEntry.reason.in_(CREDITS), PointEntry.created_at < start))
    spent = db.session.scalar(select(db.func.coalesce(db.func.sum(PointEntry.amount), 0)).where(
        PointEntry.volunteer_id == volunteer_id, PointEntry.reason.not_in(CREDITS)))
    lapsed = min(Decimal(str(old)) + Decimal(str(spent)), balance(volunteer_id)).quantize(TWO)
    if lapsed <= 0:
        return Decimal(0)
    written = _insert_ignoring({"volunteer_id": volunteer_id, "amount": -lapsed, "reason": R_EXPIRY, "day": cutoff,
                                "note": f"{cutoff.year - 1}年及以前获得的积分", "created_at": now},
                               ["volunteer_id", "day", "reason"])
    return lapsed if written else Decimal(0)


def volunteers_with_old_points(cutoff: date, tz: str = DEFAULT_TZ) -> list[int]:
    """Who earned points before the cut-off and has no expiry row for it yet (the job's work list)."""
    start = to_utc(cutoff, datetime.min.time(), tz)
    done = select(PointEntry.volunteer_id).where(PointEntry.reason == R_EXPIRY, PointEntry.day == cutoff)
    return list(db.session.scalars(select(PointEntry.volunteer_id).where(
        PointEntry.reason.in_(CREDITS), PointEntry.created_at < start, PointEntry.volunteer_id.not_in(done))
        .distinct().order_by(PointEntry.volunteer_id)))

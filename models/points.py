"""积分: the points ledger — earn (双签 hours, the first login of a day), reverse, redeem (礼遇坊), balance.

Points are a ledger of rows: credits for 双签 hours and for the first login of a day, and reversing
rows when a cycle is cancelled — never an adjusted counter.  Manual part 3 §三.9.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from .attendance.tables import TWO, Cycle
from .base import RuleViolation, db
from .project import DEFAULT_TZ, local_now
from .volunteer import Volunteer

R_LOGIN, R_SERVICE, R_REVERSAL, R_REDEEM = "daily_login", "service", "reversal", "redeem"
POINT_REASONS = {R_LOGIN: "每天登录积分", R_SERVICE: "参与活动积分", R_REVERSAL: "时长取消扣回积分",
                 R_REDEEM: "积分兑换"}


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



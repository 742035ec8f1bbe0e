"""Service hours: one cycle's hours by a configurable rounding rule, and the read-models over cycles.

The read-models (我的服务记录, 时长清单, totals by volunteer) count cycles 公示中 or 已确认.

The default, ``ceil_half_hour``, reproduces the 时长公示 table of the manual (图2-12):
14:41–15:16 (35 min) → 1.00, 14:39–15:11 → 1.00, 14:30–15:13 → 1.00, 13:11–14:27 (76 min) → 1.50.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select

from .attendance.tables import COUNTED, TWO, Cycle
from .base import db
from .project import DEFAULT_TZ, local_now
from .volunteer import Volunteer


def _minutes(sign_in: datetime, sign_out: datetime) -> float:
    return max((sign_out - sign_in).total_seconds() / 60.0, 0.0)


def ceil_half_hour(minutes: float) -> Decimal:
    return Decimal(math.ceil(minutes / 30.0)) / 2


def floor_half_hour(minutes: float) -> Decimal:
    return Decimal(math.floor(minutes / 30.0)) / 2


def nearest_quarter(minutes: float) -> Decimal:
    return (Decimal(str(minutes)) / 15).quantize(Decimal(1), rounding=ROUND_HALF_UP) / 4


def exact(minutes: float) -> Decimal:
    return (Decimal(str(minutes)) / 60).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


RULES = {"ceil_half_hour": ceil_half_hour, "floor_half_hour": floor_half_hour,
         "nearest_quarter": nearest_quarter, "exact": exact}
DEFAULT_RULE = "ceil_half_hour"


def cycle_hours(sign_in: datetime, sign_out: datetime, rule: str = DEFAULT_RULE) -> Decimal:
    """Hours credited for one cycle, two decimals."""
    return RULES[rule](_minutes(sign_in, sign_out)).quantize(Decimal("0.01"))


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



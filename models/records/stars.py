"""星级: levels of confirmed service hours (一星 100 h … 五星 1,500 h by default, ``[records] star_hours``).

Only confirmed hours count (已确认: past the 7-day publicity without an upheld objection), so a level once reached
is not taken back by an objection.  Reaching a level is a ``StarLevel`` row, unique per volunteer and level: the
message goes out once however often the check runs.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from ..attendance.tables import CONFIRMED, TWO, Cycle
from ..base import db, insert_unique
from ..notification import notify
from .tables import StarLevel

DEFAULT_THRESHOLDS = (100, 300, 600, 1000, 1500)
LEVEL_NAMES = ("一星", "二星", "三星", "四星", "五星")


def thresholds_from(values) -> tuple[Decimal, ...]:
    """Check ``[records] star_hours``: one to five positive hours, rising."""
    try:
        hours = tuple(Decimal(str(v)) for v in values)
    except (ArithmeticError, TypeError, ValueError) as exc:
        raise ValueError("star_hours must be numbers of hours") from exc
    if not 1 <= len(hours) <= len(LEVEL_NAMES) or any(h <= 0 for h in hours) or list(hours) != sorted(set(hours)):
        raise ValueError("star_hours must be one to five positive hours, rising")
    return hours


def level_for(hours: Decimal, thresholds) -> int:
    """0 (no star) to len(thresholds)."""
    return sum(1 for t in thresholds if hours >= t)


def level_name(level: int) -> str:
    return f"{LEVEL_NAMES[level - 1]}志愿者" if level else ""


def confirmed_hours(volunteer_id: int) -> Decimal:
    total = db.session.scalar(select(db.func.coalesce(db.func.sum(Cycle.hours), 0))
                              .where(Cycle.volunteer_id == volunteer_id, Cycle.state == CONFIRMED))
    return Decimal(str(total)).quantize(TWO)


def standing(volunteer_id: int, thresholds) -> dict:
    """For the personal center: the confirmed hours, the level, and what the next level needs."""
    hours = confirmed_hours(volunteer_id)
    level = level_for(hours, thresholds)
    out = {"hours": hours, "level": level, "name": level_name(level), "next": None, "to_next": None}
    if level < len(thresholds):
        out["next"] = level_name(level + 1)
        out["to_next"] = (Decimal(str(thresholds[level])) - hours).quantize(TWO)
    return out


def award_levels(volunteer_id: int, thresholds, *, now: datetime) -> list[int]:
    """Record each level the confirmed hours reach that is not recorded yet; one message, for the highest level,
    from the caller that recorded it."""
    hours = confirmed_hours(volunteer_id)
    top = level_for(hours, thresholds)
    new = [level for level in range(1, top + 1)
           if insert_unique(StarLevel(volunteer_id=volunteer_id, level=level, hours=hours, reached_at=now))]
    if top in new:  # whoever wrote the top level's row tells (concurrent checks may split the lower rows)
        notify(volunteer_id, "star_level_reached", {"level": level_name(top), "hours": str(hours)}, link="/m/me",
               cause=f"star_level:{top}", key=f"star_level:{volunteer_id}:{top}")
    return new


def volunteers_confirmed_since(since: datetime) -> list[int]:
    """Volunteers with a cycle confirmed at or after ``since``: whose level may have changed."""
    return list(db.session.scalars(select(Cycle.volunteer_id).where(Cycle.state == CONFIRMED,
                                                                    Cycle.confirmed_at >= since).distinct()))


#: How far back the periodic check looks (it runs every few minutes; a day covers a stopped scheduler).
CHECK_WINDOW = timedelta(days=1)

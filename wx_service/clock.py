"""The clock of the HTTP faces: UTC for storage, the configured zone for days and windows."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import current_app

from models import utcnow


def zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["WX_SETTINGS"].app["timezone"])


def now() -> datetime:
    return utcnow()


def today() -> date:
    return datetime.now(UTC).astimezone(zone()).date()


def local(moment: datetime | None) -> datetime | None:
    """A stored (naive UTC) time in the configured zone, for display."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC).astimezone(zone())


def local_text(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored (naive UTC) time as text in the configured zone; empty for None."""
    return local(moment).strftime(fmt) if moment is not None else ""

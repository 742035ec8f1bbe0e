"""The one clock of pages, callbacks, CLI and jobs: UTC for storage, the configured zone for days and windows.

Tests may set the app's ``CLOCK_NOW`` (a naive UTC datetime) to stop the clock; only an app with
``TESTING`` set honours it, so production always reads the real time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import current_app

from models import utcnow

from .config import settings


def zone() -> ZoneInfo:
    return settings().tz


def now() -> datetime:
    if current_app.testing and current_app.config.get("CLOCK_NOW") is not None:
        return current_app.config["CLOCK_NOW"]
    return utcnow()


def today() -> date:
    return now().replace(tzinfo=UTC).astimezone(zone()).date()


def local(moment: datetime | None) -> datetime | None:
    """A stored (naive UTC) time in the configured zone, for display."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC).astimezone(zone())


def local_text(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored (naive UTC) time as text in the configured zone; empty for None."""
    return local(moment).strftime(fmt) if moment is not None else ""

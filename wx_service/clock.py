"""The faces' side of the one clock: UTC for storage, the configured zone for days and windows.

``now`` is ``models.clock.now`` (handlers and jobs read it there).  ``create_app`` makes ``app_time``
its source: tests may set the app's ``CLOCK_NOW`` (a naive UTC datetime) to stop the clock; only an app
with ``TESTING`` set honours it, so production always reads the real time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

from models import utcnow
from models.clock import now

from .config import settings

__all__ = ["app_time", "local", "local_text", "now", "today", "zone"]


def zone() -> ZoneInfo:
    return settings().app.tz


def app_time() -> datetime:
    """The source of ``models.clock``: the current app's ``CLOCK_NOW`` when it is TESTING, else the real time."""
    if has_app_context() and current_app.testing and current_app.config.get("CLOCK_NOW") is not None:
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

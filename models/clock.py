"""The one clock: ``now()`` is naive UTC, read from one injectable source.

The source is the real time (``utcnow``) unless the application installs another with
``use_source`` — ``create_app`` installs one that a test can stop through the app's ``CLOCK_NOW``.
Rules still take ``now`` as an argument; this is where the faces, handlers and jobs get it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from .base import utcnow

Source = Callable[[], datetime]

_source: Source = utcnow


def now() -> datetime:
    return _source()


def use_source(fn: Source | None) -> None:
    """Read the time from ``fn`` from now on; None gives back the real time."""
    global _source
    _source = fn if fn is not None else utcnow

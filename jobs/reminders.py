"""活动提醒 (beyond the manual): accepted volunteers get a message one hour before each day's window opens,
and, ``[projects] ask_back_hours`` (24) before, a question 确认参加 / 不能参加 with a signed link.

Periodic; the rules and their once-a-day guarantee (a unique (signup, day) row) live in
``models.signup.send_due_reminders`` and ``models.ask_back.send_asks``, so running them twice changes
nothing the second time.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from jobs import settings
from models import ask_back, clock, db
from models.signup import send_due_reminders

from . import job

log = logging.getLogger(__name__)


@job()
def send_activity_reminders(now=None) -> int:
    """The periodic job (``now`` only for tests; the schedule passes nothing)."""
    tz = settings().app.timezone
    written = send_due_reminders(now=now or clock.now(), tz=tz)
    db.session.commit()
    if written:
        log.info("wrote %d activity reminders", written, extra={"job": "send_activity_reminders"})
    return written


@job()
def send_attendance_asks(now=None) -> int:
    """The periodic job asking back (``now`` only for tests); off with ``ask_back_hours = 0``."""
    config = settings()
    hours = config.projects.ask_back_hours
    asked = ask_back.send_asks(now=now or clock.now(), lead=timedelta(hours=hours),
                               secret=config.app.secret_key, tz=config.app.timezone)
    db.session.commit()
    if asked:
        log.info("asked %d volunteers to confirm", asked, extra={"job": "send_attendance_asks"})
    return asked

"""活动提醒 (beyond the manual): accepted volunteers get a message one hour before each day's window opens.

Periodic; the rule and its once-a-day guarantee (a unique (signup, day) row) live in
``models.signup.send_due_reminders``, so running it twice changes nothing the second time.
"""

from __future__ import annotations

import logging

from jobs import settings
from models import clock, db
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

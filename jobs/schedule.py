"""The periodic jobs, as data: (function, interval in seconds).

Production runs them with rq's cron scheduler (``flask --app wx_service cron``); the embedded
default runs them from a timer thread of the development server.
"""

from __future__ import annotations

from .delivery import sweep_notifications
from .maintenance import purge_expired_shared_values
from .reminders import send_activity_reminders

PERIODIC: list[tuple[object, int]] = [
    (purge_expired_shared_values, 3600),
    (sweep_notifications, 60),
    (send_activity_reminders, 300),
]

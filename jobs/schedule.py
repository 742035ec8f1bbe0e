"""The periodic jobs, as data: (function, interval in seconds).

Production runs them with rq's cron scheduler (``flask --app wx_service cron``); the embedded
default runs them from a timer thread of the development server.
"""

from __future__ import annotations

from .attendance import close_publicity, remove_stale_attendance
from .delivery import sweep_notifications
from .help import escalate_help_requests
from .maintenance import purge_expired_shared_values
from .media import sweep_media
from .points import expire_old_points
from .reminders import send_activity_reminders, send_attendance_asks
from .wishes import close_unconfirmed_wishes

PERIODIC: list[tuple[object, int]] = [
    (purge_expired_shared_values, 3600),
    (sweep_notifications, 60),
    (close_unconfirmed_wishes, 3600),
    (escalate_help_requests, 300),
    (sweep_media, 120),
    (send_activity_reminders, 300),
    (close_publicity, 600),
    (remove_stale_attendance, 3600),
    (send_attendance_asks, 300),
    (expire_old_points, 3600),
]

"""The periodic jobs, as data: (function, interval in seconds).

Production runs them with rq's cron scheduler (``flask --app wx_service cron``); the embedded
default runs them from a timer thread of the development server.
"""

from __future__ import annotations

from .attendance import close_publicity, remove_stale_attendance, sweep_makeup_photos
from .delivery import sweep_notifications
from .help import escalate_help_requests, sweep_voice_notes
from .maintenance import purge_expired_shared_values
from .points import expire_old_points
from .reminders import send_activity_reminders, send_attendance_asks
from .wishes import close_unconfirmed_wishes, sweep_wish_photos

PERIODIC: list[tuple[object, int]] = [
    (purge_expired_shared_values, 3600),
    (sweep_notifications, 60),
    (sweep_wish_photos, 300),
    (close_unconfirmed_wishes, 3600),
    (escalate_help_requests, 300),
    (sweep_voice_notes, 120),
    (send_activity_reminders, 300),
    (close_publicity, 600),
    (remove_stale_attendance, 3600),
    (sweep_makeup_photos, 300),
    (send_attendance_asks, 300),
    (expire_old_points, 3600),
]

"""The periodic jobs, as data: (function, interval in seconds).

Production runs them with ``flask --app wx_service cron`` (``jobs.scheduler``: once per interval however
many of them run); the embedded default runs the same scheduler in a thread of the development server.
"""

from __future__ import annotations

from .abandoned import requeue_abandoned_jobs
from .attendance import close_publicity, remove_stale_attendance
from .closure import recount_followers, remind_closures
from .delivery import sweep_notifications
from .followers import record_last_seen
from .help import escalate_help_requests
from .maintenance import purge_expired_shared_values
from .media import sweep_media
from .points import expire_old_points
from .records import award_star_levels
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
    (remind_closures, 3600),
    (recount_followers, 3600),
    (record_last_seen, 60),
    (requeue_abandoned_jobs, 60),
    (award_star_levels, 600),
    (send_attendance_asks, 300),
    (expire_old_points, 3600),
]

"""The periodic jobs, as data: (function, interval in seconds).

Production runs them with ``flask --app wx_service cron`` (``jobs.scheduler``: once per interval however
many of them run); the embedded default runs the same scheduler in a thread of the development server.
"""

from __future__ import annotations

from .abandoned import requeue_abandoned_jobs
from .attendance import close_publicity, remove_stale_attendance, sweep_makeup_photos
from .delivery import sweep_notifications
from .help import escalate_help_requests, sweep_voice_notes
from .maintenance import purge_expired_shared_values
from .reminders import send_activity_reminders
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
    (requeue_abandoned_jobs, 60),
]

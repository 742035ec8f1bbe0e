"""一喊就来 jobs: escalate unclaimed requests.

The call's voice is a media item (``models.media``, purpose ``help_voice``): the one media job fetches
it — ``media/get`` for a chat voice (AMR), ``media/get/jssdk`` for ``wx.uploadVoice`` (speex) — and keeps
it as MP3, while the request is announced at once in the call's transaction.
Escalation happens once per request.
"""

from __future__ import annotations

import logging

from models import clock, db
from models import help_request as hr

from . import job, settings

log = logging.getLogger(__name__)


@job()
def escalate_help_requests(now=None) -> list[int]:
    """Periodic: requests unclaimed for 24 hours → escalated, station admins told again (once)."""
    ids = hr.escalate_due(now or clock.now(), tz=settings().app.timezone)
    db.session.commit()
    if ids:
        log.info("escalated %d help requests", len(ids), extra={"job": "escalate_help_requests"})
    return ids

"""微心愿 jobs: close wishes left unconfirmed for 14 days (the photos go through the one media job)."""

from __future__ import annotations

import logging

from jobs import job
from models import clock, db, wish_rules

log = logging.getLogger(__name__)

@job()
def close_unconfirmed_wishes(now=None) -> list[int]:
    """Close as completed the wishes whose publisher has not confirmed within 14 days."""
    now = now or clock.now()
    closed = []
    for wish_id in wish_rules.due_for_close(now):
        if wish_rules.close_unconfirmed(wish_id, now=now):
            closed.append(wish_id)
        db.session.commit()
    if closed:
        log.info("closed %d unconfirmed wishes", len(closed), extra={"job": "close_unconfirmed_wishes"})
    return closed

"""The followers' last-seen times the callback marked in the shared store, written to their rows.

The callback answers a broadcast's rush without writing a row: it marks when it saw each person
(``models.follower.SEEN_MARKS``, in the round trip it makes anyway) and this job, every minute, takes
the marks and writes them in a few statements.  Marks left in the database store while Redis was down
are taken too.  Running it twice changes nothing the second time (a time is never moved back).
"""

from __future__ import annotations

import logging

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError

from models import Follower, db
from models.follower import SEEN_MARKS, read_seen_mark

from . import job

log = logging.getLogger(__name__)


@job()
def record_last_seen() -> int:
    """Write every marked last-seen time; how many followers' marks were taken."""
    latest = {}
    extensions = current_app.extensions
    for store in dict.fromkeys((extensions["wx_store"], extensions["wx_db_store"])):
        try:
            marks = store.take_marks(SEEN_MARKS)
        except (RedisError, DBAPIError):
            log.warning("could not take the last-seen marks of %s", type(store).__name__)
            continue
        for mark in filter(None, (read_seen_mark(field, value) for field, value in marks.items())):
            account, openid, at = mark
            latest[(account, openid)] = max(latest.get((account, openid), at), at)
    Follower.record_seen([(account, openid, at) for (account, openid), at in sorted(latest.items())])
    db.session.commit()
    return len(latest)

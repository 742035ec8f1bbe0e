"""House-keeping jobs."""

from __future__ import annotations

import logging

from models import SharedValue, db, utcnow

from . import job

log = logging.getLogger(__name__)


@job()
def purge_expired_shared_values() -> int:
    """Delete expired rows of the database store (dedup keys, cached tokens, counters).

    On the real time, like the store's own expiries (see ``DatabaseStore``).
    """
    removed = SharedValue.query.filter(SharedValue.expires_at <= utcnow()).delete(synchronize_session=False)
    db.session.commit()
    if removed:
        log.info("purged %d expired shared values", removed, extra={"job": "purge_expired_shared_values"})
    return removed

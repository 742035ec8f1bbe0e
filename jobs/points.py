"""积分年度过期 (optional, off by default): ``[attendance] points_expire_years`` = N > 0 lets points earned
in year Y lapse at the start of year Y+N+1.  Periodic; each volunteer's expiry row for a cut-off is
unique, so running it twice (or in two processes) changes nothing the second time.
"""

from __future__ import annotations

import logging

from jobs import settings
from models import clock, db
from models import points as ledger

from . import job

log = logging.getLogger(__name__)


@job()
def expire_old_points(now=None) -> int:
    """The periodic job (``now`` only for tests).  Returns how many volunteers' points lapsed."""
    current = now or clock.now()
    tz = settings().app.timezone
    cutoff = ledger.expiry_cutoff(current, settings().attendance.points_expire_years, tz)
    if cutoff is None:
        return 0
    lapsed = 0
    for volunteer_id in ledger.volunteers_with_old_points(cutoff, tz):
        if ledger.expire_points(volunteer_id, cutoff, now=current, tz=tz) > 0:
            lapsed += 1
        db.session.commit()  # one volunteer at a time: each row lock is held briefly
    if lapsed:
        log.info("points expired for %d volunteers", lapsed, extra={"job": "expire_old_points"})
    return lapsed

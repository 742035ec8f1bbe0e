"""考勤 jobs: publicity confirmation, lapsing open sign-ins, clean-up (the 补签 photo goes through the one
media job).

``close_publicity`` confirms records whose 7 days passed without an
upheld objection and lapses open sign-ins past their deadline; ``remove_stale_attendance`` removes
(softly, logged, reversible with ``flask attendance restore``) activities with no punch and signups
with no hours 7 days after the end.  Each settles rows with conditional UPDATEs: twice is harmless.
"""

from __future__ import annotations

import logging

from jobs import job
from models import clock, db
from models.attendance import cleanup as att_cleanup
from models.attendance import objection as att_objection
from models.attendance import punches as att_punches

log = logging.getLogger(__name__)

@job()
def close_publicity(now=None) -> dict:
    """Confirm records past their publicity; lapse open sign-ins past their sign-out deadline."""
    now = now or clock.now()
    counts = {"confirmed": att_objection.confirm_due(now), "lapsed": att_punches.lapse_expired(now)}
    db.session.commit()
    if counts["confirmed"] or counts["lapsed"]:
        log.info("publicity: %(confirmed)d confirmed, %(lapsed)d lapsed", counts, extra={"job": "close_publicity"})
    return counts


@job()
def remove_stale_attendance(now=None) -> dict:
    """无签到的活动 and 无时长的报名, 7 days after the end: removed softly and logged."""
    now = now or clock.now()
    removed = att_cleanup.remove_stale(now)
    db.session.commit()
    if removed["projects"] or removed["signups"]:
        log.warning("clean-up removed %(projects)d activities and %(signups)d signups "
                    "(flask attendance restore undoes one)", removed, extra={"job": "remove_stale_attendance"})
    return removed

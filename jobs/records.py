"""Jobs of the record: star levels after hours are confirmed.

``award_star_levels`` (periodic) looks at volunteers with hours confirmed in the last day and records the levels
they reached (the unique row sends the message once).  The national export is a kind of the one export
mechanism (``models.records.national``, written by ``jobs.exports.run_export``).
"""

from __future__ import annotations

from jobs import job, settings
from models import clock, db
from models.records import stars


@job()
def award_star_levels() -> int:
    now = clock.now()
    thresholds = settings().records.star_hours
    awarded = 0
    for volunteer_id in stars.volunteers_confirmed_since(now - stars.CHECK_WINDOW):
        awarded += len(stars.award_levels(volunteer_id, thresholds, now=now))
        db.session.commit()
    return awarded

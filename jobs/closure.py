"""结项 jobs: remind admins of projects to close; recount 关注人数.

A closure's photos are media items (``models.closure.PHOTO``): the one media job fetches them.
"""

from __future__ import annotations

from jobs import job
from models import clock, closure, db
from models.stats import recount


@job()
def remind_closures(now=None) -> int:
    """项目结项提醒: the day before the end, and 1 and 7 days after it while not closed."""
    written = closure.remind_closures(now or clock.now())
    db.session.commit()
    return written


@job()
def recount_followers() -> int:
    """关注人数 per org, recounted (follow events stay off the statistics' write path)."""
    count = recount.recount_followers()
    db.session.commit()
    return count

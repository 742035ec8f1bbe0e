"""结项 jobs: fetch a closure's photos from WeChat (``media/get``); remind admins of projects to close.

The photos go through ``jobs.media`` (fetch, check and re-encode, store), like the wish and 补签 photos.
Each photo is settled by a conditional UPDATE, so a second run stores nothing twice.
"""

from __future__ import annotations

from jobs import job, media
from models import clock, closure, db
from models.stats import recount


@job(retry=(3, [30, 120, 600]))
def download_closure_photos(project_id: int) -> dict:
    counts = {"stored": 0, "failed": 0, "pending": 0}
    transient = None
    for photo_id in closure.pending_photo_ids(project_id):
        photo = db.session.get(closure.ClosurePhoto, photo_id)
        try:
            data, content_type = media.fetch(photo.account, photo.media_id, kind=media.IMAGE)
            if content_type not in media.IMAGE_EXTENSIONS:
                raise media.MediaFailure(f"not an image: {content_type}", True)
            data, content_type, _thumbnail = media.checked_image(data)
        except media.MediaFailure as exc:
            state = closure.photo_failed(photo_id, exc.reason, permanent=exc.permanent)
            db.session.commit()
            counts["failed" if state == closure.PHOTO_FAILED else "pending"] += 1
            transient = transient if state == closure.PHOTO_FAILED else exc.original
            continue
        path = media.store(data, f"closures/{project_id}", str(photo_id), media.IMAGE_EXTENSIONS[content_type])
        counts["stored"] += int(closure.photo_stored(photo_id, path, content_type))
        db.session.commit()
    if transient is not None:
        raise transient  # rq retries with the declared policy
    return counts


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

"""微心愿 jobs: download the photos of a completed wish, close wishes left unconfirmed for 14 days.

``download_wish_photos`` is enqueued by the completion page after commit; ``sweep_wish_photos``
picks up photos whose job was lost (Redis down) or failed transiently.  Both read fresh state and
settle each photo with a conditional UPDATE, so running them twice stores nothing twice.
"""

from __future__ import annotations

import logging
import os

from jobs import job, media, settings
from models import clock, db, wish_rules
from models import wish as wishes

log = logging.getLogger(__name__)

def photo_dir(wish_id: int) -> str:
    return os.path.join(settings().app.media_dir, "wishes", str(wish_id))


@job(retry=(3, [30, 120, 600]))
def download_wish_photos(wish_id: int) -> dict:
    """Fetch every pending photo of ``wish_id`` (``wx.uploadImage``, fetched from ``media/get``) and store it under the media dir."""
    counts = {"stored": 0, "failed": 0, "pending": 0}
    transient = None
    for photo_id in wish_rules.pending_photo_ids(wish_id):
        photo = db.session.get(wishes.WishPhoto, photo_id)
        try:
            data, content_type = media.fetch_image(photo.account, photo.media_id)
        except media.MediaFailure as exc:
            state = wish_rules.photo_failed(photo_id, exc.reason, permanent=exc.permanent)
            db.session.commit()
            counts["failed" if state == wishes.PHOTO_FAILED else "pending"] += 1
            if state != wishes.PHOTO_FAILED:
                transient = exc.original
            continue
        path = media.store(data, f"wishes/{wish_id}", str(photo_id), media.IMAGE_EXTENSIONS[content_type])
        if wish_rules.photo_stored(photo_id, path, content_type, now=clock.now()):
            counts["stored"] += 1
        db.session.commit()
    if transient is not None:
        log.warning("wish %s: %d photo(s) left for a retry", wish_id, counts["pending"])
        raise transient  # rq retries the job (its declared retry); the sweep is the backstop
    return counts


@job()
def sweep_wish_photos() -> list[int]:
    """Re-submit the download of photos still pending a while after completion."""
    due = wish_rules.photos_due(clock.now())
    db.session.rollback()
    for wish_id in due:
        download_wish_photos.now(wish_id)
    return due


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

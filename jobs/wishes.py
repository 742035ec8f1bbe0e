"""微心愿 jobs: download the photos of a completed wish, close wishes left unconfirmed for 14 days.

``download_wish_photos`` is enqueued by the completion page after commit; ``sweep_wish_photos``
picks up photos whose job was lost (Redis down) or failed transiently.  Both read fresh state and
settle each photo with a conditional UPDATE, so running them twice stores nothing twice.
"""

from __future__ import annotations

import logging
import os
import secrets

from flask import current_app
from requests import RequestException
from wechatpy.exceptions import WeChatClientException

from jobs import enqueue_now
from models import db, utcnow
from models import wish as wishes

log = logging.getLogger(__name__)

RETRY = (3, [30, 120, 600])
#: WeChat says the media is gone or was never there: retrying cannot help.
GONE_MEDIA_ERRORS = (40007, 40004, 41005)
EXTENSIONS = {"image/jpeg": "jpg", "image/jpg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp"}


def photo_dir(wish_id: int) -> str:
    return os.path.join(current_app.config["MEDIA_DIR"], "wishes", str(wish_id))


def download_wish_photos(wish_id: int) -> dict:
    """Fetch every pending photo of ``wish_id`` (JS-SDK media) and store it under the media dir."""
    counts = {"stored": 0, "failed": 0, "pending": 0}
    transient = None
    for photo_id in wishes.pending_photo_ids(wish_id):
        photo = db.session.get(wishes.WishPhoto, photo_id)
        client = current_app.extensions["wechat"].client(photo.account)
        try:
            data, content_type = client.download_media(photo.media_id, jssdk=True)
        except WeChatClientException as exc:
            permanent = exc.errcode in GONE_MEDIA_ERRORS
            state = wishes.photo_failed(photo_id, f"errcode {exc.errcode}", permanent=permanent)
            db.session.commit()
            counts["failed" if state == wishes.PHOTO_FAILED else "pending"] += 1
            if state != wishes.PHOTO_FAILED:
                transient = exc
            continue
        except (RequestException, OSError) as exc:
            state = wishes.photo_failed(photo_id, exc.__class__.__name__, permanent=False)
            db.session.commit()
            counts["failed" if state == wishes.PHOTO_FAILED else "pending"] += 1
            if state != wishes.PHOTO_FAILED:
                transient = exc
            continue
        content_type = (content_type or "").split(";")[0].strip().lower()
        if content_type not in EXTENSIONS:
            wishes.photo_failed(photo_id, f"not an image: {content_type}", permanent=True)
            db.session.commit()
            counts["failed"] += 1
            continue
        folder = photo_dir(wish_id)
        os.makedirs(folder, exist_ok=True)
        name = f"{photo_id}.{EXTENSIONS[content_type]}"
        temp = os.path.join(folder, f".{name}.{secrets.token_hex(6)}.part")
        with open(temp, "wb") as fh:
            fh.write(data)
        os.replace(temp, os.path.join(folder, name))  # same name, same bytes: a second run is harmless
        if wishes.photo_stored(photo_id, f"wishes/{wish_id}/{name}", content_type, now=utcnow()):
            counts["stored"] += 1
        db.session.commit()
    if transient is not None:
        log.warning("wish %s: %d photo(s) left for a retry", wish_id, counts["pending"])
        raise transient  # rq retries the job (RETRY); the sweep is the backstop
    return counts


def sweep_wish_photos() -> list[int]:
    """Re-submit the download of photos still pending a while after completion."""
    due = wishes.photos_due(utcnow())
    db.session.rollback()
    for wish_id in due:
        enqueue_now(download_wish_photos, wish_id)
    return due


def close_unconfirmed_wishes(now=None) -> list[int]:
    """Close as completed the wishes whose publisher has not confirmed within 14 days."""
    now = now or utcnow()
    closed = []
    for wish_id in wishes.due_for_close(now):
        if wishes.close_unconfirmed(wish_id, now=now):
            closed.append(wish_id)
        db.session.commit()
    if closed:
        log.info("closed %d unconfirmed wishes", len(closed), extra={"job": "close_unconfirmed_wishes"})
    return closed

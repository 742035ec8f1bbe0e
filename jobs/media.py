"""The one media job: fetch what arrived from WeChat (3 days to live), check it, store it, settle its row.

``fetch_media(item_id)`` is submitted after the commit that received the item (``models.media.receive``;
``submit_fetches`` is the after-commit handler ``create_app`` declares).  It tells a lost file from a
passing error (``MediaFailure.permanent``), checks a photo (decoded safely, re-encoded without EXIF, a
thumbnail) or a voice (transcoded to MP3 with ffmpeg, its duration read), stores it under the media dir
(a second run writes the same file) and settles the row with a conditional UPDATE, which runs the
purpose's hooks once.  ``sweep_media`` re-submits items left pending and fails those past WeChat's
3-day media life.
"""

from __future__ import annotations

import logging
import mimetypes

from flask import current_app
from requests import RequestException
from wechatpy.exceptions import WeChatClientException

from models import RuleViolation, clock, db, images
from models import media as items
from models.media import IMAGE, JSSDK_VOICE, KINDS, VOICES

from . import audio, job
from .storage import storage

log = logging.getLogger(__name__)

#: WeChat says the media is gone, was never there or is of the wrong type: retrying cannot help.
GONE_MEDIA_ERRORS = (40004, 40005, 40007, 41005, 41006)
IMAGE_EXTENSIONS = {"image/jpeg": "jpg", "image/jpg": "jpg", "image/png": "png", "image/gif": "gif",
                    "image/webp": "webp"}
PHOTO_SIDE = 2560  # the largest edge of a stored photo
THUMBNAIL_SIDE = 480  # the largest edge of its thumbnail (lists, grids)
#: WeChat keeps temporary media of at most 10 MB (image) and 2 MB (voice): anything larger is not WeChat's
#: and is neither decoded nor handed to ffmpeg
MAX_BYTES = {IMAGE: 10 * 1024 * 1024}
MAX_VOICE_BYTES = 4 * 1024 * 1024  # a 60 s voice, speex 16 kHz included, is far below


class MediaFailure(Exception):
    """The download failed: ``permanent`` when retrying cannot help; ``original`` is what was raised."""

    def __init__(self, reason: str, permanent: bool, original: Exception | None = None):
        super().__init__(reason)
        self.reason, self.permanent, self.original = reason, permanent, original or self


def fetch(account: str, media_id: str, *, kind: str) -> tuple[bytes, str]:
    """The bytes and the bare content type of a temporary media of ``kind`` (one of ``models.media.KINDS``).

    Every temporary media (a photo from ``wx.uploadImage``, a chat voice) comes from ``media/get``; only a
    voice recorded with ``wx.uploadVoice`` has the high-definition copy (speex 16 kHz) at
    ``media/get/jssdk``, where WeChat answers 40007 for anything else.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown media kind {kind!r}")
    client = current_app.extensions["wechat"].client(account)
    try:
        data, content_type = client.download_media(media_id, hd_voice=kind == JSSDK_VOICE)
    except WeChatClientException as exc:
        raise MediaFailure(f"errcode {exc.errcode}", exc.errcode in GONE_MEDIA_ERRORS, exc) from exc
    except (RequestException, OSError) as exc:
        raise MediaFailure(exc.__class__.__name__, False, exc) from exc
    most = MAX_BYTES.get(kind, MAX_VOICE_BYTES)
    if len(data) > most:
        raise MediaFailure(f"larger than {most // (1024 * 1024)} MB", True)
    return data, (content_type or "").split(";")[0].strip().lower()


def checked_image(data: bytes) -> tuple[bytes, str, bytes]:
    """The photo decoded safely and re-encoded (no EXIF position), and its JPEG thumbnail; a bomb or a
    broken file fails for good."""
    try:
        return images.reencoded_with_thumbnail(data, what="照片", code="photo", side=PHOTO_SIDE,
                                               thumbnail_side=THUMBNAIL_SIDE)
    except RuleViolation as exc:
        raise MediaFailure(exc.code, True, exc) from exc


def store(data: bytes, folder: str, stem: str, extension: str) -> str:
    """Write ``{folder}/{stem}.{extension}`` to the media store (``jobs.storage``: a directory or a bucket);
    that path.  Same name, same bytes: a second run is harmless."""
    path = f"{folder}/{stem}.{extension}"
    storage().put(path, data, mimetypes.guess_type(path)[0] or "application/octet-stream")
    return path


def folder_of(item) -> str:
    """``{purpose}/{id // 1000}``: a thousand items a folder."""
    return f"{item.purpose}/{item.id // 1000}"


# ---------------------------------------------------------------------------------- the job
@job(retry=(5, [3, 10, 30, 120, 600]))
def fetch_media(item_id: int) -> str:
    """Fetch, check and store one media item; its state afterwards (``missing``/``skipped`` when not ours)."""
    item = db.session.get(items.MediaItem, item_id)
    if item is None:
        return "missing"
    if item.state != items.PENDING:
        return item.state
    if not items.start_try(item_id, now=clock.now()):
        db.session.commit()
        return "skipped"
    db.session.commit()
    try:
        kept = _fetched_and_checked(item.account, item.media_id, item.kind)
    except MediaFailure as exc:
        if exc.permanent or item.tries >= items.MAX_TRIES:
            items.mark_failed(item_id, exc.reason, now=clock.now())
            db.session.commit()
            log.error("media item %s (%s) failed: %s", item_id, item.purpose, exc.reason,
                      extra={"job": "fetch_media"})
            return items.FAILED
        items.note_error(item_id, exc.reason)
        db.session.commit()
        raise exc.original from None  # rq retries the job (its declared retry); the sweep is the backstop
    data, content_type, extension, thumbnail, seconds = kept
    folder = folder_of(item)
    path = store(data, folder, str(item_id), extension)
    thumbnail_path = store(thumbnail, folder, f"{item_id}.thumb", "jpg") if thumbnail else None
    items.mark_stored(item_id, path=path, thumbnail_path=thumbnail_path, content_type=content_type,
                      size=len(data), seconds=seconds, now=clock.now())
    db.session.commit()
    return items.STORED


def _fetched_and_checked(account: str, media_id: str, kind: str):
    """(bytes, content type, extension, thumbnail bytes or None, seconds or None) of what will be kept."""
    data, content_type = fetch(account, media_id, kind=kind)
    if kind == IMAGE:
        if content_type not in IMAGE_EXTENSIONS:
            raise MediaFailure(f"not an image: {content_type}", True)
        photo, photo_type, thumbnail = checked_image(data)
        return photo, photo_type, IMAGE_EXTENSIONS[photo_type], thumbnail, None
    if kind not in VOICES:
        raise ValueError(f"unknown media kind {kind!r}")
    try:
        mp3, seconds = audio.to_mp3(data, content_type)
    except audio.TranscodeError as exc:
        raise MediaFailure(f"transcode: {exc}", True, exc) from exc
    return mp3, "audio/mpeg", "mp3", None, seconds


@job()
def sweep_media(now=None) -> dict:
    """Periodic: fail items past WeChat's 3-day media life; re-submit items whose job was lost."""
    now = now or clock.now()
    expired = items.fail_expired(now)
    db.session.commit()
    due = items.due_for_sweep(now)
    db.session.commit()
    for item_id in due:
        fetch_media.now(item_id)
    if expired or due:
        log.info("media sweep: %d re-submitted, %d expired", len(due), len(expired), extra={"job": "sweep_media"})
    return {"resubmitted": due, "expired": expired}


def submit_fetches(notes: dict[str, list]) -> None:
    """After a commit: submit the fetch of every item its transaction received."""
    for item_id in dict.fromkeys(notes[items.FETCH]):
        fetch_media.now(item_id)


"""考勤 jobs: the 补签 photo download, publicity confirmation, lapsing open sign-ins, clean-up.

``download_makeup_photo`` is enqueued by the 补签 page after commit; ``sweep_makeup_photos`` picks
up photos whose job was lost.  ``close_publicity`` confirms records whose 7 days passed without an
upheld objection and lapses open sign-ins past their deadline; ``remove_stale_attendance`` removes
(softly, logged, reversible with ``flask attendance restore``) activities with no punch and signups
with no hours 7 days after the end.  Each settles rows with conditional UPDATEs: twice is harmless.
"""

from __future__ import annotations

import logging

from jobs import job, media
from models import attendance as att
from models import clock, db
from models.attendance import cleanup as att_cleanup
from models.attendance import makeup as att_makeup
from models.attendance import objection as att_objection
from models.attendance import punches as att_punches

log = logging.getLogger(__name__)

@job(retry=(3, [30, 120, 600]))
def download_makeup_photo(makeup_id: int) -> str:
    """Fetch the 补签 photo (``wx.uploadImage``, from ``media/get``) and store it under the media dir."""
    request = db.session.get(att.MakeupRequest, makeup_id)
    if request is None or request.photo_state != att.PHOTO_PENDING:
        return request.photo_state if request else "missing"
    try:
        data, content_type = media.fetch_image(request.account, request.media_id)
    except media.MediaFailure as exc:
        state = att_makeup.makeup_photo_failed(makeup_id, exc.reason, permanent=exc.permanent)
        db.session.commit()
        if state != att.PHOTO_FAILED:
            raise exc.original from None
        return state
    path = media.store(data, "makeups", str(makeup_id), media.IMAGE_EXTENSIONS[content_type])
    att_makeup.makeup_photo_stored(makeup_id, path, content_type)
    db.session.commit()
    return att.PHOTO_STORED


@job()
def sweep_makeup_photos() -> list[int]:
    due = att_makeup.makeup_photos_due(clock.now())
    db.session.rollback()
    for makeup_id in due:
        download_makeup_photo.now(makeup_id)
    return due


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

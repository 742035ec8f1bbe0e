"""场所图片 (part 4 §二.2(3)): "上传场所图片，3~6张，包括一张外部全景图，内部功能区图".

A place's admins (or an admin of a place above) set its photos as a whole: the photos they keep, a new
外部全景图 (replacing the old one) and new 内部功能区图, sent as ``wx.uploadImage`` serverIds and received by
the one media pipeline (``models.media``, purpose ``place_photo``).  The rule counts what the place will
show: 3 to 6 photos, exactly one of them the outside view.  A photo whose file could not be fetched is not
shown and no longer counts; the admin page says so and asks for another.  Nothing here commits.
"""

from __future__ import annotations

from datetime import datetime

from .. import media
from ..base import RuleViolation, db
from . import places
from .tables import PLACE_PHOTO, PlacePhoto

LEAST, MOST = 3, 6


def of_place(place_id: int) -> list[PlacePhoto]:
    """Every photo of the place (pending, stored or failed): the outside view first, then as added."""
    return (PlacePhoto.query.filter_by(place_id=place_id)
            .order_by(PlacePhoto.outside.desc(), PlacePhoto.created_at, PlacePhoto.id).all())


def shown(place_id: int) -> list[PlacePhoto]:
    """The photos a visitor sees: those whose file is stored."""
    return [p for p in of_place(place_id) if p.item.stored]


def photo_of(place_id: int, photo_id: int) -> PlacePhoto | None:
    photo = db.session.get(PlacePhoto, photo_id)
    return photo if photo is not None and photo.place_id == place_id else None


def set_photos(actor, place_id: int, account: str, *, keep=(), outside=(), inside=(), now: datetime
               ) -> list[PlacePhoto]:
    """场所展示: keep the photos ``keep`` (ids), add ``outside`` (at most one serverId: the new 外部全景图)
    and ``inside`` (serverIds); the others are taken off.  The place then has 3–6, one outside view."""
    place = places.get_place(place_id)
    places.require_manage(actor, place)
    new_outside = media.clean_ids(outside, code="place_photo_outside", what="外部全景图", least=0, most=1)
    new_inside = media.clean_ids(inside, code="place_photo", what="场所图片", least=0, most=MOST)
    if set(new_outside) & set(new_inside):
        raise RuleViolation("place_photo_twice", "同一张照片不能既是外部全景图又是内部功能区图。")
    wanted = {int(i) for i in keep}
    current = of_place(place.id)
    kept = [p for p in current if p.id in wanted and p.state != media.FAILED and not (new_outside and p.outside)]
    outsides = sum(p.outside for p in kept) + len(new_outside)
    if outsides != 1:
        raise RuleViolation("place_photo_outside", "请上传一张外部全景图（只能有一张）。")
    total = len(kept) + len(new_outside) + len(new_inside)
    if not LEAST <= total <= MOST:
        raise RuleViolation("place_photo_count", f"场所图片应为{LEAST}至{MOST}张，包括一张外部全景图。")
    by_item = {p.media_item_id: p for p in current}
    result = list(kept)
    for ids, is_outside in ((new_outside, True), (new_inside, False)):
        for item in media.receive_many(account, ids, PLACE_PHOTO, now=now):
            photo = by_item.get(item.id)  # the same serverId sent again: the row already there
            if photo is None:
                photo = PlacePhoto(place_id=place.id, media_item_id=item.id, added_by_id=actor.id, created_at=now)
                db.session.add(photo)
            photo.outside = is_outside
            result.append(photo)
    for photo in current:
        if photo not in result:
            db.session.delete(photo)
    db.session.flush()
    return result

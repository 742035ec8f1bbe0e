"""场所图片 rules with an injected ``now``: 3–6 photos, exactly one 外部全景图, kept / replaced / taken off as a
set, failed files no longer counting, only the place's admins (and those above); the photos are media items."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models import RuleViolation, db, media
from models.practice import place_photos
from models.practice.tables import PLACE_PHOTO, PlacePhoto
from tests.support.orgs import NOW, build_tree, make_volunteer
from tests.support.practice import build_places


@pytest.fixture
def city(app_lite):
    with app_lite.app.app_context():
        orgs, admins = build_tree()
        tree = build_places(orgs, admins, NOW)
        yield admins, tree
        db.session.rollback()


def set_photos(admin, place, *, keep=(), outside=(), inside=(), now=NOW):
    return place_photos.set_photos(admin, place.id, "demo", keep=keep, outside=outside, inside=inside, now=now)


def test_three_to_six_with_one_outside_view(city):
    admins, tree = city
    station, admin = tree["station"], admins["community"]
    cases = [
        ({"inside": ["i1", "i2", "i3"]}, "place_photo_outside"),  # no outside view
        ({"outside": ["o1"], "inside": ["i1"]}, "place_photo_count"),  # two
        ({"outside": ["o1"], "inside": [f"i{n}" for n in range(6)]}, "place_photo_count"),  # seven
        ({"outside": ["o1", "o2"], "inside": ["i1", "i2"]}, "place_photo_outside_too_many"),
        ({"outside": ["o1"], "inside": ["o1", "i2"]}, "place_photo_twice"),
        ({"outside": ["bad id!"], "inside": ["i1", "i2"]}, "place_photo_outside_invalid"),
    ]
    for values, code in cases:
        with pytest.raises(RuleViolation) as refused:
            set_photos(admin, station, **values)
        assert refused.value.code == code, values
    assert PlacePhoto.query.count() == 0 and media.MediaItem.query.count() == 0

    made = set_photos(admin, station, outside=["o1"], inside=["i1", "i2"])
    assert [(p.outside, p.item.media_id, p.item.purpose, p.item.state) for p in place_photos.of_place(station.id)] == [
        (True, "o1", PLACE_PHOTO, media.PENDING), (False, "i1", PLACE_PHOTO, media.PENDING),
        (False, "i2", PLACE_PHOTO, media.PENDING)]
    assert len(made) == 3 and place_photos.shown(station.id) == []  # nothing shows before its file is stored


def test_keep_replace_the_outside_view_and_take_off(city):
    admins, tree = city
    station, admin = tree["station"], admins["community"]
    first = {p.item.media_id: p for p in set_photos(admin, station, outside=["o1"], inside=["i1", "i2"])}
    later = NOW + timedelta(days=1)
    # a new outside view replaces the old one even when the old one is ticked "keep"; i2 is taken off
    set_photos(admin, station, keep=[first["o1"].id, first["i1"].id], outside=["o2"], inside=["i3"], now=later)
    rows = place_photos.of_place(station.id)
    assert [(p.outside, p.item.media_id) for p in rows] == [(True, "o2"), (False, "i1"), (False, "i3")]
    assert rows[1].id == first["i1"].id and rows[1].created_at == NOW  # kept, not re-made
    with pytest.raises(RuleViolation) as short:  # taking one off leaves two
        set_photos(admin, station, keep=[rows[0].id, rows[1].id], now=later)
    assert short.value.code == "place_photo_count"
    with pytest.raises(RuleViolation) as no_outside:  # the outside view cannot be dropped without a new one
        set_photos(admin, station, keep=[rows[1].id, rows[2].id], inside=["i4"], now=later)
    assert no_outside.value.code == "place_photo_outside"
    foreign = set_photos(admins["district"], tree["centre"], outside=["c1"], inside=["c2", "c3"])
    set_photos(admin, station, keep=[p.id for p in rows] + [foreign[0].id], now=later)  # another place's id: ignored
    assert [p.place_id for p in place_photos.of_place(station.id)] == [station.id] * 3


def test_a_failed_file_no_longer_counts(city):
    admins, tree = city
    station, admin = tree["station"], admins["community"]
    rows = set_photos(admin, station, outside=["o1"], inside=["i1", "i2"])
    for photo in rows:
        assert media.start_try(photo.media_item_id, now=NOW)
    media.mark_stored(rows[0].media_item_id, path="place_photo/0/1.jpg", content_type="image/jpeg", size=10, now=NOW)
    media.mark_stored(rows[1].media_item_id, path="place_photo/0/2.jpg", content_type="image/jpeg", size=10, now=NOW)
    media.mark_failed(rows[2].media_item_id, "errcode 40007", now=NOW)
    db.session.expire_all()
    assert [p.item.media_id for p in place_photos.shown(station.id)] == ["o1", "i1"]
    with pytest.raises(RuleViolation) as short:  # keeping all three counts only the two whose files arrived
        set_photos(admin, station, keep=[p.id for p in rows])
    assert short.value.code == "place_photo_count"
    set_photos(admin, station, keep=[p.id for p in rows], inside=["i3"])
    assert [p.item.media_id for p in place_photos.of_place(station.id)] == ["o1", "i1", "i3"]


def test_only_the_places_admins_and_those_above(city):
    admins, tree = city
    values = {"outside": ["o1"], "inside": ["i1", "i2"]}
    for who in ("sibling_street", "street"):  # a sibling institute's admin; the station is not above the institute
        place = tree["station"] if who == "sibling_street" else tree["centre"]
        with pytest.raises(RuleViolation) as refused:
            set_photos(admins[who], place, **values)
        assert refused.value.status == 403
    with pytest.raises(RuleViolation):
        set_photos(make_volunteer("王普通"), tree["station"], **values)
    set_photos(admins["district"], tree["station"], **values)  # the centre's admin edits the station below
    assert len(place_photos.of_place(tree["station"].id)) == 3

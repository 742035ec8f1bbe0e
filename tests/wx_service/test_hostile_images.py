"""Hostile pictures on every way in: avatars, org logos, help-seeker photos, and WeChat media (wish and 补签 photos).

A 20 KB PNG declaring 13000×13000 pixels was accepted as an avatar (1.4 GB to decode in one worker);
a 14000×14000 one answered 500 (Pillow's DecompressionBombError).  Each is now refused before a pixel
is decoded: a Chinese 4xx on a page, a photo marked failed in a job.
"""

from __future__ import annotations

import io
import os
import struct
import zlib

import pytest
from PIL import Image

from jobs import media
from jobs.media import fetch_media
from models import Binding, HelpSeeker, Organization, RuleViolation, Volunteer, WishPhoto, db, images, utcnow
from models import attendance as att
from models import media as media_items
from tests.jobs.test_media_pipeline import completed_wish
from tests.support.help import build_help, seeker_fields
from tests.support.orgs import build_tree, make_volunteer
from tests.support.people import bind, csrf_token, sign_in
from tests.support.projects import publish

DEMO = "wxdemo0000000001"


def bomb_png(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of ``width``×``height`` black pixels: a few tens of KB, whatever its size."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" * (1 + (width + 7) // 8)
    packer = zlib.compressobj(9)
    pixels = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", pixels) + chunk(b"IEND", b""))


ACCEPTED_BOMB = bomb_png(13000, 13000)  # under Pillow's error limit: was decoded (1.4 GB)
CRASHING_BOMB = bomb_png(14000, 14000)  # over it: was a 500
BOMBS = pytest.mark.parametrize("bomb", [ACCEPTED_BOMB, CRASHING_BOMB], ids=["13000px", "14000px"])


def picture(fmt: str = "JPEG", size=(640, 480), **save) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, fmt, **save)
    return buffer.getvalue()


def gps_jpeg() -> bytes:
    """A phone photo whose EXIF holds where it was taken (an elder's home) and that it is turned."""
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° to view
    exif[0x8825] = {1: "N", 2: (32.0, 1.0, 0.0), 3: "E", 4: (120.0, 51.0, 0.0)}  # GPSInfo: 南通
    return picture(size=(400, 300), exif=exif)


# ------------------------------------------------------------------------------ the one function
def test_bombs_are_refused_from_the_header_before_any_decoding():
    assert len(ACCEPTED_BOMB) < 25_000
    for bomb in (ACCEPTED_BOMB, CRASHING_BOMB, bomb_png(5001, 5000)):
        with pytest.raises(RuleViolation) as refused:
            images.open_untrusted(bomb, what="头像图片", code="avatars")
        assert (refused.value.code, refused.value.status) == ("avatars_pixels", 413)
        assert "头像图片的像素太多" in refused.value.message
    assert images.open_untrusted(bomb_png(5000, 5000), what="照片", code="photo").size == (5000, 5000)


@pytest.mark.parametrize("data", [b"", b"not a picture", picture()[:200], picture("PNG")[:-30], picture("GIF"),
                                  picture("BMP"), picture("TIFF"), b"\x89PNG\r\n\x1a\n" + b"\x00" * 64])
def test_broken_or_other_formats_are_a_415_not_a_500(data):
    with pytest.raises(RuleViolation) as refused:
        images.open_untrusted(data, what="组织LOGO", code="org_logos")
    assert (refused.value.code, refused.value.status) == ("org_logos_format", 415)
    assert refused.value.message == "组织LOGO只支持JPG或PNG格式。"


def test_photos_are_turned_upright_and_lose_their_exif():
    data, content_type = images.reencoded(gps_jpeg(), what="照片", code="photo", side=2560)
    stored = Image.open(io.BytesIO(data))
    assert content_type == "image/jpeg" and stored.size == (300, 400)
    assert not stored.getexif() and "exif" not in stored.info
    logo, png_type = images.reencoded(picture("PNG", (3000, 1000)), what="照片", code="photo", side=2560)
    assert png_type == "image/png" and Image.open(io.BytesIO(logo)).size == (2560, 853)


# ------------------------------------------------------------------------------------- the pages
def _upload(client, path: str, form_path: str, field: str, data: bytes, **fields):
    return client.post(path, data={"csrf_token": csrf_token(client, form_path), **fields,
                                   field: (io.BytesIO(data), "photo.png")}, content_type="multipart/form-data")


@BOMBS
def test_an_avatar_bomb_is_a_413_and_nothing_is_stored(any_app, bomb):
    with any_app.app.app_context():
        volunteer = make_volunteer("陈桂芳")
        db.session.add(Binding(account="demo", openid="o_avatar_bomb", volunteer_id=volunteer.id, bound_at=utcnow()))
        db.session.commit()
        volunteer_id = volunteer.id
    client = sign_in(any_app.client(), "o_avatar_bomb")
    res = _upload(client, "/m/me/avatar?account=demo", "/m/me/avatar?account=demo", "avatar", bomb)
    assert res.status_code == 413 and "头像图片的像素太多" in res.get_data(as_text=True)
    with any_app.app.app_context():
        assert db.session.get(Volunteer, volunteer_id).avatar_path is None


@BOMBS
def test_an_org_logo_bomb_is_refused_with_a_message(app_lite, bomb):
    with app_lite.app.app_context():
        orgs, admins = build_tree()
        db.session.add(Binding(account="demo", openid="o-street-logo", volunteer_id=admins["street"].id))
        db.session.commit()
        street_id = orgs["street"].id
    client = sign_in(app_lite.client(), "o-street-logo")
    res = _upload(client, "/m/admin/org", "/m/admin/org", "logo", bomb, intro="社区服务")
    assert res.status_code < 500
    shown = client.get(res.location).get_data(as_text=True) if res.status_code == 302 else res.get_data(as_text=True)
    assert "组织LOGO的像素太多" in shown
    with app_lite.app.app_context():
        assert db.session.get(Organization, street_id).logo_path is None


@BOMBS
def test_a_help_seeker_photo_bomb_is_a_413_and_no_seeker_is_added(any_app, bomb):
    with any_app.app.app_context():
        ids = build_help(1, seeker_openid=None)
        bind(db.session.get(Volunteer, ids["admins"]["street"]), "o_admin_street")
    street = sign_in(any_app.client(), "o_admin_street")
    fields = seeker_fields(name="周玉珍", mobile="13851300011")
    res = _upload(street, "/m/admin/seekers/new", "/m/admin/seekers/new", "photo", bomb,
                  volunteers=ids["numbers"][0], **fields)
    assert res.status_code == 413 and "照片的像素太多" in res.get_data(as_text=True)
    with any_app.app.app_context():
        assert HelpSeeker.query.filter_by(name="周玉珍").count() == 0


# ------------------------------------------------------------------------------ WeChat media jobs
@pytest.fixture
def ctx(app_lite):
    with app_lite.app.app_context():
        yield app_lite
        db.session.rollback()


@BOMBS
def test_a_wish_photo_bomb_marks_the_photo_failed(ctx, bomb):
    wish_id = completed_wish([ctx.sandbox.add_media(bomb, "image/png", jssdk=True, appid=DEMO)])
    assert ctx.drain_jobs()  # the fetch job, submitted at the commit, ran in-process
    db.session.expire_all()
    photo = WishPhoto.query.filter_by(wish_id=wish_id).one()
    assert (photo.state, photo.path) == ("failed", None)
    assert fetch_media(photo.media_item_id) == "failed", "no crash loop: settled"


def test_a_wish_photo_is_stored_without_its_position(ctx):
    wish_id = completed_wish([ctx.sandbox.add_media(gps_jpeg(), "image/jpeg", jssdk=True, appid=DEMO)])
    assert ctx.drain_jobs()
    db.session.expire_all()
    photo = WishPhoto.query.filter_by(wish_id=wish_id).one()
    with Image.open(os.path.join(ctx.app.config["MEDIA_DIR"], photo.path)) as stored:
        assert not stored.getexif() and stored.size == (300, 400)


def _makeup(media_id: str) -> int:
    orgs, admins = build_tree()
    project = publish(admins["street"])
    volunteer = make_volunteer("沈建华")
    photo = media_items.receive("demo", media_id, att.MAKEUP_PHOTO, now=utcnow())
    request = att.MakeupRequest(project_id=project.id, volunteer_id=volunteer.id, day=utcnow().date(), kind="both",
                                reason="手机没电，未能打卡", photo_id=photo.id, submitted_at=utcnow())
    db.session.add(request)
    db.session.commit()
    return request.id


@BOMBS
def test_a_makeup_photo_bomb_marks_the_photo_failed(ctx, bomb):
    makeup_id = _makeup(ctx.sandbox.add_media(bomb, "image/png", jssdk=True, appid=DEMO))
    assert ctx.drain_jobs()
    db.session.expire_all()
    request = db.session.get(att.MakeupRequest, makeup_id)
    assert (request.photo_state, request.photo_path) == (att.PHOTO_FAILED, None)
    assert "photo_pixels" in request.photo_error


def test_media_that_claims_to_be_an_image_but_is_not_fails_for_good(ctx):
    with pytest.raises(media.MediaFailure) as failed:
        media.checked_image(b"<html>not a photo</html>")
    assert failed.value.permanent and failed.value.reason == "photo_format"

"""The one media pipeline (``models.media`` + ``jobs.media``): receive, fetch, check, store, sweep, hooks.

Wish photos are the example: ``wx.uploadImage`` photos come from ``media/get`` (the sandbox, like WeChat,
refuses them at ``media/get/jssdk``, which serves ``wx.uploadVoice`` recordings only).  On PostgreSQL the
fetch jobs wait in Redis, so each test runs them itself, one at a time.
"""

from __future__ import annotations

import base64
import io
import os
from datetime import timedelta

import pytest
from PIL import Image
from wechatpy.exceptions import WeChatClientException

from jobs.media import fetch_media, sweep_media
from models import MediaItem, RuleViolation, WishPhoto, db, media, utcnow, wish_rules
from tests.support.orgs import build_tree, make_volunteer
from tests.support.wishes import wish_typed
from wx_service.pages.media_files import send_media

DEMO = "wxdemo0000000001"
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
FIELDS = {"name": "张亚林", "district": "崇川区", "street": "", "age": "70", "gender": "F", "phone": "13912345678",
          "address": "和平桥新村1号", "situation": "独居老人", "content": "想要一台收音机"}

TEST_PURPOSE = media.purpose("test_pipeline_photo")
HOOKED: list[tuple[str, int, str]] = []


@media.when_stored(TEST_PURPOSE)
def _stored(item, now):
    HOOKED.append(("stored", item.id, item.state))


@media.when_failed(TEST_PURPOSE)
def _failed(item, now):
    HOOKED.append(("failed", item.id, item.reason))


def completed_wish(server_ids) -> int:
    """A wish claimed and completed with ``server_ids`` (committed, photos pending)."""
    now = utcnow()
    _orgs, admins = build_tree(now)
    wish = wish_rules.publish("demo", "o_pub", wish_typed(FIELDS), now=now)
    wish_rules.approve(admins["district"], wish.id, now=now)
    helper = make_volunteer()
    wish_rules.claim(helper, wish.id, "送一台收音机", now=now)
    wish_rules.complete(helper, wish.id, "已送到", server_ids, account="demo", now=now)
    db.session.commit()
    return wish.id


def jpeg(size=(1200, 900)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 120, 40)).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def ctx(app_pg):
    HOOKED.clear()
    with app_pg.app.app_context():
        yield app_pg
        db.session.rollback()


def item_ids(wish_id):
    return [p.media_item_id for p in WishPhoto.query.filter_by(wish_id=wish_id).order_by(WishPhoto.id)]


def photos(wish_id):
    db.session.expire_all()
    return [(p.media_id, p.state, p.path, p.attempts) for p in
            WishPhoto.query.filter_by(wish_id=wish_id).order_by(WishPhoto.id)]


def test_fetches_stores_with_a_thumbnail_and_is_idempotent(ctx):
    good = ctx.sandbox.add_media(PNG, "image/png", jssdk=True, appid=DEMO)
    gone = "jssdk_never_issued"
    wish_id = completed_wish([good, gone])
    first, second = item_ids(wish_id)
    assert [fetch_media(i) for i in (first, second)] == ["stored", "failed"]
    [(m1, s1, path, a1), (m2, s2, p2, a2)] = photos(wish_id)
    assert (m1, s1, a1) == (good, "stored", 1) and (m2, s2, p2) == (gone, "failed", None)
    item = db.session.get(MediaItem, first)
    assert path == f"wish_photo/{first // 1000}/{first}.png" and item.content_type == "image/png"
    with open(os.path.join(ctx.app.config["MEDIA_DIR"], path), "rb") as fh:
        data = fh.read()
    assert data.startswith(b"\x89PNG") and item.size == len(data)  # re-encoded (models.images), still a PNG
    with Image.open(os.path.join(ctx.app.config["MEDIA_DIR"], item.thumbnail_path)) as thumb:
        assert thumb.format == "JPEG"
    assert db.session.get(MediaItem, second).reason == "errcode 40007"
    calls = ctx.sandbox.calls_to("cgi-bin/media/get")
    assert len(calls) == 2 and ctx.sandbox.calls_to("cgi-bin/media/get/jssdk") == []
    # run again: nothing pending, nothing fetched, nothing changed
    assert [fetch_media(i) for i in (first, second)] == ["stored", "failed"]
    assert len(ctx.sandbox.calls_to("cgi-bin/media/get")) == 2
    assert photos(wish_id)[0][1] == "stored"


def test_a_thumbnail_is_small_and_served_apart_from_the_photo(ctx):
    item = media.receive("demo", ctx.sandbox.add_media(jpeg(), "image/jpeg", jssdk=True, appid=DEMO), TEST_PURPOSE,
                         now=utcnow())
    db.session.commit()
    assert fetch_media(item.id) == "stored"
    db.session.expire_all()
    item = db.session.get(MediaItem, item.id)
    with ctx.app.test_request_context():
        whole, small = send_media(item), send_media(item, thumbnail=True)
        whole.direct_passthrough = small.direct_passthrough = False
        with Image.open(io.BytesIO(whole.get_data())) as big, Image.open(io.BytesIO(small.get_data())) as thumb:
            assert big.size == (1200, 900) and thumb.size == (480, 360)
        assert small.mimetype == "image/jpeg"


def test_non_image_media_is_refused(ctx):
    voice = ctx.sandbox.add_media(b"RIFF....", "audio/speex", jssdk=True, appid=DEMO)
    wish_id = completed_wish([voice])
    assert fetch_media(item_ids(wish_id)[0]) == "failed"
    assert photos(wish_id)[0][1] == "failed"


def test_media_larger_than_wechat_keeps_fails_for_good_undecoded(ctx, monkeypatch):
    huge = ctx.sandbox.add_media(PNG + b"\0" * (10 * 1024 * 1024), "image/png", jssdk=True, appid=DEMO)
    wish_id = completed_wish([huge])
    decoded = []
    monkeypatch.setattr("jobs.media.checked_image", lambda data: decoded.append(data))
    assert fetch_media(item_ids(wish_id)[0]) == "failed"
    assert decoded == [] and db.session.get(MediaItem, item_ids(wish_id)[0]).reason == "larger than 10 MB"


def test_a_transient_error_leaves_the_photo_for_a_retry(ctx):
    good = ctx.sandbox.add_media(PNG, "image/png", jssdk=True, appid=DEMO)
    wish_id = completed_wish([good])
    [item_id] = item_ids(wish_id)
    ctx.sandbox.fail_next("cgi-bin/media/get", -1, errmsg="system error")
    with pytest.raises(WeChatClientException):
        fetch_media(item_id)  # raised so rq retries the job
    assert photos(wish_id)[0][1:] == ("pending", None, 1)
    # the sweep finds it once it has waited a while, and the retry stores it
    assert sweep_media()["resubmitted"] == []  # too fresh: its own job is still due to retry
    MediaItem.query.update({"created_at": utcnow() - timedelta(minutes=5), "tried_at": utcnow() - timedelta(minutes=5)})
    db.session.commit()
    assert sweep_media()["resubmitted"] == [item_id]
    assert fetch_media(item_id) == "stored"
    assert photos(wish_id)[0][1] == "stored"


def test_the_sweep_fails_what_outlived_wechats_three_days_and_the_purpose_hears_once(ctx):
    now = utcnow()
    old = media.receive("demo", "m_old", TEST_PURPOSE, now=now - timedelta(days=3, minutes=1))
    fresh = media.receive("demo", "m_fresh", TEST_PURPOSE, now=now - timedelta(days=2))
    db.session.commit()
    assert sweep_media(now) == {"resubmitted": [fresh.id], "expired": [old.id]}
    assert sweep_media(now)["expired"] == []
    assert HOOKED == [("failed", old.id, "expired")]
    assert db.session.get(MediaItem, old.id).state == "failed"


def test_hooks_run_once_in_the_jobs_transaction(ctx):
    good = ctx.sandbox.add_media(PNG, "image/png", jssdk=True, appid=DEMO)
    item = media.receive("demo", good, TEST_PURPOSE, now=utcnow())
    gone = media.receive("demo", "never_issued", TEST_PURPOSE, now=utcnow())
    db.session.commit()
    for _ in range(2):
        fetch_media(item.id)
        fetch_media(gone.id)
    assert HOOKED == [("stored", item.id, "stored"), ("failed", gone.id, "errcode 40007")]


def test_a_repeated_media_id_is_one_item_and_one_fetch(ctx, monkeypatch):
    submitted = []
    monkeypatch.setattr(fetch_media, "now", submitted.append)
    first = media.receive("demo", "m1", TEST_PURPOSE, now=utcnow())
    again = media.receive("demo", "m1", TEST_PURPOSE, now=utcnow())
    other_purpose = media.receive("demo", "m1", wish_rules.PHOTO, now=utcnow())
    assert first.id == again.id != other_purpose.id
    db.session.commit()
    assert submitted == [first.id, other_purpose.id], "fetched after the commit, once per item"
    assert MediaItem.query.count() == 2
    with pytest.raises(ValueError):
        media.receive("demo", "m2", "no_such_purpose", now=utcnow())


def test_a_rolled_back_receive_fetches_nothing(ctx, monkeypatch):
    submitted = []
    monkeypatch.setattr(fetch_media, "now", submitted.append)
    media.receive("demo", "m1", TEST_PURPOSE, now=utcnow())
    db.session.rollback()
    db.session.execute(db.text("SELECT 1"))
    db.session.commit()
    assert submitted == [] and MediaItem.query.count() == 0


def test_clean_ids_refuses_with_the_features_words():
    assert media.clean_ids([" a1 ", "a1", "b-2"], code="place_photo", least=2, most=6) == ["a1", "b-2"]
    for values, code, message in ((["a"], "place_photo_missing", "请至少上传2张照片。"),
                                  ([str(i) for i in range(7)], "place_photo_too_many", "照片最多6张。"),
                                  (["a", "b c"], "place_photo_invalid", "照片上传结果不正确，请重新选择照片。")):
        with pytest.raises(RuleViolation) as refused:
            media.clean_ids(values, code="place_photo", least=2, most=6)
        assert (refused.value.code, refused.value.message) == (code, message)

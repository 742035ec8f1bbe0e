"""The photo download job of a completed wish: ``wx.uploadImage`` photos come from ``media/get`` (the sandbox,
like WeChat, refuses them at ``media/get/jssdk``, which serves ``wx.uploadVoice`` recordings only)."""

from __future__ import annotations

import base64
import os
from datetime import timedelta

import pytest
from wechatpy.exceptions import WeChatClientException

from jobs.wishes import download_wish_photos, sweep_wish_photos
from models import WishPhoto, db, utcnow, wish_rules
from tests.support.orgs import build_tree, make_volunteer
from tests.support.wishes import wish_typed

DEMO = "wxdemo0000000001"
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
FIELDS = {"name": "张亚林", "district": "崇川区", "street": "", "age": "70", "gender": "F", "phone": "13912345678",
          "address": "和平桥新村1号", "situation": "独居老人", "content": "想要一台收音机"}


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


@pytest.fixture
def ctx(app_lite):
    with app_lite.app.app_context():
        yield app_lite
        db.session.rollback()


def photos(wish_id):
    db.session.expire_all()
    return [(p.media_id, p.state, p.path, p.attempts) for p in
            WishPhoto.query.filter_by(wish_id=wish_id).order_by(WishPhoto.id)]


def test_downloads_stores_and_is_idempotent(ctx):
    good = ctx.sandbox.add_media(PNG, "image/png", jssdk=True, appid=DEMO)
    gone = "jssdk_never_issued"
    wish_id = completed_wish([good, gone])
    assert download_wish_photos(wish_id) == {"stored": 1, "failed": 1, "pending": 0}
    [(m1, s1, path, a1), (m2, s2, p2, a2)] = photos(wish_id)
    assert (m1, s1, a1) == (good, "stored", 1) and (m2, s2, p2) == (gone, "failed", None)
    assert path == f"wishes/{wish_id}/{db.session.query(WishPhoto.id).filter_by(media_id=good).scalar()}.png"
    with open(os.path.join(ctx.app.config["MEDIA_DIR"], path), "rb") as fh:
        assert fh.read().startswith(b"\x89PNG")  # re-encoded (models.images), still a PNG
    calls = ctx.sandbox.calls_to("cgi-bin/media/get")
    assert len(calls) == 2 and ctx.sandbox.calls_to("cgi-bin/media/get/jssdk") == []
    # run again: nothing pending, nothing fetched, nothing changed
    assert download_wish_photos(wish_id) == {"stored": 0, "failed": 0, "pending": 0}
    assert len(ctx.sandbox.calls_to("cgi-bin/media/get")) == 2
    assert photos(wish_id)[0][1] == "stored"


def test_non_image_media_is_refused(ctx):
    voice = ctx.sandbox.add_media(b"RIFF....", "audio/speex", jssdk=True, appid=DEMO)
    wish_id = completed_wish([voice])
    assert download_wish_photos(wish_id)["failed"] == 1
    assert photos(wish_id)[0][1] == "failed"


def test_a_transient_error_leaves_the_photo_for_a_retry(ctx):
    good = ctx.sandbox.add_media(PNG, "image/png", jssdk=True, appid=DEMO)
    wish_id = completed_wish([good])
    ctx.sandbox.fail_next("cgi-bin/media/get", -1, errmsg="system error")
    with pytest.raises(WeChatClientException):
        download_wish_photos(wish_id)  # raised so rq retries the job
    assert photos(wish_id)[0][1:] == ("pending", None, 1)
    # the sweep finds it once it has waited a while, and the retry stores it
    assert sweep_wish_photos() == []  # too fresh: its own job is still due to retry
    WishPhoto.query.update({"created_at": utcnow() - timedelta(minutes=5)})
    db.session.commit()
    assert sweep_wish_photos() == [wish_id]
    ctx.drain_jobs()
    assert photos(wish_id)[0][1] == "stored"

"""Forged WeChat messages: a leaked plaintext callback URL, replayed with another body.

In plaintext mode the URL signature covers token, timestamp and nonce only.  Whoever read one
callback URL in a proxy log could post any body under it: a voice "from" an elder opens a help
request and tells every paired volunteer.  The service remembers each (timestamp, nonce) pair with
its body's digest, in the store every process shares, and refuses the pair with another body;
WeChat's own retries (the whole request again) still get the first reply.
"""

from __future__ import annotations

import copy
import threading
import time

import pytest
import requests

from models import Follower, HelpRequest, Notification, SharedValue, VoiceNote, db
from tests.support import wechat
from tests.support.help import build_help
from tests.support.settings import override
from wx_service import config as cfg

pytestmark = pytest.mark.timeout(120)


def signed_query(token: str = "demotoken", timestamp: str | None = None, nonce: str | None = None) -> dict:
    timestamp, nonce = timestamp or str(int(time.time())), nonce or wechat.fresh_nonce()
    return {"signature": wechat.sign(token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}


def voice_xml(openid: str, media_id: str) -> str:
    return wechat.message_xml(openid, "voice", {"MediaId": media_id, "Format": "amr", "MsgId": next(wechat._msg_ids)})


def _counts(handle) -> tuple[int, int, int]:
    with handle.app.app_context():
        return HelpRequest.query.count(), VoiceNote.query.count(), Notification.query.count()


def test_a_leaked_url_replayed_with_a_forged_voice_opens_nothing(any_app):
    with any_app.app.app_context():
        build_help(3)
    client, leaked = any_app.client(), signed_query()
    real = client.post("/wechat/demo", query_string=leaked, data=voice_xml("o_elder", "m_real"),
                       content_type="text/xml")
    assert real.status_code == 200 and "已经通知您的结对志愿者" in real.get_data(as_text=True)
    before = _counts(any_app)
    assert before[0] == 1 and before[2] >= 3

    for forged in (voice_xml("o_elder", "m_forged"), voice_xml("o_elder", "m_real"),
                   wechat.text_xml("o_elder", "救命"), wechat.event_xml("o_stranger", "subscribe")):
        res = client.post("/wechat/demo", query_string=leaked, data=forged, content_type="text/xml")
        assert res.status_code == 403
    assert _counts(any_app) == before
    with any_app.app.app_context():
        assert Follower.query.filter_by(openid="o_stranger").count() == 0


def test_a_forged_body_under_a_seen_pair_does_not_take_the_dedup_key_of_the_message_it_names(any_app):
    """Events are deduplicated by sender, time, Event and EventKey, all guessable: a forged body under a
    leaked pair must write nothing, or the real event, when it comes, would be answered as a repeat."""
    client, leaked = any_app.client(), signed_query()
    assert client.post("/wechat/demo", query_string=leaked, data=wechat.event_xml("o_first_user", "CLICK", "CONTACT"),
                       content_type="text/xml").status_code == 200
    coming = wechat.event_xml("o_next_user", "subscribe", create_time=int(time.time()) + 5)
    assert client.post("/wechat/demo", query_string=leaked, data=coming, content_type="text/xml").status_code == 403
    real = client.post("/wechat/demo", query_string=signed_query(), data=coming, content_type="text/xml")
    assert real.status_code == 200 and "欢迎关注江海志愿" in real.get_data(as_text=True)
    with any_app.app.app_context():
        assert Follower.query.filter_by(openid="o_next_user").one().following


def test_wechat_retrying_the_whole_request_gets_the_first_reply(any_app):
    client, query = any_app.client(), signed_query()
    xml = wechat.event_xml("o_retry", "CLICK", "CONTACT")
    replies = [client.post("/wechat/demo", query_string=query, data=xml, content_type="text/xml") for _ in range(3)]
    assert [r.status_code for r in replies] == [200, 200, 200]
    assert replies[0].data.startswith(b"<xml>") and replies[1].data == replies[0].data == replies[2].data


def test_safe_mode_retry_reuses_the_pair_and_gets_the_same_reply(any_app):
    client, nonce, timestamp = any_app.client(), wechat.fresh_nonce(), str(int(time.time()))
    xml = wechat.text_xml("o_safe_retry", "在吗")
    first, again = (wechat.post(client, any_app.config, "safe", xml, safe=True, timestamp=timestamp, nonce=nonce)
                    for _ in range(2))
    assert first.status_code == again.status_code == 200
    assert (wechat.decrypt_reply(any_app.config, "safe", first.get_data(as_text=True))
            == wechat.decrypt_reply(any_app.config, "safe", again.get_data(as_text=True)))


def test_bodies_racing_under_one_pair_only_one_is_taken(any_app):
    """Eight requests at once over HTTP, each another body under the same signed URL: one wins."""
    query, n = signed_query(), 8
    barrier, statuses = threading.Barrier(n), []

    def send(i):
        body = wechat.event_xml(f"o_race_{i}", "subscribe").encode()
        barrier.wait()
        statuses.append(requests.post(f"{any_app.base_url}/wechat/demo", params=query, data=body, timeout=30,
                                      headers={"Content-Type": "text/xml"}).status_code)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [403] * (n - 1)
    with any_app.app.app_context():
        assert Follower.query.count() == 1


def test_a_pair_is_remembered_a_day_and_at_least_the_window(any_app, monkeypatch):
    store = any_app.app.extensions["wx_store"]
    for skew, at_least in ((0, 24 * 3600), (300, 24 * 3600), (100_000, 200_000)):
        override(any_app.app, monkeypatch, "app", max_clock_skew=skew)
        query = signed_query()
        res = any_app.client().post("/wechat/demo", query_string=query, data=wechat.text_xml("o_ttl", "x"),
                                    content_type="text/xml")
        assert res.status_code == 200
        with any_app.app.app_context():
            assert store.ttl(f"pair:demo:{query['timestamp']}:{query['nonce']}") >= at_least - 60


def test_stale_or_non_numeric_timestamps_are_refused_inside_the_window(any_app, monkeypatch):
    override(any_app.app, monkeypatch, "app", max_clock_skew=300)
    client = any_app.client()
    for timestamp in (str(int(time.time()) - 301), str(int(time.time()) + 301), "1e9", "soon"):
        res = client.post("/wechat/demo", query_string=signed_query(timestamp=timestamp),
                          data=wechat.text_xml("o_stale", "x"), content_type="text/xml")
        assert res.status_code == 403, timestamp
    with any_app.app.app_context():
        assert db.session.query(Follower).count() == 0


PRODUCTION = {"app": {"env": "production", "secret_key": "real-secret"}, "security": {"data_key": "k" * 44},
              "sms": {"sender": "http", "endpoint": "https://sms.example.org/send"},
              "database": {"url": "postgresql://x/y"},
              "accounts": {"a": {"app_id": "wx1", "app_secret": "s", "token": "t", "main": True}}}


def test_production_has_a_five_minute_window_unless_told_otherwise():
    assert cfg.load(copy.deepcopy(PRODUCTION)).app.max_clock_skew == 300
    off = copy.deepcopy(PRODUCTION)
    off["app"]["max_clock_skew"] = 0
    assert cfg.load(off).app.max_clock_skew == 0
    development = {"database": {"url": "sqlite://"}, "accounts": PRODUCTION["accounts"]}
    assert cfg.load(development).app.max_clock_skew == 0
    negative = copy.deepcopy(PRODUCTION)
    negative["app"]["max_clock_skew"] = -1
    with pytest.raises(cfg.ConfigError, match="app.max_clock_skew"):
        cfg.load(negative)


def _forget_dedup_keys(handle) -> None:
    """What ten minutes do: the dedup keys (and the replies kept beside them) expire — after the store has sent
    the replies it keeps a few milliseconds late (``shared_store.SoonWrites``), as it has ten minutes later."""
    handle.app.extensions["wx_store"].flush()
    connection = handle.app.extensions.get("wx_redis")
    if connection is not None:
        for key in connection.scan_iter(f"{handle.config['redis']['queue']}:dedup:*"):
            connection.delete(key)
    with handle.app.app_context():
        SharedValue.query.filter(SharedValue.key.like("dedup:%")).delete(synchronize_session=False)
        db.session.commit()


def test_the_whole_request_replayed_after_the_dedup_window_has_no_effect(any_app):
    """A copy of a real voice callback, URL and body, posted again an hour later (window off): nothing happens."""
    with any_app.app.app_context():
        build_help(2)
    client, leaked, body = any_app.client(), signed_query(), voice_xml("o_elder", "m_real")
    first = client.post("/wechat/demo", query_string=leaked, data=body, content_type="text/xml")
    assert first.status_code == 200 and "已经通知您的结对志愿者" in first.get_data(as_text=True)
    before = _counts(any_app)
    _forget_dedup_keys(any_app)
    replay = client.post("/wechat/demo", query_string=leaked, data=body, content_type="text/xml")
    assert replay.status_code == 200 and replay.data == b"success"
    assert _counts(any_app) == before


def test_a_request_answered_503_is_processed_when_wechat_retries_it(any_app, monkeypatch):
    """The database down while handling: the pair is forgotten with the dedup key, so the retry counts."""
    from sqlalchemy.exc import OperationalError

    from wx_service.wechat import callback

    handle = callback._handle
    calls = []

    def down_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("SELECT 1", {}, Exception("connection refused"))
        return handle(*args, **kwargs)

    monkeypatch.setattr(callback, "_handle", down_once)
    client, query, xml = any_app.client(), signed_query(), wechat.event_xml("o_after_outage", "subscribe")
    assert client.post("/wechat/demo", query_string=query, data=xml, content_type="text/xml").status_code == 503
    retry = client.post("/wechat/demo", query_string=query, data=xml, content_type="text/xml")
    assert retry.status_code == 200 and "欢迎关注" in retry.get_data(as_text=True)
    with any_app.app.app_context():
        assert Follower.query.filter_by(openid="o_after_outage").count() == 1

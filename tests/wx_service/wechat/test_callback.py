"""The callback: signatures, the three modes, repeats, hostile bodies, every type answered."""

import time

import pytest
from wechatpy.crypto import WeChatCrypto

from models import Follower, SharedValue
from tests.support import wechat
from tests.support.appfactory import SAFE_AES_KEY
from tests.support.settings import override

OFFICIAL_ENCRYPT = (
    "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9"
    "FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt"
    "+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0"
    "EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE="
)


def test_get_echoes_echostr_when_signed(any_app):
    client = any_app.client()
    ts, nonce = "1409735669", "123"
    ok = client.get("/wechat/demo", query_string={"signature": wechat.sign("demotoken", ts, nonce), "timestamp": ts,
                                                   "nonce": nonce, "echostr": "hello123"})
    assert ok.status_code == 200 and ok.data == b"hello123"
    bad = client.get("/wechat/demo", query_string={"signature": "0" * 40, "timestamp": ts, "nonce": nonce,
                                                    "echostr": "x"})
    assert bad.status_code == 403


def test_bad_signature_is_403_and_writes_nothing(any_app):
    client = any_app.client()
    xml = wechat.event_xml("o_bad", "subscribe")
    res = client.post("/wechat/demo", query_string={"signature": "f" * 40, "timestamp": "1", "nonce": "2"},
                      data=xml, content_type="text/xml")
    assert res.status_code == 403
    with any_app.app.app_context():
        assert Follower.query.count() == 0 and SharedValue.query.count() == 0


def test_unknown_account_is_404(any_app):
    assert any_app.client().post("/wechat/nosuch").status_code == 404


OFFICIAL_TIMESTAMP, OFFICIAL_NONCE = "1409735669", "1320562132"


def _post_official_sample(handle, body: str, msg_signature: str):
    """WeChat's published safe-mode sample posted to the ``safe`` account (Token spamtest), signed as sent."""
    ts, nonce = OFFICIAL_TIMESTAMP, OFFICIAL_NONCE
    return handle.client().post("/wechat/safe", data=body, content_type="text/xml", query_string={
        "signature": wechat.sign("spamtest", ts, nonce), "timestamp": ts, "nonce": nonce, "encrypt_type": "aes",
        "msg_signature": msg_signature})


def test_official_safe_mode_sample_decrypts(any_app):
    """WeChat's published vector: Token spamtest, the sample EncodingAESKey and AppID."""
    body = f"<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><Encrypt><![CDATA[{OFFICIAL_ENCRYPT}]]></Encrypt></xml>"
    res = _post_official_sample(any_app, body, "5d197aaffba7e9b25a30732f161a50dee96bd5fa")
    assert res.status_code == 200
    plain = wechat.decrypt_reply(any_app.config, "safe", res.get_data(as_text=True), OFFICIAL_NONCE)
    # The text handler answered the sender, from the account the message was addressed to.
    assert "<ToUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]>" in plain
    assert "<FromUserName><![CDATA[gh_10f6c3c3ac5a]]>" in plain
    with any_app.app.app_context():
        assert Follower.query.filter_by(account="safe", openid="oyORnuP8q7ou2gfYjqLzSIWZf0rs").count() == 1


def test_safe_mode_wrong_msg_signature_is_403(any_app):
    res = _post_official_sample(any_app, f"<xml><Encrypt><![CDATA[{OFFICIAL_ENCRYPT}]]></Encrypt></xml>", "0" * 40)
    assert res.status_code == 403


def test_safe_mode_round_trip_and_encrypted_reply(any_app):
    client = any_app.client()
    res = wechat.post(client, any_app.config, "safe", wechat.text_xml("o_safe", "你好"), safe=True)
    assert res.status_code == 200
    reply = res.get_data(as_text=True)
    assert "<Encrypt>" in reply and "你好" not in reply
    assert "江海志愿" in wechat.decrypt_reply(any_app.config, "safe", reply)


def _compatible_body(signed_xml: str, plain_xml: str, timestamp: str, nonce: str) -> tuple[str, str]:
    """Compatible mode: the plaintext fields and ``Encrypt`` side by side; (body, msg_signature)."""
    import re

    crypto = WeChatCrypto("spamtest", SAFE_AES_KEY, "wx2c2769f8efd9abc2")
    enc = re.search(r"<Encrypt><!\[CDATA\[(.*?)\]\]>", crypto.encrypt_message(signed_xml, nonce, timestamp)).group(1)
    return (plain_xml.replace("</xml>", f"<Encrypt><![CDATA[{enc}]]></Encrypt></xml>"),
            wechat.sign("spamtest", timestamp, nonce, enc))


@pytest.mark.parametrize("with_encrypt_type", [True, False])
def test_compatible_mode_reads_the_encrypted_message_not_the_plain_fields(any_app, with_encrypt_type):
    """The plaintext beside Encrypt is not signed: a proxy could change it; the service reads Encrypt only."""
    ts, nonce = str(int(time.time())), wechat.fresh_nonce()
    body, msg_signature = _compatible_body(wechat.text_xml("o_compat_real", "hi"),
                                           wechat.text_xml("o_compat_forged", "hi"), ts, nonce)
    query = {"signature": wechat.sign("spamtest", ts, nonce), "timestamp": ts, "nonce": nonce,
             "msg_signature": msg_signature, **({"encrypt_type": "aes"} if with_encrypt_type else {})}
    res = any_app.client().post("/wechat/safe", query_string=query, data=body, content_type="text/xml")
    assert res.status_code == 200
    assert "o_compat_real" in wechat.decrypt_reply(any_app.config, "safe", res.get_data(as_text=True))
    with any_app.app.app_context():
        assert [f.openid for f in Follower.query.all()] == ["o_compat_real"]


@pytest.mark.parametrize("query", [{}, {"encrypt_type": "raw"}, {"encrypt_type": "aes"}])
def test_plaintext_body_on_an_account_with_a_key_is_refused(any_app, query):
    """A downgrade: a plaintext body on a safe-mode account, signed with the URL signature only."""
    res = wechat.post(any_app.client(), any_app.config, "safe", wechat.event_xml("o_downgrade", "subscribe"),
                      **query)
    assert res.status_code == 403
    with any_app.app.app_context():
        assert Follower.query.count() == 0


def test_compatible_body_without_msg_signature_is_refused(any_app):
    xml = wechat.text_xml("o_compat", "hi").replace("</xml>", "<Encrypt><![CDATA[abc]]></Encrypt></xml>")
    res = wechat.post(any_app.client(), any_app.config, "safe", xml)
    assert res.status_code == 403
    with any_app.app.app_context():
        assert Follower.query.count() == 0


@pytest.mark.parametrize("body", [
    b"not xml at all",
    b"<xml><ToUserName>",
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><xml><Content>&b;</Content></xml>',
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><FromUserName>&xxe;</FromUserName></xml>',
    b"<other><a>1</a></other>",
    b"<xml><MsgType>text</MsgType></xml>",
    "<xml>\u00e9</xml>".encode("latin-1"),
])
def test_malformed_bodies_are_4xx_and_write_nothing(any_app, body):
    token = "demotoken"
    ts, nonce = str(int(time.time())), "42"
    res = any_app.client().post("/wechat/demo", data=body, content_type="text/xml", query_string={
        "signature": wechat.sign(token, ts, nonce), "timestamp": ts, "nonce": nonce})
    assert 400 <= res.status_code < 500
    with any_app.app.app_context():
        assert Follower.query.count() == 0


def test_body_over_one_megabyte_is_413(any_app):
    ts, nonce = str(int(time.time())), "42"
    body = b"<xml><Content>" + b"a" * (1024 * 1024 + 10) + b"</Content></xml>"
    res = any_app.client().post("/wechat/demo", data=body, content_type="text/xml", query_string={
        "signature": wechat.sign("demotoken", ts, nonce), "timestamp": ts, "nonce": nonce})
    assert res.status_code == 413


def _signed_query() -> dict:
    ts, nonce = str(int(time.time())), wechat.fresh_nonce()
    return {"signature": wechat.sign("demotoken", ts, nonce), "timestamp": ts, "nonce": nonce}


def test_a_message_of_exactly_one_megabyte_is_read_whole(any_app):
    """The limit is the body's length, not one byte less: a message padded to 1 MiB is answered."""
    xml = wechat.event_xml("o_long_message", "CLICK", "CONTACT").encode()
    body = xml[:-len(b"</xml>")] + b" " * (1024 * 1024 - len(xml)) + b"</xml>"
    assert len(body) == 1024 * 1024
    res = any_app.client().post("/wechat/demo", data=body, content_type="text/xml", query_string=_signed_query())
    assert res.status_code == 200 and "江海志愿服务总站".encode() in res.data


def test_a_streamed_body_without_a_length_is_413_once_it_passes_one_megabyte(any_app):
    """A chunked body (no Content-Length; gunicorn says it ends the stream itself) is cut off while it is read."""
    from io import BytesIO

    from werkzeug.test import EnvironBuilder, run_wsgi_app

    body = b"<xml><Content>" + b"a" * (1024 * 1024) + b"</Content></xml>"
    environ = EnvironBuilder(path="/wechat/demo", method="POST", query_string=_signed_query(),
                             content_type="text/xml").get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ.update({"wsgi.input": BytesIO(body), "wsgi.input_terminated": True, "HTTP_TRANSFER_ENCODING": "chunked"})
    _answer, status, _headers = run_wsgi_app(any_app.app, environ, buffered=True)
    assert status.startswith("413")
    with any_app.app.app_context():
        assert Follower.query.count() == 0


def test_wrong_aes_key_is_400(any_app):
    """A body encrypted with another key cannot be decrypted: a 4xx, not a 500."""
    import copy

    other = copy.deepcopy(any_app.config)
    other["accounts"]["safe"]["encoding_aes_key"] = "B" * 43
    res = wechat.post(any_app.client(), other, "safe", wechat.text_xml("o_x", "x"), safe=True)
    assert res.status_code == 400


def test_repeat_delivery_is_applied_once_and_gets_the_same_reply(any_app):
    client = any_app.client()
    xml = wechat.event_xml("o_rep", "subscribe")
    first = wechat.post(client, any_app.config, "demo", xml)
    with any_app.app.app_context():
        follower = Follower.query.filter_by(openid="o_rep").one()
        subscribed_at = follower.subscribed_at
    for _ in range(3):
        again = wechat.post(client, any_app.config, "demo", xml)
        assert again.data == first.data
    with any_app.app.app_context():
        assert Follower.query.filter_by(openid="o_rep").one().subscribed_at == subscribed_at


def test_a_repeat_that_comes_before_the_reply_is_kept_waits_for_it(app_pg, monkeypatch):
    """The reply is kept a moment after it was sent (``SoonWrites``): WeChat's retry in that moment — or
    the same message under another nonce — waits for it instead of being answered ``success``."""
    from wx_service.shared_store import SoonWrites

    monkeypatch.setattr(SoonWrites, "LINGER", 0.4)
    client, xml = app_pg.client(), wechat.text_xml("o_rep_soon", "你好")
    timestamp, nonce = str(int(time.time())), wechat.fresh_nonce()
    query = {"signature": wechat.sign("demotoken", timestamp, nonce), "timestamp": timestamp, "nonce": nonce}
    first = client.post("/wechat/demo", query_string=query, data=xml.encode(), content_type="text/xml")
    store = app_pg.app.extensions["wx_store"]
    with app_pg.app.app_context():
        assert store.get(next(iter(_dedup_keys(store, "o_rep_soon")))) == "\x01pending"  # not kept yet
    retry = client.post("/wechat/demo", query_string=query, data=xml.encode(), content_type="text/xml")
    again = wechat.post(client, app_pg.config, "demo", xml)
    assert b"o_rep_soon" in first.data and first.data == retry.data == again.data


def _dedup_keys(store, openid):
    return [key.decode()[len(store.prefix):] for key in store.redis.scan_iter(f"{store.prefix}dedup:*{openid}*")]


def test_same_msgid_from_two_users_is_not_a_repeat(any_app):
    client = any_app.client()
    a = wechat.post(client, any_app.config, "demo", wechat.text_xml("o_a", "x", msg_id=1, create_time=100))
    b = wechat.post(client, any_app.config, "demo", wechat.text_xml("o_b", "x", msg_id=1, create_time=100))
    assert b"o_a" in a.data and b"o_b" in b.data


def test_subscribe_welcomes_with_bind_and_home_links(any_app):
    res = wechat.post(any_app.client(), any_app.config, "demo", wechat.event_xml("o_new", "subscribe"))
    text = res.get_data(as_text=True)
    assert "/m/bind?account=demo" in text and "/m/?account=demo" in text
    assert "<ToUserName><![CDATA[o_new]]>" in text and "<FromUserName><![CDATA[gh_test]]>" in text


def test_qrscene_subscribe_is_handled_like_scan(any_app):
    res = wechat.post(any_app.client(), any_app.config, "demo",
                      wechat.event_xml("o_qr", "subscribe", key="qrscene_123", Ticket="t"))
    assert "123" in res.get_data(as_text=True)
    with any_app.app.app_context():
        assert Follower.query.filter_by(openid="o_qr").one().following


def test_unsubscribe_marks_the_follower(any_app):
    client = any_app.client()
    wechat.post(client, any_app.config, "demo", wechat.event_xml("o_u", "subscribe"))
    res = wechat.post(client, any_app.config, "demo", wechat.event_xml("o_u", "unsubscribe"))
    assert res.data == b"success"
    with any_app.app.app_context():
        assert not Follower.query.filter_by(openid="o_u").one().following


def test_location_is_kept_and_answered_success(any_app):
    res = wechat.post(any_app.client(), any_app.config, "demo",
                      wechat.event_xml("o_loc", "LOCATION", Latitude=32.01, Longitude=120.86, Precision=30.0))
    assert res.data == b"success"
    with any_app.app.app_context():
        f = Follower.query.filter_by(openid="o_loc").one()
        assert (f.last_latitude, f.last_longitude, f.last_precision) == (32.01, 120.86, 30.0)


@pytest.mark.parametrize("msg_type, fields", [
    ("image", {"PicUrl": "http://x/y.jpg", "MediaId": "m1", "MsgId": 11}),
    ("voice", {"MediaId": "m2", "Format": "amr", "MsgId": 12}),
    ("video", {"MediaId": "m3", "ThumbMediaId": "t", "MsgId": 13}),
    ("shortvideo", {"MediaId": "m4", "ThumbMediaId": "t", "MsgId": 14}),
    ("location", {"Location_X": 32.0, "Location_Y": 120.0, "Scale": 15, "Label": "南通", "MsgId": 15}),
    ("link", {"Title": "t", "Description": "d", "Url": "http://x", "MsgId": 16}),
    ("miniprogrampage", {"Title": "t", "AppId": "wx", "PagePath": "p", "MsgId": 17}),
    ("event", {"Event": "VIEW", "EventKey": "http://x"}),
    ("event", {"Event": "TEMPLATESENDJOBFINISH", "MsgID": 1, "Status": "success"}),
    ("event", {"Event": "scancode_push", "EventKey": "k", "ScanCodeInfo": ""}),
    ("event", {"Event": "pic_sysphoto", "EventKey": "k"}),
    ("event", {"Event": "location_select", "EventKey": "k"}),
    ("event", {"Event": "view_miniprogram", "EventKey": "p"}),
    ("event", {"Event": "something_new", "EventKey": "k"}),
    ("something_unknown", {"Foo": "bar"}),
])
def test_every_type_gets_an_answer(any_app, msg_type, fields):
    res = wechat.post(any_app.client(), any_app.config, "demo", wechat.message_xml("o_t", msg_type, fields))
    assert res.status_code == 200
    assert res.data == b"success" or res.data.startswith(b"<xml>")


def test_click_keys_reply(any_app):
    from menus import keys

    client = any_app.client()
    for key in (keys.CONTACT, keys.DEMAND, keys.ORDER, keys.MY_QRCODE, "UNKNOWN_KEY"):
        res = wechat.post(client, any_app.config, "demo", wechat.event_xml("o_click", "CLICK", key=key))
        assert res.status_code == 200 and b"<Content>" in res.data


def test_text_gets_help_with_links(any_app):
    res = wechat.post(any_app.client(), any_app.config, "demo", wechat.text_xml("o_txt", "在吗"))
    text = res.get_data(as_text=True)
    assert "/m/projects?account=demo" in text and "/m/bind?account=demo" in text


def test_a_handler_that_raises_is_answered_success(any_app, monkeypatch):
    import handlers.text

    def boom(incoming):
        raise RuntimeError("bug in a handler")

    monkeypatch.setattr(handlers.router, "resolve", lambda *a: boom)
    res = wechat.post(any_app.client(), any_app.config, "demo", wechat.text_xml("o_boom", "x"))
    assert res.status_code == 200 and res.data == b"success"
    assert handlers.text  # the module stays importable


def test_clock_skew_window_when_configured(any_app, monkeypatch):
    override(any_app.app, monkeypatch, "app", max_clock_skew=300)
    old = wechat.post(any_app.client(), any_app.config, "demo", wechat.text_xml("o_old", "x"),
                      timestamp=str(int(time.time()) - 3600))
    fresh = wechat.post(any_app.client(), any_app.config, "demo", wechat.text_xml("o_new2", "x"))
    assert old.status_code == 403 and fresh.status_code == 200


def test_callback_opens_no_cookie_session(any_app):
    """WeChat sends no cookies; the callback neither reads a session nor answers with a cookie."""
    client = any_app.client()
    res = wechat.post(client, any_app.config, "demo", wechat.event_xml("o_nocookie", "CLICK", "CONTACT"))
    assert res.status_code == 200 and "Set-Cookie" not in res.headers
    assert "Cookie" not in res.headers.get("Vary", "")

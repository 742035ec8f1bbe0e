"""The sandbox's WeChat API: strict answers, recorded calls, fault injection, the phone callback."""

from __future__ import annotations

import hashlib
import json

import pytest
from flask import Flask, request
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature

from wx_service import config
from wx_service.dev.sandbox import bp, get_state, send_callback

APPID = "wxdemo0000000001"
SECRET = "demo-secret-0000000000000000001"
SAFE_APPID = "wxsafe0000000002"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


@pytest.fixture()
def app(tmp_path):
    raw = config.development_default(tmp_path)
    raw["app"]["base_url"] = "http://localhost"
    raw["database"]["url"] = f"sqlite:///{tmp_path / 'test.sqlite3'}"
    demo = raw["accounts"]["demo"]
    demo["api_base"] = demo["oauth_base"] = "http://localhost/sandbox/"
    raw["accounts"]["safe"] = dict(
        demo,
        app_id=SAFE_APPID,
        app_secret="safe-secret",
        token="safetoken",
        encoding_aes_key=AES_KEY,
        main=False,
        title="安全模式",
    )
    app = Flask(__name__)
    app.config["WX_SETTINGS"] = config.load(raw)
    app.register_blueprint(bp, url_prefix="/sandbox")

    @app.post("/wechat/<name>")
    def wechat(name):  # a minimal service callback, written the way the real one uses wechatpy
        account = app.config["WX_SETTINGS"].accounts[name]
        args = request.args
        check_signature(account.token, args["signature"], args["timestamp"], args["nonce"])
        body = request.get_data(as_text=True)
        crypto = None
        if args.get("encrypt_type") == "aes":
            crypto = WeChatCrypto(account.token, account.encoding_aes_key, account.app_id)
            body = crypto.decrypt_message(body, args["msg_signature"], args["timestamp"], args["nonce"])
        msg = parse_message(body)
        if msg.type == "event" and msg.event == "location":
            return "success"
        text = getattr(msg, "content", None) or getattr(msg, "scan_result", None) or msg.type
        reply = TextReply(message=msg, content=f"echo:{text}").render()
        return crypto.encrypt_message(reply, args["nonce"], args["timestamp"]) if crypto else reply

    return app


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture()
def state(app):
    return get_state(app)


def token(client, appid=APPID, secret=SECRET):
    data = client.get(
        "/sandbox/cgi-bin/token",
        query_string={"grant_type": "client_credential", "appid": appid, "secret": secret},
    ).get_json()
    return data["access_token"]


def post(client, path, tok, body):
    # wechatpy posts JSON bytes without a Content-Type header
    return client.post(
        f"/sandbox/{path}",
        query_string={"access_token": tok},
        data=json.dumps(body, ensure_ascii=False).encode(),
    ).get_json()


def tag_members(client, tok, action: str, tagid: int) -> int:
    """The errcode of ``cgi-bin/tags/members/<action>`` (batchtagging, batchuntagging) for o_demo_admin."""
    body = {"openid_list": ["o_demo_admin"], "tagid": tagid}
    return post(client, f"cgi-bin/tags/members/{action}", tok, body)["errcode"]


@pytest.mark.parametrize("path", ["cgi-bin/message/template/send", "cgi-bin/message/custom/send",
                                  "cgi-bin/tags/members/batchtagging", "cgi-bin/tags/members/batchuntagging"])
def test_a_body_that_is_not_a_json_object_is_refused_as_wechat_does(client, path):
    tok = token(client)
    empty = client.post(f"/sandbox/{path}", query_string={"access_token": tok}).get_json()
    assert empty["errcode"] == 44002
    assert post(client, path, tok, ["not", "an", "object"])["errcode"] == 47001
    broken = client.post(f"/sandbox/{path}", query_string={"access_token": tok}, data=b"{nope").get_json()
    assert broken["errcode"] == 47001
    stable = client.post("/sandbox/cgi-bin/stable_token", data=b"[]").get_json()
    assert stable["errcode"] == 47001


def test_token_issue_and_strict_credentials(client, state):
    ok = client.get(
        "/sandbox/cgi-bin/token",
        query_string={"grant_type": "client_credential", "appid": APPID, "secret": SECRET},
    ).get_json()
    assert ok["expires_in"] == 7200 and ok["access_token"]
    assert state.token_fetches[APPID] == 1
    bad = client.get(
        "/sandbox/cgi-bin/token",
        query_string={"grant_type": "client_credential", "appid": APPID, "secret": "nope"},
    ).get_json()
    assert bad["errcode"] == 40125
    assert (
        client.get("/sandbox/cgi-bin/user/info?access_token=forged&openid=x").get_json()["errcode"] == 40001
    )
    assert client.get("/sandbox/cgi-bin/user/info?openid=x").get_json()["errcode"] == 41001
    state.expire_token(APPID)
    assert (
        client.get("/sandbox/cgi-bin/tags/get", query_string={"access_token": ok["access_token"]}).get_json()[
            "errcode"
        ]
        == 40001
    )
    assert state.calls_to("cgi-bin/token")[0]["params"]["appid"] == APPID


def test_stable_token_does_not_rotate(client, state):
    body = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET}
    first = client.post("/sandbox/cgi-bin/stable_token", json=body).get_json()["access_token"]
    again = client.post("/sandbox/cgi-bin/stable_token", json=body).get_json()["access_token"]
    assert first == again and state.token_fetches[APPID] == 1
    forced = client.post("/sandbox/cgi-bin/stable_token", json=dict(body, force_refresh=True)).get_json()
    assert forced["access_token"] != first and state.token_fetches[APPID] == 2
    assert (
        client.get("/sandbox/cgi-bin/tags/get", query_string={"access_token": first}).get_json()["errcode"]
        == 40001
    )
    # cgi-bin/token rotates, but leaves the previous token working for a while
    rotated = token(client)
    assert rotated != forced["access_token"]
    assert (
        "tags"
        in client.get(
            "/sandbox/cgi-bin/tags/get", query_string={"access_token": forced["access_token"]}
        ).get_json()
    )


def test_oauth_code_single_use(client, state):
    client.set_cookie("sandbox_openid", "o_demo_volunteer")
    resp = client.get(
        "/sandbox/connect/oauth2/authorize",
        query_string={
            "appid": APPID,
            "redirect_uri": "http://localhost/m/home?x=1",
            "response_type": "code",
            "scope": "snsapi_base",
            "state": "abc",
        },
    )
    assert resp.status_code == 302
    location = resp.headers["Location"]
    assert location.startswith("http://localhost/m/home?x=1&code=") and location.endswith("&state=abc")
    code = location.split("code=")[1].split("&")[0]
    q = {"appid": APPID, "secret": SECRET, "code": code, "grant_type": "authorization_code"}
    first = client.get("/sandbox/sns/oauth2/access_token", query_string=q).get_json()
    assert first["openid"] == "o_demo_volunteer" and first["scope"] == "snsapi_base"
    assert client.get("/sandbox/sns/oauth2/access_token", query_string=q).get_json()["errcode"] == 40163
    assert (
        client.get("/sandbox/sns/oauth2/access_token", query_string=dict(q, code="zzz")).get_json()["errcode"]
        == 40029
    )
    old = state.issue_code(APPID, "o_demo_admin")
    state.age_code(old, 301)
    assert (
        client.get("/sandbox/sns/oauth2/access_token", query_string=dict(q, code=old)).get_json()["errcode"]
        == 40029
    )
    # without the cookie the page asks who you are
    client.delete_cookie("sandbox_openid")
    page = client.get(
        "/sandbox/connect/oauth2/authorize",
        query_string={
            "appid": APPID,
            "redirect_uri": "http://localhost/m/home",
            "response_type": "code",
            "scope": "snsapi_base",
        },
    )
    assert page.status_code == 200 and "o_demo_elder" in page.get_data(as_text=True)


def test_template_send_rules_and_idempotency(client, state):
    tok = token(client)
    state.follow(APPID, "o_demo_volunteer")
    msg = {
        "touser": "o_demo_volunteer",
        "template_id": "TPL1",
        "url": "http://localhost/m/x",
        "data": {"thing1": {"value": "社区清洁活动"}, "time2": {"value": "2024年5月1日 09:00"}},
        "client_msg_id": "n-1",
    }
    first = post(client, "cgi-bin/message/template/send", tok, msg)
    again = post(client, "cgi-bin/message/template/send", tok, msg)
    assert first["errcode"] == 0 and again["msgid"] == first["msgid"]
    assert len(state.delivered) == 1 and state.receipts["n-1"] == 2

    too_long = dict(msg, client_msg_id="n-2", data={"thing1": {"value": "一" * 21}})
    assert post(client, "cgi-bin/message/template/send", tok, too_long)["errcode"] == 47003
    legacy = dict(msg, client_msg_id="n-3", data={"first": {"value": "您好"}, "thing1": {"value": "好"}})
    assert post(client, "cgi-bin/message/template/send", tok, legacy)["errcode"] == 0
    assert state.delivered[-1]["warnings"]
    assert (
        post(client, "cgi-bin/message/template/send", tok, dict(msg, touser="o_nobody"))["errcode"] == 40003
    )
    state.bad_templates.add("TPL_OTHER")
    assert (
        post(client, "cgi-bin/message/template/send", tok, dict(msg, template_id="TPL_OTHER"))["errcode"]
        == 40037
    )

    state.unfollowed("o_demo_volunteer")
    assert (
        post(client, "cgi-bin/message/template/send", tok, dict(msg, client_msg_id="n-4"))["errcode"] == 43004
    )


def test_fault_injection(client, state):
    tok = token(client)
    state.follow(APPID, "o_demo_admin")
    msg = {"touser": "o_demo_admin", "template_id": "T", "data": {}, "client_msg_id": "f-1"}
    state.fail_next("cgi-bin/message/template/send", 45009, times=2)
    codes = [post(client, "cgi-bin/message/template/send", tok, msg)["errcode"] for _ in range(3)]
    assert codes == [45009, 45009, 0]
    assert state.receipts["f-1"] == 3 and len(state.delivered) == 1


def test_tags_flow_and_conditional_menu(client, state):
    tok = token(client)
    state.follow(APPID, "o_demo_admin")
    tag = post(client, "cgi-bin/tags/create", tok, {"tag": {"name": "管理员"}})["tag"]
    assert tag["id"] >= 100
    assert post(client, "cgi-bin/tags/create", tok, {"tag": {"name": "管理员"}})["errcode"] == 45157
    assert tag_members(client, tok, "batchtagging", tag["id"]) == 0
    assert tag_members(client, tok, "batchtagging", 999) == 45159
    assert post(client, "cgi-bin/tags/getidlist", tok, {"openid": "o_demo_admin"})["tagid_list"] == [
        tag["id"]
    ]
    tags = client.get("/sandbox/cgi-bin/tags/get", query_string={"access_token": tok}).get_json()["tags"]
    assert tags == [{"id": tag["id"], "name": "管理员", "count": 1}]

    default = {"button": [{"type": "click", "name": "签到", "key": "CHECKIN"}]}
    admin = {
        "button": [{"type": "view", "name": "审核", "url": "http://localhost/m/admin"}],
        "matchrule": {"tag_id": str(tag["id"])},
    }
    assert post(client, "cgi-bin/menu/addconditional", tok, admin)["errcode"] == 65303
    assert post(client, "cgi-bin/menu/create", tok, default)["errcode"] == 0
    menuid = post(client, "cgi-bin/menu/addconditional", tok, admin)["menuid"]
    assert state.menu_for(APPID, "o_demo_admin")["button"][0]["name"] == "审核"
    assert state.menu_for(APPID, "o_demo_volunteer")["button"][0]["name"] == "签到"
    got = client.get("/sandbox/cgi-bin/menu/get", query_string={"access_token": tok}).get_json()
    assert got["menu"]["button"] == default["button"] and got["conditionalmenu"][0]["menuid"] == int(menuid)
    assert (
        post(client, "cgi-bin/menu/create", tok, {"button": [{"type": "view", "name": "x", "url": "ftp:/"}]})[
            "errcode"
        ]
        == 40048
    )

    assert tag_members(client, tok, "batchuntagging", tag["id"]) == 0
    assert post(client, "cgi-bin/tags/getidlist", tok, {"openid": "o_demo_admin"})["tagid_list"] == []
    assert post(client, "cgi-bin/tags/getidlist", tok, {"openid": "o_ghost"})["errcode"] == 40003


def test_media_and_ticket(client, state):
    tok = token(client)
    media_id = state.add_media(b"#!AMR\n" + bytes(32), "audio/amr", appid=APPID)
    got = client.get("/sandbox/cgi-bin/media/get", query_string={"access_token": tok, "media_id": media_id})
    assert got.mimetype == "audio/amr" and got.data.startswith(b"#!AMR")
    missing = client.get("/sandbox/cgi-bin/media/get", query_string={"access_token": tok, "media_id": "nope"})
    assert missing.get_json()["errcode"] == 40007

    up = client.post(
        "/sandbox/phone/api/media?kind=jssdk&type=voice&appid=" + APPID, data=b"RIFFxxxx"
    ).get_json()
    voice = client.get(
        "/sandbox/cgi-bin/media/get/jssdk", query_string={"access_token": tok, "media_id": up["media_id"]}
    )
    assert voice.mimetype == "audio/speex" and voice.data == b"RIFFxxxx"
    # media/get serves every temporary media, a wx.uploadVoice recording included
    assert client.get(
        "/sandbox/cgi-bin/media/get", query_string={"access_token": tok, "media_id": up["media_id"]}
    ).status_code == 200

    ticket = client.get(
        "/sandbox/cgi-bin/ticket/getticket", query_string={"access_token": tok, "type": "jsapi"}
    ).get_json()
    assert ticket["errcode"] == 0 and ticket["expires_in"] == 7200
    url = "http://localhost/m/checkin?a=1"
    sig = hashlib.sha1(
        f"jsapi_ticket={ticket['ticket']}&noncestr=n1&timestamp=10&url={url}".encode()
    ).hexdigest()
    check = {"appId": APPID, "nonceStr": "n1", "timestamp": "10", "signature": sig, "url": url + "#frag"}
    assert client.post("/sandbox/phone/api/jssdk-verify", json=check).get_json()["ok"] is True
    assert (
        client.post("/sandbox/phone/api/jssdk-verify", json=dict(check, url=url + "&b=2")).get_json()["ok"]
        is False
    )


@pytest.mark.parametrize("account", ["demo", "safe"])
def test_send_callback_plain_and_safe_mode(client, state, account):
    appid = APPID if account == "demo" else SAFE_APPID
    follow = send_callback(account, "o_demo_elder", "subscribe", client=client)
    assert follow["ok"] and follow["reply_text"] == "echo:event"
    assert state.is_following(appid, "o_demo_elder")
    text = send_callback(account, "o_demo_elder", "text", client=client, content="你好")
    assert text["status"] == 200 and text["reply_text"] == "echo:你好" and text["msg_id"]
    scan = send_callback(
        account, "o_demo_elder", "scancode_waitmsg", client=client, event_key="SCAN", scan_result="act:42"
    )
    assert (
        "<ScanResult><![CDATA[act:42]]></ScanResult>" in scan["request_xml"]
        and scan["reply_text"] == "echo:act:42"
    )
    voice = send_callback(account, "o_demo_elder", "voice", client=client)
    media_id = voice["request_xml"].split("<MediaId><![CDATA[")[1].split("]]>")[0]
    assert state.get_media(media_id)["content_type"] == "audio/amr"
    assert send_callback(account, "o_demo_elder", "location_event", client=client)["reply_text"] == ""
    send_callback(account, "o_demo_elder", "unsubscribe", client=client)
    assert not state.is_following(appid, "o_demo_elder")
    inbox = client.get(
        "/sandbox/phone/api/inbox", query_string={"account": account, "openid": "o_demo_elder"}
    )
    assert len(inbox.get_json()["items"]) == 6


def test_phone_pages_render(client):
    assert "关注" in client.get("/sandbox/phone").get_data(as_text=True)
    assert client.get("/sandbox/static/jweixin.js").status_code == 200


def test_hd_voice_endpoint_refuses_anything_but_a_jssdk_voice(client, state):
    """media/get/jssdk (获取高清语音素材) is for wx.uploadVoice only: WeChat answers 40007 for a photo
    from wx.uploadImage or a chat voice; those come from media/get."""
    tok = token(client)
    photo = client.post("/sandbox/phone/api/media?kind=jssdk&type=image&appid=" + APPID,
                        data=b"\x89PNG....", content_type="image/png").get_json()["media_id"]
    chat_voice = state.add_media(b"#!AMR\n" + bytes(32), "audio/amr", appid=APPID)
    for media_id in (photo, chat_voice):
        refused = client.get("/sandbox/cgi-bin/media/get/jssdk", query_string={"access_token": tok, "media_id": media_id})
        assert refused.get_json()["errcode"] == 40007
        served = client.get("/sandbox/cgi-bin/media/get", query_string={"access_token": tok, "media_id": media_id})
        assert served.status_code == 200 and not served.is_json
    got = client.get("/sandbox/cgi-bin/media/get", query_string={"access_token": tok, "media_id": photo})
    assert got.mimetype == "image/png" and got.data == b"\x89PNG...."

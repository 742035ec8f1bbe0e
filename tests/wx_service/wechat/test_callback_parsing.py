"""The callback's own parse, signature and text reply against wechatpy's, which they stand in for."""

import time
from xml.etree import ElementTree

import pytest
from defusedxml import ElementTree as SafeET
from wechatpy import parse_message
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.replies import create_reply
from wechatpy.utils import check_signature
from werkzeug.exceptions import BadRequest

from tests.support import wechat
from wx_service.wechat import callback

SCAN_INFO = "<ScanCodeInfo><ScanType><![CDATA[qrcode]]></ScanType><ScanResult><![CDATA[JHZY-V1:abc]]></ScanResult></ScanCodeInfo>"
PICS = ("<SendPicsInfo><Count>2</Count><PicList><item><PicMd5Sum><![CDATA[a1]]></PicMd5Sum></item>"
        "<item><PicMd5Sum><![CDATA[b2]]></PicMd5Sum></item></PicList></SendPicsInfo>")
BODIES = [
    wechat.text_xml("o_a", "  你好 \n", msg_id=1, create_time=1),
    wechat.text_xml("o_a", "", msg_id=2, create_time=1),
    wechat.message_xml("o_a", "image", {"PicUrl": "http://x/p.jpg", "MediaId": "m1", "MsgId": 3}, 1),
    wechat.message_xml("o_a", "voice", {"MediaId": "m", "Format": "amr", "Recognition": "你好", "MsgId": 4}, 1),
    wechat.message_xml("o_a", "location", {"Location_X": "32.0", "Location_Y": "120.8", "Scale": "15",
                                            "Label": "南通", "MsgId": 5}, 1),
    wechat.message_xml("o_a", "link", {"Title": "t", "Description": "d", "Url": "http://x", "MsgId": 6}, 1),
    wechat.message_xml("o_a", "nosuchtype", {"MsgId": 7}, 1),
    wechat.event_xml("o_a", "subscribe", create_time=1),
    wechat.event_xml("o_a", "subscribe", "qrscene_JHZY-V1:abc", create_time=1, Ticket="t"),
    wechat.event_xml("o_a", "subscribe", "scanbarcode|x", create_time=1),
    wechat.event_xml("o_a", "unsubscribe", "", create_time=1),
    wechat.event_xml("o_a", "SCAN", "JHZY-V1:abc", create_time=1, Ticket="t"),
    wechat.event_xml("o_a", "CLICK", "MY_QRCODE", create_time=1),
    wechat.event_xml("o_a", "VIEW", "http://x/m/", create_time=1),
    wechat.event_xml("o_a", "LOCATION", create_time=1, Latitude="32.0", Longitude="120.8", Precision="65.0"),
    wechat.event_xml("o_a", "nosuchevent", create_time=1),
    wechat.event_xml("o_a", "scancode_waitmsg", "SCAN_KEY", create_time=1).replace("</xml>", SCAN_INFO + "</xml>"),
    wechat.event_xml("o_a", "pic_sysphoto", "PIC", create_time=1).replace("</xml>", PICS + "</xml>"),
    wechat.message_xml("o_a", "device_event", {"Event": "bind", "DeviceID": "d"}, 1),
    wechat.message_xml("o_a", "device_text", {"DeviceID": "d", "Content": "x"}, 1),
    '<xml><FromUserName>o_a</FromUserName><MsgType>text</MsgType><Content a="1">x</Content>'
    "<Extra>one<i>1</i>two</Extra><Extra>three</Extra></xml>",
]


@pytest.mark.parametrize("body", BODIES)
def test_message_from_the_tree_is_what_wechatpy_parses(body):
    raw = body.encode()
    ours, theirs = callback._message(callback._safe_xml(raw), raw), parse_message(raw)
    assert type(ours) is type(theirs)
    assert ours._data == theirs._data


@pytest.mark.parametrize("body", [
    b"<xml><FromUserName>o</FromUserName></xml>",  # no MsgType
    b"<xml><FromUserName>o</FromUserName><MsgType/></xml>",
    b"<xml><FromUserName>o</FromUserName><MsgType>event</MsgType><Event/></xml>",
    b"<xml/>",
    b"<xml>text only</xml>",
    '<?xml version="1.0" encoding="ISO-8859-1"?><xml><FromUserName>café</FromUserName><MsgType>text</MsgType></xml>'
    .encode("latin-1"),  # parse_message reads UTF-8 whatever the declaration says
    b'<xml xmlns:p="urn:x"><FromUserName>o</FromUserName><MsgType>text</MsgType><p:Content>x</p:Content></xml>',
])
def test_what_wechatpy_cannot_parse_is_400(body):
    with pytest.raises(BadRequest):
        callback._message(SafeET.fromstring(body), body)


@pytest.mark.parametrize("content", ["收到", "<a href=\"http://x/m/?account=demo\">点此</a>", "多\n行"])
@pytest.mark.parametrize("body", [wechat.event_xml("o_a", "CLICK", "K", create_time=1),
                                  "<xml><FromUserName>o_a</FromUserName><MsgType>text</MsgType></xml>"])
def test_text_reply_is_what_wechatpy_renders(monkeypatch, content, body):
    monkeypatch.setattr(time, "time", lambda: 1_700_000_000.7)
    message = parse_message(body)
    assert callback.text_reply(content, message) == create_reply(content, message).render()


def test_text_reply_keeps_a_cdata_end_inside_the_text():
    message = parse_message(wechat.event_xml("o_a", "CLICK", "K", create_time=1))
    reply = ElementTree.fromstring(callback.text_reply("活动「a]]>b」签到成功", message))
    assert reply.findtext("Content") == "活动「a]]>b」签到成功"


@pytest.mark.parametrize("signature", [wechat.sign("demotoken", "1409735669", "123"), "0" * 40, "", "签名"])
@pytest.mark.parametrize("timestamp,nonce", [("1409735669", "123"), ("", ""), ("时间", "随机")])
def test_signature_check_agrees_with_wechatpy(signature, timestamp, nonce):
    try:
        check_signature("demotoken", signature, timestamp, nonce)
        theirs = True
    except InvalidSignatureException:
        theirs = False
    assert callback.signature_ok("demotoken", signature, timestamp, nonce) is theirs

"""Callbacks as WeChat sends them: XML bodies, signatures, safe-mode encryption."""

from __future__ import annotations

import hashlib
import itertools
import secrets
import time

from wechatpy.crypto import WeChatCrypto

_msg_ids = itertools.count(6054768590064713728)
_clock = itertools.count(int(time.time()))


def sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def message_xml(openid: str, msg_type: str, fields: dict, create_time: int | None = None,
                to: str = "gh_test") -> str:
    create_time = create_time or next(_clock)
    body = "".join(f"<{k}><![CDATA[{v}]]></{k}>" if isinstance(v, str) else f"<{k}>{v}</{k}>"
                   for k, v in fields.items())
    return (f"<xml><ToUserName><![CDATA[{to}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>{body}</xml>")


def text_xml(openid: str, content: str, msg_id: int | None = None, create_time: int | None = None) -> str:
    return message_xml(openid, "text", {"Content": content, "MsgId": msg_id or next(_msg_ids)}, create_time)


def event_xml(openid: str, event: str, key: str | None = None, create_time: int | None = None, **extra) -> str:
    fields = {"Event": event}
    if key is not None:
        fields["EventKey"] = key
    fields.update(extra)
    return message_xml(openid, "event", fields, create_time)


def fresh_nonce() -> str:
    """A nonce of WeChat's shape, new each call: the service refuses a (timestamp, nonce) pair used with another body."""
    return str(secrets.randbelow(10**10))


def post(client, account_config: dict, name: str, xml: str, safe: bool = False,
         timestamp: str | None = None, nonce: str | None = None, **query):
    token = account_config["accounts"][name]["token"]
    timestamp = timestamp or str(int(time.time()))
    nonce = nonce or fresh_nonce()
    args = {"signature": sign(token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce, **query}
    body = xml
    if safe:
        acct = account_config["accounts"][name]
        crypto = WeChatCrypto(token, acct["encoding_aes_key"], acct["app_id"])
        encrypted = crypto.encrypt_message(xml, nonce, timestamp)
        import re

        enc = re.search(r"<Encrypt><!\[CDATA\[(.*?)\]\]></Encrypt>", encrypted).group(1)
        args.update(encrypt_type="aes", msg_signature=sign(token, timestamp, nonce, enc))
        body = f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><Encrypt><![CDATA[{enc}]]></Encrypt></xml>"
    answer = client.post(f"/wechat/{name}", query_string=args, data=body.encode(), content_type="text/xml")
    # As with WeChat, the test's next callback comes after this one's reply and card were kept (the
    # store sends them a few milliseconds later: ``shared_store.SoonWrites``).
    client.application.extensions["wx_store"].flush()
    return answer


def decrypt_reply(account_config: dict, name: str, reply_xml: str, nonce: str | None = None) -> str:
    """The plain reply; ``nonce`` (that of the request) defaults to the one the reply carries."""
    import re

    acct = account_config["accounts"][name]
    crypto = WeChatCrypto(acct["token"], acct["encoding_aes_key"], acct["app_id"])
    signature = re.search(r"<MsgSignature><!\[CDATA\[(.*?)\]\]>", reply_xml).group(1)
    timestamp = re.search(r"<TimeStamp>(.*?)</TimeStamp>", reply_xml).group(1)
    nonce = nonce or re.search(r"<Nonce><!\[CDATA\[(.*?)\]\]>", reply_xml).group(1)
    return crypto.decrypt_message(reply_xml, signature, timestamp, nonce)

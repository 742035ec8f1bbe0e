"""Hostile callback bodies, hand-made, and the signing / measuring helpers the reliability tests share.

Every body here reaches the body parser: its URL signature is valid (a wrong URL signature is a 403
before the body is read, which proves nothing about the parser).  In safe mode the ``msg_signature``
is valid too unless the case is about a replayed one.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import struct
import time
from dataclasses import dataclass

from wechatpy.crypto import WeChatCrypto

from tests.support import wechat
from tests.support.appfactory import SAFE_AES_KEY

TS, NONCE = "1409735669", "1320562132"
SAFE_TOKEN, SAFE_APPID = "spamtest", "wx2c2769f8efd9abc2"
OTHER_AES_KEY = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut"
LIMIT_SECONDS = 1.0
CANARY = "XXE-CANARY-7f3a9c"


@dataclass
class Case:
    name: str
    body: bytes
    account: str = "demo"
    query: dict | None = None  # extra query (safe mode: encrypt_type, msg_signature)
    content_length: int | None = None


def plain_query(token: str = "demotoken", timestamp: str = TS, nonce: str | None = None) -> dict:
    """A signed URL; a fresh nonce unless given (a pair used before with another body is refused)."""
    nonce = nonce or wechat.fresh_nonce()
    return {"signature": wechat.sign(token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}


def safe_query(encrypt: str, timestamp: str = TS, nonce: str | None = None) -> dict:
    nonce = nonce or wechat.fresh_nonce()
    return {**plain_query(SAFE_TOKEN, timestamp, nonce), "encrypt_type": "aes",
            "msg_signature": wechat.sign(SAFE_TOKEN, timestamp, nonce, encrypt)}


def envelope(encrypt: str) -> bytes:
    return f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>".encode()


def encrypt(xml: str, aes_key: str = SAFE_AES_KEY, app_id: str = SAFE_APPID) -> str:
    crypto = WeChatCrypto(SAFE_TOKEN, aes_key, app_id)
    return re.search(r"<Encrypt><!\[CDATA\[(.*?)\]\]></Encrypt>", crypto.encrypt_message(xml, NONCE, TS)).group(1)


def raw_encrypt(plain: bytes, aes_key: str = SAFE_AES_KEY) -> str:
    """AES-256-CBC as WeChat does it, over bytes we choose (lengths and AppIDs included)."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    key = base64.b64decode(aes_key + "=")
    pad = 32 - len(plain) % 32
    padded = plain + bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode()


def safe_case(name: str, encrypt_text: str, **query) -> Case:
    return Case(name, envelope(encrypt_text), "safe", {**safe_query(encrypt_text), **query})


def send(client, case: Case):
    """POST the case; the response and the seconds it took."""
    query = {**plain_query("spamtest" if case.account == "safe" else "demotoken"), **(case.query or {})}
    headers = {}
    if case.content_length is not None:
        headers["Content-Length"] = str(case.content_length)
    started = time.perf_counter()
    res = client.post(f"/wechat/{case.account}", query_string=query, data=case.body, content_type="text/xml",
                      headers=headers)
    return res, time.perf_counter() - started


def message(openid: str = "o_hostile", msg_type: str = "text", **fields) -> str:
    return wechat.message_xml(openid, msg_type, fields or {"Content": "你好", "MsgId": 1}, create_time=1700000000)


def handmade(secret_file: str, http_port: int) -> list[Case]:
    """XXE, entity bombs, sizes, encodings, truncations, safe-mode breakage, odd shapes."""
    valid = message()
    cases: list[Case] = []
    add = cases.append

    # XML external entities: a local file and an HTTP fetch (a listener checks nobody calls it).
    url = f"http://127.0.0.1:{http_port}/xxe"
    for where in ("FromUserName", "Content", "MsgType"):
        body = valid.replace(f"<{where}><![CDATA[", f"<{where}>&xxe;<![CDATA[", 1)
        add(Case(f"xxe-file-{where}", (f'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file://{secret_file}">]>'
                                        + body).encode()))
        add(Case(f"xxe-http-{where}", (f'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "{url}">]>'
                                        + body).encode()))
    add(Case("xxe-parameter-entity-http", f'<!DOCTYPE xml [<!ENTITY % p SYSTEM "{url}/dtd"> %p;]>{valid}'.encode()))
    add(Case("xxe-parameter-entity-file", f'<!DOCTYPE xml [<!ENTITY % p SYSTEM "file://{secret_file}"> %p;]>{valid}'.encode()))
    add(Case("xxe-external-dtd", f'<!DOCTYPE xml SYSTEM "{url}/ext.dtd">{valid}'.encode()))
    add(Case("xxe-public-dtd", f'<!DOCTYPE xml PUBLIC "-//X//Y" "{url}/pub.dtd">{valid}'.encode()))
    add(Case("xinclude", (f'<xml xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="file://{secret_file}" '
                          f'parse="text"/><MsgType>text</MsgType></xml>').encode()))
    add(Case("xxe-utf16", ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM '
                           f'"file://{secret_file}">]>' + valid.replace("你好", "&xxe;")).encode("utf-16")))
    # Entity expansion: billion laughs, and the quadratic blow-up (one big entity used many times).
    lol = '<!ENTITY lol0 "lol">' + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    add(Case("billion-laughs", f'<?xml version="1.0"?><!DOCTYPE xml [{lol}]><xml><Content>&lol9;</Content></xml>'.encode()))
    add(Case("billion-laughs-in-message",
             f'<!DOCTYPE xml [{lol}]>{valid.replace("<![CDATA[你好]]>", "&lol9;")}'.encode()))
    for size, uses in ((50_000, 10_000), (200_000, 3_000), (900_000, 20)):
        big = "A" * size
        add(Case(f"quadratic-{size}x{uses}",
                 f'<!DOCTYPE xml [<!ENTITY a "{big}">]><xml><Content>{"&a;" * uses}</Content></xml>'.encode()))
    add(Case("internal-entity-harmless-looking", b'<!DOCTYPE xml [<!ENTITY t "text">]><xml><MsgType>&t;</MsgType>'
             b'<FromUserName>o</FromUserName></xml>'))
    add(Case("doctype-only", b'<!DOCTYPE xml><xml><FromUserName>o</FromUserName><MsgType>text</MsgType></xml>'))
    # Sizes: 10 MB of several kinds, just over the 1 MB limit, and a Content-Length that lies.
    ten = 10 * 1024 * 1024
    add(Case("10MB-message", valid.replace("你好", "字" * (ten // 3)).encode()))
    add(Case("10MB-random", os.urandom(ten)))
    add(Case("10MB-elements", b"<xml>" + b"<a/>" * (ten // 4) + b"</xml>"))
    add(Case("10MB-nesting", b"<xml>" + b"<a>" * (ten // 8) + b"</a>" * (ten // 8) + b"</xml>"))
    add(Case("1MB-plus-one", (valid.replace("你好", "x" * (1024 * 1024))).encode()))
    add(Case("10MB-under-declared-length", valid.replace("你好", "y" * ten).encode(), content_length=100))
    add(Case("10MB-safe-envelope", envelope("A" * ten), "safe", safe_query("A" * ten)))
    # Wrong encodings: WeChat sends UTF-8 only.
    chinese = valid.replace("你好", "志愿者你好")
    add(Case("utf-16", chinese.encode("utf-16")))
    add(Case("utf-16-le-no-bom", chinese.encode("utf-16-le")))
    add(Case("utf-16-be-declared", ('<?xml version="1.0" encoding="UTF-16BE"?>' + chinese).encode("utf-16-be")))
    add(Case("utf-32", chinese.encode("utf-32")))
    add(Case("gbk-declared", ('<?xml version="1.0" encoding="GBK"?>' + chinese).encode("gbk")))
    add(Case("gb2312-declared", ('<?xml version="1.0" encoding="gb2312"?>' + chinese).encode("gb2312")))
    add(Case("gbk-undeclared", chinese.encode("gbk")))
    add(Case("big5-declared", ('<?xml version="1.0" encoding="big5"?>' + chinese).encode("big5")))
    add(Case("shift-jis-declared", ('<?xml version="1.0" encoding="Shift_JIS"?>' + valid.replace("你好", "こんにちは"))
             .encode("shift_jis")))
    add(Case("latin-1-declared", ('<?xml version="1.0" encoding="ISO-8859-1"?>' + valid.replace("你好", "café"))
             .encode("latin-1")))
    add(Case("latin-1-undeclared", valid.replace("你好", "café ñ").encode("latin-1")))
    add(Case("utf-7-declared", ('<?xml version="1.0" encoding="UTF-7"?>' + valid).encode()))
    add(Case("unknown-encoding", ('<?xml version="1.0" encoding="x-nonsense"?>' + valid).encode()))
    add(Case("overlong-utf8", valid.encode().replace(b"<xml>", b"<xml>\xc0\xbc")))
    add(Case("lone-surrogate", valid.encode().replace("你好".encode(), b"\xed\xa0\x80")))
    # Truncated XML: every 3rd prefix of a valid message, and of a safe-mode envelope.
    body = valid.encode()
    for cut in range(0, len(body), 3):
        add(Case(f"truncated-{cut}", body[:cut]))
    enc = encrypt(valid)
    full = envelope(enc)
    for cut in range(0, len(full), 17):
        add(Case(f"truncated-safe-{cut}", full[:cut], "safe", safe_query(enc)))
    # Valid XML that is not a message we can attribute to anyone (no sender, or no type).
    for msg_type in ("text", "event", "nosuchtype", "miniprogrampage", "", "EVENT", "device_event"):
        add(Case(f"no-sender-{msg_type or 'empty'}",
                 f"<xml><ToUserName>gh</ToUserName><CreateTime>1</CreateTime><MsgType>{msg_type}</MsgType>"
                 f"<Event>nosuchevent</Event></xml>".encode()))
    add(Case("no-msgtype", b"<xml><FromUserName>o_x</FromUserName><Content>x</Content></xml>"))
    add(Case("empty-sender", b"<xml><FromUserName></FromUserName><MsgType>text</MsgType></xml>"))
    add(Case("empty-xml", b"<xml/>"))
    add(Case("root-not-xml", valid.replace("<xml>", "<msg>").replace("</xml>", "</msg>").encode()))
    add(Case("root-namespaced", valid.replace("<xml>", '<xml xmlns="urn:x">').encode()))
    add(Case("two-roots", (valid + valid).encode()))
    add(Case("trailing-garbage", (valid + "garbage").encode()))
    # Fields the service keys on, given twice, nested, with attributes, or too long.
    for field, value in (("FromUserName", "o_x"), ("MsgType", "text"), ("Event", "CLICK"), ("EventKey", "k"),
                         ("CreateTime", "1"), ("MsgId", "1"), ("ToUserName", "gh")):
        base = ("<ToUserName>gh</ToUserName><FromUserName>o_x</FromUserName><CreateTime>1</CreateTime>"
                "<MsgType>event</MsgType><Event>CLICK</Event><EventKey>k</EventKey><MsgId>1</MsgId>")
        add(Case(f"twice-{field}", f"<xml>{base}<{field}>{value}</{field}></xml>".encode()))
        rest = re.sub(f"<{field}>.*?</{field}>", "", base)
        add(Case(f"nested-{field}", f"<xml>{rest}<{field}><a>{value}</a></{field}></xml>".encode()))
        add(Case(f"attribute-{field}", f'<xml>{rest}<{field} a="1">{value}</{field}></xml>'.encode()))
    add(Case("sender-65-chars", message(openid="o" * 65).encode()))
    add(Case("sender-1MB", message(openid="o" * 1_000_000).encode()))
    # Many elements, deep nesting, many attributes, huge names.
    add(Case("200k-elements", b"<xml><FromUserName>o</FromUserName><MsgType>text</MsgType>" + b"<a/>" * 200_000 + b"</xml>"))
    add(Case("1001-elements", b"<xml><FromUserName>o</FromUserName><MsgType>text</MsgType>" + b"<i/>" * 1000 + b"</xml>"))
    add(Case("100k-deep", b"<xml>" + b"<a>" * 100_000 + b"</a>" * 100_000 + b"</xml>"))
    add(Case("deep-message", b"<xml><FromUserName>o</FromUserName><MsgType>text</MsgType>" + b"<a>" * 40 + b"</a>" * 40
             + b"</xml>"))
    add(Case("100k-deep-unclosed", b"<xml>" + b"<a>" * 100_000))
    add(Case("50k-attributes", ("<xml " + " ".join(f"a{i}='{i}'" for i in range(50_000)) + "/>").encode()))
    add(Case("duplicate-attributes", b"<xml a='1' a='2'/>"))
    add(Case("500KB-tag-name", b"<xml><" + b"T" * 500_000 + b"/></xml>"))
    add(Case("500KB-attribute", b"<xml a='" + b"v" * 500_000 + b"'/>"))
    add(Case("comments-100k", b"<xml>" + b"<!---->" * 100_000 + b"</xml>"))
    add(Case("processing-instructions", b"<xml>" + b"<?pi x?>" * 50_000 + b"</xml>"))
    add(Case("char-refs-flood", b"<xml><Content>" + b"&#x4e2d;" * 100_000 + b"</Content></xml>"))
    add(Case("invalid-char-ref", b"<xml><FromUserName>o&#0;</FromUserName><MsgType>text</MsgType></xml>"))
    add(Case("nul-bytes", b"<xml>\x00\x00</xml>"))
    add(Case("cdata-unclosed", b"<xml><Content><![CDATA[abc</Content></xml>"))
    # Not XML at all.
    for name, raw in (("empty", b""), ("whitespace", b"  \n\t "), ("json", b'{"MsgType": "text"}'),
                      ("form", b"a=1&b=2"), ("html", b"<!doctype html><html><body>x</body></html>"),
                      ("bom-only", b"\xef\xbb\xbf"), ("null", b"\x00" * 64), ("gzip", b"\x1f\x8b\x08" + os.urandom(64))):
        add(Case(f"not-xml-{name}", raw))
    # Safe mode, broken in every way that gets past the URL signature.
    add(safe_case("wrong-aes-key", encrypt(valid, aes_key=OTHER_AES_KEY)))
    add(safe_case("wrong-appid", encrypt(valid, app_id="wx0000000000000000")))
    add(safe_case("encrypt-empty", ""))
    for bad in ("!!!!not base64!!!!", "QUJD", "QUJDRA=", "=" * 16, "A" * 43, "A" * 44 + "====", "\u4e2d\u6587",
                "A" * 100_000):
        add(safe_case(f"bad-base64-{bad[:8]!r}-{len(bad)}", bad))
    for size in (1, 15, 16, 17, 31, 33, 48, 1000):
        add(safe_case(f"encrypt-length-{size}", base64.b64encode(os.urandom(size)).decode()))
    random_block = os.urandom(16)
    for name, plain in (
        ("length-prefix-too-big", random_block + struct.pack(">I", 10_000) + valid.encode() + SAFE_APPID.encode()),
        ("length-prefix-huge", random_block + struct.pack(">I", 2**32 - 1) + valid.encode() + SAFE_APPID.encode()),
        ("length-prefix-zero", random_block + struct.pack(">I", 0) + valid.encode() + SAFE_APPID.encode()),
        ("no-appid", random_block + struct.pack(">I", len(valid.encode())) + valid.encode()),
        ("short-plaintext", b"abc"),
        ("inner-not-utf8", random_block + struct.pack(">I", 4) + b"\xff\xfe\xfd\xfc" + SAFE_APPID.encode()),
    ):
        add(safe_case(f"crafted-{name}", raw_encrypt(plain)))
    bad_pad = base64.b64decode(raw_encrypt(b"x" * 40))[:-1] + b"\x00"
    add(safe_case("bad-padding", base64.b64encode(bad_pad).decode()))
    # Hostile XML inside a correctly encrypted, correctly signed envelope.
    for inner in (f'<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file://{secret_file}">]>'
                  + valid.replace("你好", "&xxe;"),
                  f'<!DOCTYPE xml [{lol}]>' + valid.replace("<![CDATA[你好]]>", "&lol9;"),
                  "<xml>" + "<a>" * 5000 + "</a>" * 5000 + "</xml>",
                  valid[:-10], "<xml><MsgType>text</MsgType></xml>",
                  "<xml><FromUserName>o</FromUserName><FromUserName>p</FromUserName><MsgType>text</MsgType></xml>"):
        add(safe_case(f"inner-{hashlib.sha1(inner.encode()).hexdigest()[:8]}", encrypt(inner)))
    # Replays: a valid msg_signature for one body / nonce / timestamp, reused with another.
    first, second = encrypt(message(openid="o_first")), encrypt(message(openid="o_second"))
    signed_first = safe_query(first, nonce=NONCE)
    add(Case("replay-signature-other-body", envelope(second), "safe", signed_first))
    add(Case("replay-signature-other-nonce", envelope(first), "safe",
             {**plain_query(SAFE_TOKEN, TS, "999"), "encrypt_type": "aes", "msg_signature": signed_first["msg_signature"]}))
    add(Case("replay-signature-other-timestamp", envelope(first), "safe",
             {**plain_query(SAFE_TOKEN, "1409735670", NONCE), "encrypt_type": "aes",
              "msg_signature": signed_first["msg_signature"]}))
    add(Case("replay-url-signature-as-msg-signature", envelope(first), "safe",
             {"encrypt_type": "aes", "msg_signature": signed_first["signature"]}))
    add(Case("safe-without-msg-signature", envelope(first), "safe", {"encrypt_type": "aes"}))
    add(Case("safe-envelope-without-encrypt-type", envelope(first), "safe"))
    add(Case("safe-two-encrypts", f"<xml><Encrypt>{first}</Encrypt><Encrypt>{second}</Encrypt></xml>".encode(),
             "safe", safe_query(first)))
    add(Case("aes-on-plain-account", envelope(first), "demo", {"encrypt_type": "aes", "msg_signature": "x"}))
    return cases

"""The phone page: plays a WeChat client against the service's callback.

:func:`send_callback` builds the XML WeChat would POST for a message or an event, signs it (and
encrypts it in safe mode), posts it to ``{base_url}/wechat/{account}`` and reads the answer.  The
phone page, the tests and the demo seed all go through it.
"""

from __future__ import annotations

import hashlib
import io
import math
import secrets
import struct
import time
import wave
import xml.etree.ElementTree as ET

import requests
from flask import abort, current_app, jsonify, render_template, request, session, url_for

from ... import config
from . import bp
from .state import get_state

DEFAULT_OPENIDS = ["o_demo_volunteer", "o_demo_admin", "o_demo_elder"]

MESSAGE_KINDS = {"text", "voice", "image", "location", "link"}
EVENT_KINDS = {
    "subscribe": "subscribe",
    "unsubscribe": "unsubscribe",
    "click": "CLICK",
    "view": "VIEW",
    "scancode_waitmsg": "scancode_waitmsg",
    "scancode_push": "scancode_push",
    "location_event": "LOCATION",
    "scan": "SCAN",
}
# What opens WeChat's 48-hour window for custom messages.
INTERACTIVE = MESSAGE_KINDS | {"subscribe", "click", "view", "scancode_waitmsg", "scancode_push", "scan"}


def gh_id(account) -> str:
    """The account's original id (原始ID), as WeChat puts it in ToUserName."""
    return "gh_" + account.app_id[-12:]


# ---------------------------------------------------------------------------- payloads
def make_amr(seconds: float = 2.0) -> bytes:
    """A valid AMR-NB file (12.2 kbit/s frames) of ``seconds`` of near-silence."""
    frames = max(1, int(seconds * 50))
    return b"#!AMR\n" + (b"\x3c" + bytes(31)) * frames


def make_wav(seconds: float = 2.0, rate: int = 16000) -> bytes:
    """A 16 kHz mono WAV with a quiet tone (stands in for JS-SDK speex recordings)."""
    n = max(1, int(seconds * rate))
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(
            b"".join(struct.pack("<h", int(1500 * math.sin(2 * math.pi * 440 * i / rate))) for i in range(n))
        )
    return buf.getvalue()


def _cdata(value) -> str:
    return "<![CDATA[" + str(value).replace("]]>", "]]]]><![CDATA[>") + "]]>"


REQUIRED = object()  # an element without a default: the caller must give its field
#: The elements of the kinds whose XML is only fields: (tag, field, default, as CDATA); a position is sent bare.
PLAIN_ELEMENTS = {
    "text": (("Content", "content", "", True),),
    "image": (("PicUrl", "pic_url", "", True), ("MediaId", "media_id", REQUIRED, True)),
    "location": (("Location_X", "latitude", 32.0137, False), ("Location_Y", "longitude", 120.8647, False),
                 ("Scale", "scale", 15, False), ("Label", "label", "", True)),
    "link": (("Title", "title", "", True), ("Description", "description", "", True), ("Url", "url", "", True)),
    "location_event": (("Latitude", "latitude", 32.0137, False), ("Longitude", "longitude", 120.8647, False),
                       ("Precision", "precision", 30.0, False)),
}


def _plain_elements(kind: str, fields: dict) -> list[str]:
    elements = []
    for tag, key, default, cdata in PLAIN_ELEMENTS[kind]:
        value = fields[key] if default is REQUIRED else fields.get(key, default)
        elements.append(f"<{tag}>{_cdata(value) if cdata else value}</{tag}>")
    return elements


def build_xml(account, openid: str, kind: str, *, create_time: int, msg_id: int | None, **fields) -> str:
    """The plaintext XML WeChat would send for ``kind`` (see MESSAGE_KINDS / EVENT_KINDS)."""
    parts = [
        f"<ToUserName>{_cdata(gh_id(account))}</ToUserName>",
        f"<FromUserName>{_cdata(openid)}</FromUserName>",
        f"<CreateTime>{create_time}</CreateTime>",
    ]
    if kind in MESSAGE_KINDS:
        parts.append(f"<MsgType>{_cdata(kind)}</MsgType>")
        if kind in PLAIN_ELEMENTS:
            parts.extend(_plain_elements(kind, fields))
        elif kind == "voice":
            parts.append(f"<MediaId>{_cdata(fields['media_id'])}</MediaId>")
            parts.append(f"<Format>{_cdata(fields.get('format', 'amr'))}</Format>")
            if fields.get("recognition") is not None:
                parts.append(f"<Recognition>{_cdata(fields['recognition'])}</Recognition>")
            parts.append(f"<MediaId16K>{_cdata(fields.get('media_id_16k', ''))}</MediaId16K>")
        parts.append(f"<MsgId>{msg_id}</MsgId>")
    elif kind in EVENT_KINDS:
        parts.append(f"<MsgType>{_cdata('event')}</MsgType>")
        parts.append(f"<Event>{_cdata(EVENT_KINDS[kind])}</Event>")
        key = fields.get("event_key")
        if kind == "subscribe":
            if key:  # following through a parametric QR code
                parts.append(
                    f"<EventKey>{_cdata(key if key.startswith('qrscene_') else 'qrscene_' + key)}</EventKey>"
                )
                parts.append(f"<Ticket>{_cdata(fields.get('ticket', 'sbxqr'))}</Ticket>")
            else:
                parts.append(f"<EventKey>{_cdata('')}</EventKey>")
        elif kind == "unsubscribe":
            parts.append(f"<EventKey>{_cdata('')}</EventKey>")
        elif kind == "scan":
            parts.append(f"<EventKey>{_cdata(key or '')}</EventKey>")
            parts.append(f"<Ticket>{_cdata(fields.get('ticket', 'sbxqr'))}</Ticket>")
        elif kind in PLAIN_ELEMENTS:
            parts.extend(_plain_elements(kind, fields))
        else:
            parts.append(f"<EventKey>{_cdata(key or '')}</EventKey>")
            if kind == "view" and fields.get("menu_id") is not None:
                parts.append(f"<MenuId>{fields['menu_id']}</MenuId>")
            if kind in ("scancode_waitmsg", "scancode_push"):
                parts.append(
                    "<ScanCodeInfo>"
                    f"<ScanType>{_cdata(fields.get('scan_type', 'qrcode'))}</ScanType>"
                    f"<ScanResult>{_cdata(fields.get('scan_result', ''))}</ScanResult>"
                    "</ScanCodeInfo>"
                )
    else:
        raise ValueError(f"unknown callback kind {kind!r}")
    return "<xml>" + "".join(parts) + "</xml>"


def sign(token: str, timestamp: str, nonce: str, *extra: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, *extra])).encode("utf-8")).hexdigest()


def parse_reply(xml_text: str) -> dict:
    root = ET.fromstring(xml_text)
    out = {child.tag: (child.text or "") for child in root if len(child) == 0}
    articles = root.find("Articles")
    if articles is not None:
        out["Articles"] = [{c.tag: (c.text or "") for c in item} for item in articles.findall("item")]
    for tag in ("Image", "Voice", "Video", "Music"):
        node = root.find(tag)
        if node is not None:
            out[tag] = {c.tag: (c.text or "") for c in node}
    return out


def reply_summary(reply: dict) -> str:
    kind = reply.get("MsgType")
    if kind == "text":
        return reply.get("Content", "")
    if kind == "news":
        return "\n".join(
            f"{a.get('Title', '')} {a.get('Url', '')}".strip() for a in reply.get("Articles", [])
        )
    if kind in ("image", "voice", "video"):
        return f"[{kind}] " + reply.get(kind.capitalize(), {}).get("MediaId", "")
    if kind == "transfer_customer_service":
        return "[转接客服]"
    return f"[{kind}]"


# ---------------------------------------------------------------------------- send_callback
def send_callback(
    account_name: str,
    openid: str,
    kind: str,
    *,
    client=None,
    app=None,
    base_url: str | None = None,
    tries: int = 1,
    timeout: float = 5.0,
    **fields,
) -> dict:
    """Play WeChat: POST one callback for ``openid`` to the account's ``/wechat/<account>`` URL.

    ``kind``: text (content=), voice (media_id=, recognition=; an AMR is generated when media_id
    is missing), image (media_id=), location (latitude=, longitude=, label=), subscribe
    (event_key= for a QR scene), unsubscribe, click (event_key=), view (event_key=url),
    scancode_waitmsg / scancode_push (event_key=, scan_result=), location_event (latitude=,
    longitude=, precision=), scan (event_key=).  ``create_time=`` and ``msg_id=`` override the
    generated ones (to replay a duplicate).  ``tries`` > 1 resends the same XML on a failure, as
    WeChat does (three tries in all).

    ``client`` may be a Flask test client (the request then goes through it instead of HTTP);
    otherwise ``requests`` posts to ``base_url`` (default: the app's ``base_url``).  Needs an app
    context or ``app=``/``client=``.

    Returns ``dict(status, reply_xml, reply_text, ok, error, reply, request_xml, msg_id,
    create_time)``; ``reply_xml`` is the decrypted reply in safe mode.
    """
    app = app or (client.application if client is not None else current_app._get_current_object())
    settings = config.settings(app)
    account = settings.accounts.get(account_name)
    if account is None:
        raise ValueError(f"unknown account {account_name!r}")
    state = get_state(app)
    appid = account.app_id

    if kind == "subscribe":
        state.follow(appid, openid)
    elif kind == "unsubscribe":
        state.unfollow(appid, openid)
    else:
        state.user(appid, openid)
    if kind in INTERACTIVE:
        state.touch(appid, openid)
    if kind == "voice" and not fields.get("media_id"):
        fields["media_id"] = state.add_media(
            make_amr(float(fields.pop("seconds", 2.0))), "audio/amr", appid=appid, kind="voice"
        )

    create_time = int(fields.pop("create_time", None) or time.time())
    msg_id = fields.pop("msg_id", None)
    if kind in MESSAGE_KINDS and msg_id is None:
        msg_id = state.next_msgid() * 1000 + secrets.randbelow(1000)
    plain = build_xml(account, openid, kind, create_time=create_time, msg_id=msg_id, **fields)

    timestamp = str(int(time.time()))
    nonce = str(secrets.randbelow(10**10))
    params = {
        "signature": sign(account.token, timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
        "openid": openid,
    }
    body = plain
    crypto = None
    if account.encoding_aes_key:
        from wechatpy.crypto import WeChatCrypto

        crypto = WeChatCrypto(account.token, account.encoding_aes_key, appid)
        envelope = ET.fromstring(crypto.encrypt_message(plain, nonce, timestamp))
        encrypted = envelope.findtext("Encrypt")
        params.update(encrypt_type="aes", msg_signature=envelope.findtext("MsgSignature"))
        body = f"<xml><ToUserName>{_cdata(gh_id(account))}</ToUserName><Encrypt>{_cdata(encrypted)}</Encrypt></xml>"

    path = f"/wechat/{account_name}"
    status, text, error = 0, "", None
    for _attempt in range(max(1, tries)):
        try:
            if client is not None:
                resp = client.post(
                    path, query_string=params, data=body.encode("utf-8"), content_type="text/xml"
                )
                status, text = resp.status_code, resp.get_data(as_text=True)
            else:
                root = (base_url or settings.app.base_url).rstrip("/")
                resp = requests.post(
                    root + path,
                    params=params,
                    data=body.encode("utf-8"),
                    headers={"Content-Type": "text/xml"},
                    timeout=timeout,
                )
                status, text = resp.status_code, resp.text
            error = None if status == 200 else f"HTTP {status}"
        except requests.Timeout:
            status, text, error = 0, "", f"no answer within {timeout:g} s"
        except requests.RequestException as exc:
            status, text, error = 0, "", f"cannot reach the service: {exc}"
        if error is None:
            break

    reply_xml, reply, reply_text = "", None, ""
    stripped = text.strip()
    if error is None and stripped and stripped != "success":
        try:
            reply_xml = stripped
            if crypto is not None and "<Encrypt>" in stripped:
                env = ET.fromstring(stripped)
                reply_xml = crypto.decrypt_message(
                    stripped, env.findtext("MsgSignature"), env.findtext("TimeStamp"), env.findtext("Nonce")
                )
                if isinstance(reply_xml, bytes):
                    reply_xml = reply_xml.decode("utf-8")
            reply = parse_reply(reply_xml)
            reply_text = reply_summary(reply)
            if reply.get("ToUserName") != openid or reply.get("FromUserName") != gh_id(account):
                error = "reply ToUserName/FromUserName do not match the message"
        except Exception as exc:  # noqa: BLE001 - anything unreadable is what WeChat rejects
            error = f"reply is not valid XML: {exc}"
    if error:
        reply_text = "该公众号暂时无法提供服务，请稍后再试"

    result = {
        "status": status,
        "reply_xml": reply_xml,
        "reply_text": reply_text,
        "ok": error is None,
        "error": error,
        "reply": reply,
        "request_xml": plain,
        "msg_id": msg_id,
        "create_time": create_time,
        "raw_reply": text,
    }
    with state.lock:
        state.conversation.append(
            {
                "appid": appid,
                "account": account_name,
                "openid": openid,
                "kind": kind,
                "fields": {k: v for k, v in fields.items() if isinstance(v, str | int | float)},
                "time": time.time(),
                **{k: result[k] for k in ("status", "reply_text", "reply", "ok", "error", "msg_id")},
            }
        )
    return result


# ---------------------------------------------------------------------------- the page and its JSON
def _accounts():
    return config.settings().accounts


def _account_or_404(name):
    account = _accounts().get(name or "")
    if account is None:
        abort(404, description=f"unknown account {name!r}")
    return account


@bp.route("/phone")
def phone():
    accounts = [
        {"name": a.name, "title": a.title or a.name, "app_id": a.app_id, "safe": a.safe_mode}
        for a in _accounts().values()
    ]
    base = url_for("sandbox.phone").rsplit("phone", 1)[0]  # "/sandbox/"
    return render_template("sandbox/phone.html", accounts=accounts, openids=DEFAULT_OPENIDS, base=base)


@bp.route("/phone/api/new-person", methods=["POST"])
def phone_new_person():
    """Another openid takes the phone: a real WeChat is another phone with cookies of its own, so the
    service's session of the last person is dropped (the next page goes through OAuth as the new one)."""
    session.clear()
    return jsonify(ok=True)


@bp.route("/phone/api/menu")
def phone_menu():
    account = _account_or_404(request.args.get("account"))
    openid = request.args.get("openid", "")
    state = get_state()
    with state.lock:
        user = state.users[account.app_id].get(openid)
        tags = [
            {"id": t, "name": state.tags[account.app_id].get(t, "")}
            for t in (user or {}).get("tagid_list", [])
        ]
    return jsonify(
        menu=state.menu_for(account.app_id, openid),
        following=state.is_following(account.app_id, openid),
        tags=tags,
    )


@bp.route("/phone/api/inbox")
def phone_inbox():
    account = _account_or_404(request.args.get("account"))
    openid = request.args.get("openid", "")
    state = get_state()
    items = []
    with state.lock:
        for c in state.conversation:
            if c["appid"] == account.app_id and c["openid"] == openid:
                items.append({"type": "callback", **c})
        for d in state.delivered:
            if d["appid"] == account.app_id and d["touser"] == openid:
                items.append({"type": "template", **d})
        for m in state.custom_messages:
            if m["appid"] == account.app_id and m["touser"] == openid:
                items.append({"type": "custom", **m})
    items.sort(key=lambda i: i["time"])
    return jsonify(items=items)


@bp.route("/phone/api/send", methods=["POST"])
def phone_send():
    data = request.get_json(silent=True) or {}
    account = _account_or_404(data.pop("account", None))
    openid = (data.pop("openid", "") or "").strip()
    kind = data.pop("kind", "")
    if not openid or (kind not in MESSAGE_KINDS and kind not in EVENT_KINDS):
        return jsonify(code="bad_request", message="openid and a known kind are required"), 400
    allowed = {
        "content",
        "media_id",
        "event_key",
        "scan_result",
        "scan_type",
        "latitude",
        "longitude",
        "precision",
        "label",
        "recognition",
        "seconds",
        "menu_id",
        "format",
    }
    fields = {k: v for k, v in data.items() if k in allowed and v not in (None, "")}
    result = send_callback(account.name, openid, kind, **fields)
    return jsonify(result)


@bp.route("/phone/api/media", methods=["POST"])
def phone_media():
    """Upload a file into sandbox media: ``?kind=chat|jssdk&type=voice|image[&account=NAME|&appid=]``.
    The body is the raw bytes or a multipart ``file``; an empty voice gets a generated one."""
    kind = request.args.get("kind", "chat")
    media_type = request.args.get("type", "image")
    if kind not in ("chat", "jssdk") or media_type not in ("image", "voice"):
        return jsonify(code="bad_request", message="kind must be chat|jssdk and type image|voice"), 400
    account = _accounts().get(request.args.get("account", "")) or next(
        (a for a in _accounts().values() if a.app_id == request.args.get("appid")), None
    )
    upload = request.files.get("file") or request.files.get("media")
    data = upload.read() if upload else request.get_data()
    mimetype = (upload.mimetype if upload else request.mimetype) or ""
    seconds = float(request.args.get("seconds", 2))
    if media_type == "voice":
        content_type = "audio/speex" if kind == "jssdk" else "audio/amr"
        if not data:
            data = make_wav(seconds) if kind == "jssdk" else make_amr(seconds)
    else:
        if not data:
            return jsonify(code="empty", message="no image data"), 400
        content_type = mimetype if mimetype.startswith("image/") else "image/jpeg"
    media_id = get_state().add_media(
        data,
        content_type,
        jssdk=(kind == "jssdk"),
        appid=account.app_id if account else None,
        kind=media_type,
        filename=upload.filename if upload else None,
    )
    return jsonify(media_id=media_id, content_type=content_type, size=len(data))


@bp.route("/phone/api/jssdk-verify", methods=["POST"])
def jssdk_verify():
    """What WeChat checks on ``wx.config``: the signature over a jsapi_ticket this sandbox issued
    (to that appId, still valid) and the page URL without its fragment."""
    data = request.get_json(silent=True) or {}
    app_id = data.get("appId", "")
    url = (data.get("url") or "").split("#")[0]
    if not any(a.app_id == app_id for a in _accounts().values()):
        return jsonify(ok=False, errMsg="config:invalid appId")
    for ticket in get_state().valid_tickets(app_id):
        raw = f"jsapi_ticket={ticket}&noncestr={data.get('nonceStr', '')}&timestamp={data.get('timestamp', '')}&url={url}"
        if hashlib.sha1(raw.encode("utf-8")).hexdigest() == str(data.get("signature", "")).lower():
            return jsonify(ok=True, errMsg="config:ok")
    return jsonify(ok=False, errMsg="config:invalid signature")

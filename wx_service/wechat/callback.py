"""``/wechat/<account>``: the WeChat callback.

``echo`` (GET) and ``receive`` (POST) take a werkzeug request and answer a werkzeug response: they are served
in an app context, in front of Flask's request machinery (``callback_front``).

The order matters: signature and timestamp freshness first (403, body unread), then size, then the
XML is parsed by defusedxml (no DTD, no entities) — the only parse of a plain body; the wechatpy
message is built from that tree — then decryption (an account with an EncodingAESKey takes nothing
but encrypted bodies), the (timestamp, nonce) pair, the repeat check, the handler in one
transaction, commit, and the reply.  Every failure after the signature is a 4xx; a handler that
raises is logged and answered ``success`` — WeChat must never show its "该公众号暂时无法提供服务".

In plaintext mode the URL signature covers token, timestamp and nonce, not the body: whoever saw one
callback URL (a proxy log) could post any body under it.  So each (timestamp, nonce) pair is
remembered with a digest of its (decrypted) message for a day (and at least the freshness window);
the same pair with another body is refused, while the same request again is a repeat: WeChat's retry
gets the first reply, and a copy replayed after the dedup key expired gets ``success`` and does nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from xml.etree.ElementTree import TreeBuilder

from defusedxml import ElementTree as SafeET
from flask import abort, current_app, g
from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError, IntegrityError
from wechatpy.crypto import WeChatCrypto
from wechatpy.events import EVENT_TYPES
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.messages import MESSAGE_TYPES, UnknownMessage
from wechatpy.replies import BaseReply, create_reply
from werkzeug.wrappers import Request, Response

import handlers
from models import Follower, chat_text, db
from models.follower import seen_mark

from .. import clock, config
from ..ops.metrics import refuse
from ..shared_store import Claim
from . import follower_cards

log = logging.getLogger("wx_service.callback")

MAX_BODY = 1024 * 1024
DEDUP_TTL = 600
# Not a reply any handler makes, and storable everywhere (PostgreSQL text refuses NUL bytes).
PENDING = "\x01pending"
REPEAT_WAIT = 4.0
# No WeChat message comes near these; a body beyond them is refused while it is being parsed, so
# a megabyte of tiny or nested elements costs milliseconds, not a second.
MAX_ELEMENTS = 1000
MAX_DEPTH = 16
# Fields the service keys on: each at most once, plain text (no children, no attributes).
SINGLE_FIELDS = ("ToUserName", "FromUserName", "CreateTime", "MsgType", "MsgId", "Event", "EventKey", "Encrypt")
MAX_OPENID = 64  # the width of follower.openid; WeChat's openids have 28 characters
PAIR_TTL = 24 * 3600  # how long a used (timestamp, nonce) pair is remembered, at the least


def _account(name, settings):
    account = settings.accounts.get(name)
    if account is None:
        abort(404)
    g.log_account = name
    return account


def signature_ok(token: str, signature: str, timestamp: str, nonce: str) -> bool:
    """WeChat's URL signature (``wechatpy.utils.check_signature``), compared in constant time."""
    expected = hashlib.sha1(b"".join(sorted(part.encode() for part in (token, timestamp, nonce)))).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.encode())


def _verify(account, settings, args):
    signature, timestamp, nonce = args.get("signature", ""), args.get("timestamp", ""), args.get("nonce", "")
    if not signature_ok(account.token, signature, timestamp, nonce):
        abort(403)
    skew = settings.app.max_clock_skew
    if skew:
        try:
            if abs(time.time() - int(timestamp)) > skew:
                refuse(403, "stale_timestamp")
        except ValueError:
            refuse(403, "stale_timestamp")
    return timestamp, nonce


def echo(request: Request, name: str) -> Response:
    """GET: WeChat's check of the URL when an admin saves it — the ``echostr`` back, under a good signature."""
    settings = config.settings()
    _verify(_account(name, settings), settings, request.args)
    return Response(request.args.get("echostr", ""), 200, content_type="text/plain; charset=utf-8")


def _read_body(request: Request) -> bytes:
    length = request.content_length
    if length is not None and length > MAX_BODY:
        abort(413)
    body = request.stream.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        abort(413)
    return body


class _BoundedTreeBuilder(TreeBuilder):
    """Builds the tree, and stops the parse once it has more elements or depth than a message has."""

    def __init__(self):
        super().__init__()
        self.count = self.depth = 0

    def start(self, tag, attrs):
        self.count += 1
        self.depth += 1
        if self.count > MAX_ELEMENTS or self.depth > MAX_DEPTH:
            raise ValueError("document larger than any WeChat message")
        return super().start(tag, attrs)

    def end(self, tag):
        self.depth -= 1
        return super().end(tag)


def _safe_xml(body: bytes):
    """The parsed tree, or 400 for anything not plain, entity-free, message-sized XML."""
    try:
        parser = SafeET.DefusedXMLParser(target=_BoundedTreeBuilder(), forbid_dtd=True, forbid_entities=True,
                                         forbid_external=True)
        parser.feed(body)
        root = parser.close()
    except Exception:
        abort(400)
    if root.tag != "xml":
        abort(400)
    seen = set()
    for child in root:
        if child.tag in SINGLE_FIELDS:
            if child.tag in seen or len(child) or child.attrib:
                abort(400)
            seen.add(child.tag)
    if len(root.findtext("FromUserName") or "") > MAX_OPENID:
        abort(400)
    return root


def _as_data(element):
    """An element as xmltodict gives it to wechatpy: stripped text or None, or a dict of children.

    Attributes become ``@name``; a tag given twice becomes a list; text beside children, ``#text``.
    """
    text = "".join([element.text or "", *(child.tail or "" for child in element)]).strip() or None
    if not len(element) and not element.attrib:
        return text
    data = {f"@{name}": value for name, value in element.attrib.items()}
    for child in element:
        if child.tag.startswith("{"):  # a namespaced element is no part of a WeChat message
            abort(400)
        value = _as_data(child)
        if child.tag not in data:
            data[child.tag] = value
        elif isinstance(data[child.tag], list):
            data[child.tag].append(value)
        else:
            data[child.tag] = [data[child.tag], value]
    if text:
        data["#text"] = text
    return data


def _message(root, body: bytes):
    """The wechatpy message or event of the checked tree of ``body``, as ``wechatpy.parse_message`` makes it.

    Built from the tree already parsed rather than by parsing the body a second time; whatever
    would make ``parse_message`` fail (a body not UTF-8 whatever it declares, no MsgType, a nested
    Event…) is a 400.
    """
    fields = _as_data(root)
    try:
        body.decode("utf-8")
        return _message_class(fields)(fields)
    except Exception:
        abort(400)


def _message_class(fields: dict):
    """wechatpy's choice of class (``parse_message``), which also renames two subscribe events."""
    message_type = fields["MsgType"].lower()
    if message_type != "event" and not message_type.startswith("device_"):
        return MESSAGE_TYPES.get(message_type, UnknownMessage)
    event_type = fields["Event"].lower() if "Event" in fields else None
    if event_type is None and message_type.startswith("device_"):
        event_type = message_type
    elif message_type.startswith("device_"):
        event_type = f"device_{event_type}"
    if event_type == "subscribe" and fields.get("EventKey"):
        event_key = fields["EventKey"]
        if event_key.startswith(("scanbarcode|", "scanimage|")):
            event_type = fields["Event"] = "subscribe_scan_product"
        elif event_key.startswith("qrscene_"):
            event_type = fields["Event"] = "subscribe_scan"
            fields["EventKey"] = event_key[len("qrscene_"):]
    return EVENT_TYPES.get(event_type, UnknownMessage)


def _decrypt(account, root, body, timestamp, nonce, args) -> bytes:
    """The plain message: the body itself on a plaintext account, else the decrypted ``Encrypt``.

    An account with an EncodingAESKey is in safe or compatible mode; both send ``Encrypt`` under a
    ``msg_signature`` (compatible mode adds the plaintext fields beside it, which are not signed and
    are ignored).  A body without ``Encrypt`` there is a downgrade, refused like a wrong signature.
    """
    if not account.safe_mode:
        if args.get("encrypt_type") == "aes":
            abort(400)
        return body
    encrypted = root.findtext("Encrypt")
    if root.find("Encrypt") is None:
        refuse(403, "downgrade")
    if not encrypted:
        abort(400)
    crypto = WeChatCrypto(account.token, account.encoding_aes_key, account.app_id)
    try:
        plain = crypto.decrypt_message({"Encrypt": encrypted}, args.get("msg_signature", ""),
                                       timestamp, nonce)
    except InvalidSignatureException:
        abort(403)
    except (InvalidAppIdException, ValueError, TypeError, UnicodeDecodeError, Exception):
        abort(400)
    return plain.encode() if isinstance(plain, str) else plain


def dedup_key(root) -> str:
    """MsgId + FromUserName + CreateTime for messages; events by sender, time, Event and EventKey."""
    sender, created = root.findtext("FromUserName", ""), root.findtext("CreateTime", "")
    if (root.findtext("MsgType") or "").lower() == "event":
        return f"e:{sender}:{created}:{root.findtext('Event', '')}:{root.findtext('EventKey', '')}"
    return f"m:{root.findtext('MsgId', '')}:{sender}:{created}"


def _render(reply, message) -> str:
    if reply is None or reply == "":
        return "success"
    if isinstance(reply, BaseReply):
        return reply.render()
    if isinstance(reply, str):
        return text_reply(chat_text.as_sent(reply), message)
    return create_reply(reply, message).render()


def text_reply(content: str, message) -> str:
    """The XML of ``create_reply(content, message).render()`` (a wechatpy TextReply), written out.

    Text is what nearly every handler answers; building the reply object and rendering it field by
    field cost more than the rest of the reply path.  Unlike wechatpy, a ``]]>`` inside the text (a
    project title, say) is split across two CDATA sections instead of ending the XML early.
    """
    content = content.replace("]]>", "]]]]><![CDATA[>")
    return ("<xml>\n<MsgType><![CDATA[text]]></MsgType>\n"
            f"<Content><![CDATA[{content}]]></Content>\n"
            f"<FromUserName><![CDATA[{message.target or ''}]]></FromUserName>\n"
            f"<ToUserName><![CDATA[{message.source or ''}]]></ToUserName>\n"
            f"<CreateTime>{int(time.time())}</CreateTime>\n</xml>")


def _respond(account, xml: str, nonce: str) -> Response:
    if xml != "success" and account.safe_mode:
        xml = WeChatCrypto(account.token, account.encoding_aes_key, account.app_id).encrypt_message(xml, nonce)
    return Response(xml, 200, content_type="application/xml; charset=utf-8")


def receive(request: Request, name: str) -> Response:
    """POST: a message or event."""
    settings = config.settings()  # read once: each read goes through Flask's context-local proxy
    account = _account(name, settings)
    args = request.args
    timestamp, nonce = _verify(account, settings, args)
    body = _read_body(request)
    root = _safe_xml(body)
    plain = _decrypt(account, root, body, timestamp, nonce, args)
    plain_root = root if plain is body else _safe_xml(plain)
    message = _message(plain_root, plain)
    g.message_type = f"event.{message.event}" if message.type == "event" else message.type
    if not getattr(message, "source", None):
        abort(400)

    key = dedup_key(plain_root)
    if len(key) > 120:  # shared_value.key holds 200 characters
        key = "h:" + hashlib.sha1(key.encode()).hexdigest()
    key = f"dedup:{name}:{key}"
    now = clock.now()
    store, claim, pair_key = _claim(name, timestamp, nonce, plain, key, message.source, now, settings)
    if claim.state == Claim.OTHER:
        refuse(403, "replayed_nonce")
    if claim.state == Claim.AGAIN:
        # This very request came before: WeChat retrying (the first reply), or a replay after the
        # dedup key expired (no effect, nothing to wait for).
        if claim.found[0] is None:
            g.log_handler = "replay"
            return _respond(account, "success", nonce)
        return _respond(account, _wait_for_first_reply(key, claim.found[0]), nonce)
    if not claim.added:
        return _respond(account, _wait_for_first_reply(key), nonce)
    card, generation = claim.found
    try:
        try:
            xml, card_read = _handle(name, message, follower_cards.Card.decode(card), now, settings)
        except IntegrityError:
            # Two first callbacks of one person at once both create its follower row; the loser's
            # transaction was rolled back whole, and on a second try it finds the row.
            xml, card_read = _handle(name, message, None, now, settings)
    except DBAPIError:
        # The database is down: forget the keys so WeChat's retry is processed, and say 503.
        _forget(store, key)
        _forget(store, pair_key)
        log.error("database unavailable while handling a callback")
        abort(503)
    card_write = follower_cards.guarded(name, message.source, card_read, generation) if card_read else None
    try:
        store.set_and_set_if_soon(key, xml, DEDUP_TTL, card_write)
    except (RedisError, DBAPIError):
        log.warning("could not keep the reply beside the dedup key")
    return _respond(account, xml, nonce)


def _stores():
    """The shared store, and the database store to fall back on while Redis is unreachable."""
    return current_app.extensions["wx_store"], current_app.extensions["wx_db_store"]


def _claim(name: str, timestamp: str, nonce: str, body: bytes, key: str, openid: str, now, settings):
    """In one round trip: remember the (timestamp, nonce) pair with the body's digest, SET NX the dedup
    key, read the person's card (and its generation) and mark them seen.

    Returns (the store that answered, its ``Claim``, the pair's key).  A pair held already writes
    nothing: the same body is this request again (``AGAIN``), another body is refused by the caller
    (``OTHER``) — so a forged body under a seen pair cannot take the dedup key of a message to come.
    In safe mode the digest is of the decrypted message: a retry encrypted afresh is the same message.
    """
    pair_key = f"pair:{name}:{timestamp}:{nonce}"
    if len(pair_key) > 120:
        pair_key = f"pair:{name}:h:" + hashlib.sha1(f"{timestamp}\n{nonce}".encode()).hexdigest()
    digest = hashlib.sha256(body).hexdigest()[:32]
    pair_ttl = max(PAIR_TTL, 2 * settings.app.max_clock_skew)
    card_key = follower_cards.key(name, openid)
    primary, fallback = _stores()
    for store in (primary, fallback) if primary is not fallback else (primary,):
        try:
            claim = store.claim(pair_key, digest, pair_ttl, key, PENDING, DEDUP_TTL,
                                (card_key, follower_cards.generation_key(card_key)), seen_mark(name, openid, now))
            return store, claim, pair_key
        except RedisError:
            log.warning("Redis unreachable, deduplicating in the database")
        except DBAPIError:
            log.error("database unreachable for deduplication")
            abort(503)
    abort(503)


def _forget(store, key):
    try:
        store.delete(key)
    except (RedisError, DBAPIError):
        pass


def _get_reply(key):
    for store in dict.fromkeys(_stores()):
        try:
            stored = store.get(key)
        except (RedisError, DBAPIError):
            continue
        if stored:
            return stored
    return None


def _wait_for_first_reply(key, stored: str | None = None) -> str:
    """A repeat gets the first delivery's reply (``stored``, when already read); if that is still being
    made, wait briefly."""
    deadline = time.monotonic() + REPEAT_WAIT
    while True:
        if stored and stored != PENDING:
            g.log_handler = "repeat"
            return stored
        if time.monotonic() > deadline:
            g.log_handler = "repeat-pending"
            return "success"
        time.sleep(0.05)
        stored = _get_reply(key)


class _Rows:
    """The follower row and bound volunteer of one callback, read by (account, openid) — never by the
    card's ids — when a handler first asks; the follower is then marked seen in the handler's
    transaction (it writes anyway)."""

    def __init__(self, account: str, openid: str, now):
        self.account, self.openid, self.now = account, openid, now
        self._read = None

    def read(self):
        if self._read is None:
            self._read = Follower.with_volunteer(self.account, self.openid)
        return self._read

    def follower(self):
        follower, volunteer = self.read()
        follower = Follower.seen(follower, self.account, self.openid, self.now)
        self._read = follower, volunteer
        return follower

    def volunteer(self):
        return self.read()[1]


SUBSCRIBING = ("subscribe", "subscribe_scan")  # wechatpy's event names of a follow (``_message_class``)


def _handle(name: str, message, card, now, settings) -> tuple[str, follower_cards.Card | None]:
    """The reply, and the card to keep when the store had none (None when a handler failed)."""
    openid = message.source
    event = getattr(message, "event", None)
    func = handlers.router.resolve(message.type, event, getattr(message, "key", None))
    g.log_handler = func.__name__ if func else "none"
    try:
        rows = _Rows(name, openid, now)
        new_follower = False
        if card is None:
            # Not known to the store: who it is, once; a first contact's follower row is made now.
            new_follower, volunteer_id = Follower.first_sight(name, openid, now, subscribing=event in SUBSCRIBING)
        else:
            volunteer_id = card.volunteer_id
        reply = None
        if func is not None:
            reply = func(handlers.Incoming(account=name, message=message, now=now,
                                           base_url=settings.app.base_url, load_follower=rows.follower,
                                           load_volunteer=rows.volunteer, volunteer_id=volunteer_id,
                                           new_follower=new_follower, settings=settings))
        if _rows_touched():
            db.session.commit()
        return _render(reply, message), follower_cards.Card(volunteer_id) if card is None else None
    except DBAPIError:
        db.session.rollback()
        raise
    except Exception:
        db.session.rollback()
        log.exception("handler %s failed", g.log_handler)
        return "success", None


def _rows_touched() -> bool:
    """Whether this callback read or wrote rows, without making a session just to ask."""
    return db.session.registry.has() and db.session().in_transaction()

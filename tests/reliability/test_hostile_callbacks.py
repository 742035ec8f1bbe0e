"""A hostile corpus against the callback, on both engines: no 5xx, every answer in under 1 s, nothing written.

Two kinds of body are told apart:

- *hostile* bodies (random bytes, random unicode, random XML trees without a sender, safe-mode
  envelopes whose ciphertext was altered under a replayed ``msg_signature``, and the hand-made cases
  of ``corpus.py``) must be refused with a 4xx and write nothing at all: no row in any table, no
  dedup key in Redis, no outbound fetch, no leaked file;
- *signed messages* with a sender (well-formed but of unknown types, odd field values, plain-mode
  bodies mutated at random — plain mode signs the URL, not the body) are WeChat's to send: they
  may touch ``follower`` and ``shared_value`` (the dedup key on SQLite) and nothing else, and
  never get a 5xx.

Over 1,000 bodies go through each engine.  Hypothesis runs derandomized, so a failure replays.
"""

from __future__ import annotations

import socket
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from models import db
from tests.reliability import corpus
from tests.reliability.corpus import LIMIT_SECONDS, Case

pytestmark = pytest.mark.timeout(120)

MAY_TOUCH = {"follower", "shared_value", "contact_message"}  # what a signed message may write (texts are kept for staff)


def _settings(n: int):
    return settings(max_examples=n, derandomize=True, deadline=None, database=None, print_blob=True,
                    suppress_health_check=list(HealthCheck))


def row_counts(handle) -> dict[str, int]:
    with handle.app.app_context():
        tables = [t.name for t in db.metadata.sorted_tables]
        with db.engine.connect() as conn:
            row = conn.execute(text("SELECT " + ", ".join(f'(SELECT count(*) FROM "{t}")' for t in tables))).one()
    return dict(zip(tables, row, strict=True))


def redis_keys(handle) -> int:
    connection = handle.app.extensions.get("wx_redis")
    if connection is None:
        return 0
    return sum(1 for _ in connection.scan_iter(f"{handle.config['redis']['queue']}:dedup:*", count=1000))


class Checker:
    """Sends bodies and holds them to the hostile or the signed-message contract."""

    def __init__(self, handle):
        self.handle = handle
        self.client = handle.client()
        self.sent = 0
        self.counts = row_counts(handle)

    def hostile(self, case: Case) -> None:
        res, seconds = corpus.send(self.client, case)
        self.sent += 1
        assert 400 <= res.status_code < 500, f"{case.name}: {res.status_code}"
        assert seconds < LIMIT_SECONDS, f"{case.name}: answered in {seconds:.2f} s"
        assert corpus.CANARY.encode() not in res.data, f"{case.name}: leaked the file"
        after = row_counts(self.handle)
        assert after == self.counts, f"{case.name}: wrote rows {self._diff(after)}"

    def signed(self, case: Case) -> None:
        res, seconds = corpus.send(self.client, case)
        self.sent += 1
        assert res.status_code < 500, f"{case.name}: {res.status_code}"
        assert seconds < LIMIT_SECONDS, f"{case.name}: answered in {seconds:.2f} s"
        after = row_counts(self.handle)
        changed = set(self._diff(after))
        assert changed <= MAY_TOUCH, f"{case.name}: wrote rows {self._diff(after)}"
        self.counts = after

    def _diff(self, after: dict) -> dict:
        return {t: (self.counts[t], n) for t, n in after.items() if self.counts[t] != n}


@pytest.fixture
def listener():
    """A loopback port an XXE would fetch from; nobody must connect to it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    yield sock.getsockname()[1]
    try:
        conn, _ = sock.accept()
    except BlockingIOError:
        pass
    else:
        conn.close()
        pytest.fail("an external entity was fetched over HTTP")
    finally:
        sock.close()


# --- hand-made ------------------------------------------------------------------------------------

def test_handmade_hostile_corpus(any_app, listener, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text(corpus.CANARY)
    cases = corpus.handmade(str(secret), listener)
    assert len(cases) >= 240
    checker = Checker(any_app)
    for case in cases:
        checker.hostile(case)
    assert redis_keys(any_app) == 0


# --- generated hostile bodies ---------------------------------------------------------------------

WECHAT_TAGS = ["ToUserName", "CreateTime", "MsgType", "Content", "MsgId", "Event", "EventKey", "Ticket",
               "Latitude", "Longitude", "Precision", "ScanCodeInfo", "ScanType", "ScanResult", "MediaId",
               "Format", "Recognition", "PicUrl", "Encrypt", "item", "xml"]
xml_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)
tag_names = st.one_of(st.sampled_from(WECHAT_TAGS), st.from_regex(r"\A[A-Za-z_][A-Za-z0-9_.-]{0,12}\Z"))


def _render(node) -> str:
    tag, attrs, body = node
    attr_text = "".join(f' {k}="{escape(v, {chr(34): "&quot;"})}"' for k, v in attrs.items())
    inner = escape(body) if isinstance(body, str) else "".join(_render(child) for child in body)
    return f"<{tag}{attr_text}>{inner}</{tag}>"


xml_trees = st.recursive(
    st.tuples(tag_names, st.just({}), xml_text),
    lambda children: st.tuples(tag_names, st.dictionaries(tag_names, xml_text, max_size=2),
                               st.lists(children, max_size=4)),
    max_leaves=12,
)


@st.composite
def hostile_xml(draw) -> bytes:
    """A random tree, usually rooted at <xml>, never carrying a sender."""
    children = draw(st.lists(xml_trees, max_size=5))
    root = draw(st.sampled_from(["xml", "xml", "xml", "Xml", "message"]))
    prolog = draw(st.sampled_from(["", '<?xml version="1.0" encoding="utf-8"?>', "\n"]))
    return (prolog + _render((root, {}, children))).encode()


def test_random_bytes_and_unicode(any_app):
    checker = Checker(any_app)

    @_settings(350)
    @given(st.one_of(
        st.binary(max_size=2048),
        st.text(max_size=500).map(lambda s: s.encode("utf-8", "surrogatepass")),
        st.tuples(st.text(max_size=300), st.sampled_from(["utf-16", "utf-32", "gbk", "latin-1", "big5", "shift_jis"]))
          .map(lambda t: t[0].encode(t[1], "ignore")),
        st.binary(max_size=512).map(lambda b: b"<xml>" + b),
    ))
    def run(body):
        checker.hostile(Case("random", body))

    run()
    assert checker.sent >= 300
    assert redis_keys(any_app) == 0


def test_random_xml_trees_without_a_sender(any_app):
    checker = Checker(any_app)

    @_settings(300)
    @given(hostile_xml(), st.booleans())
    def run(body, in_safe_mode):
        if in_safe_mode:  # correctly encrypted and signed: the inner tree is what is hostile
            encrypted = corpus.encrypt(body.decode())
            checker.hostile(corpus.safe_case("random-xml-safe", encrypted))
        else:
            checker.hostile(Case("random-xml", body))

    run()
    assert checker.sent >= 250
    assert redis_keys(any_app) == 0


def _mutate(data: st.DataObject, value: str) -> str:
    chars = list(value)
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "delete", "insert", "truncate"]))
        pos = data.draw(st.integers(0, max(len(chars) - 1, 0)))
        if op == "flip" and chars:
            chars[pos] = data.draw(st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"))
        elif op == "delete" and chars:
            del chars[pos]
        elif op == "insert":
            chars.insert(pos, data.draw(st.characters(codec="ascii")))
        elif op == "truncate":
            del chars[pos:]
    return "".join(chars)


def test_altered_ciphertext_under_a_replayed_msg_signature_is_refused(any_app):
    """A valid safe-mode callback whose Encrypt was altered, sent with the original signatures: 403."""
    checker = Checker(any_app)
    original = corpus.encrypt(corpus.message(openid="o_replayed"))
    signed = corpus.safe_query(original)

    @_settings(250)
    @given(st.data())
    def run(data):
        altered = _mutate(data, original)
        if altered == original:
            return
        checker.hostile(Case("altered-ciphertext", corpus.envelope(altered), "safe", signed))

    run()
    assert checker.sent >= 200
    assert redis_keys(any_app) == 0


# --- signed messages: WeChat's to send, odd as they may be ---------------------------------------

MSG_TYPES = ["text", "image", "voice", "video", "shortvideo", "location", "link", "event", "file",
             "miniprogrampage", "transfer_customer_service", "nosuchtype", "TEXT", "Event"]
EVENTS = ["subscribe", "unsubscribe", "SCAN", "LOCATION", "CLICK", "VIEW", "scancode_push", "scancode_waitmsg",
          "pic_sysphoto", "location_select", "TEMPLATESENDJOBFINISH", "MASSSENDJOBFINISH", "view_miniprogram",
          "user_authorize_invoice", "nosuchevent", ""]
openids = st.from_regex(r"\Ao[A-Za-z0-9_-]{0,40}\Z")
values = st.one_of(xml_text, st.integers().map(str), st.floats().map(str), st.sampled_from(["", "qrscene_", "qrscene_1",
                                                                                              "MY_QRCODE", "nan"]))


@st.composite
def signed_messages(draw) -> str:
    fields = {"MsgType": draw(st.sampled_from(MSG_TYPES))}
    if fields["MsgType"].lower() == "event":
        fields["Event"] = draw(st.sampled_from(EVENTS))
        fields["EventKey"] = draw(values)
    for name in draw(st.lists(st.sampled_from(["Content", "MsgId", "Latitude", "Longitude", "Precision",
                                               "Location_X", "Location_Y", "Scale", "Label", "MediaId", "Format",
                                               "Recognition", "PicUrl", "Url", "Title", "Ticket"]),
                              unique=True, max_size=5)):
        fields[name] = draw(values)
    inner = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in fields.items())
    created = draw(st.one_of(st.integers(0, 2**40).map(str), values))
    return (f"<xml><ToUserName>gh_test</ToUserName><FromUserName>{draw(openids)}</FromUserName>"
            f"<CreateTime>{escape(created)}</CreateTime>{inner}</xml>")


def test_signed_messages_of_any_type_and_value(any_app):
    checker = Checker(any_app)

    @_settings(200)
    @given(signed_messages(), st.booleans())
    def run(xml, in_safe_mode):
        if in_safe_mode:
            checker.signed(corpus.safe_case("signed-safe", corpus.encrypt(xml)))
        else:
            checker.signed(Case("signed", xml.encode()))

    run()
    assert checker.sent >= 150


def test_plain_messages_mutated_at_random(any_app):
    """Plain mode signs the URL only, so a mutated body is WeChat's (or a proxy's) to send: no 5xx, bounded."""
    checker = Checker(any_app)
    templates = [corpus.message(), corpus.message(msg_type="event", Event="CLICK", EventKey="MY_QRCODE"),
                 corpus.message(msg_type="event", Event="LOCATION", Latitude="32.0", Longitude="120.8",
                                Precision="30")]

    @_settings(150)
    @given(st.sampled_from(templates), st.data())
    def run(template, data):
        checker.signed(Case("mutated-plain", _mutate(data, template).encode("utf-8", "surrogatepass")))

    run()
    assert checker.sent >= 120


def test_a_leaked_plain_url_replayed_with_any_other_body_is_refused(any_app):
    """The signed URL of one real message, replayed with a mutated or wholly other body: 403, nothing written."""
    client = any_app.client()
    leaked = corpus.plain_query()
    real = corpus.message(openid="o_leaked", msg_type="event", Event="CLICK", EventKey="CONTACT")
    assert client.post("/wechat/demo", query_string=leaked, data=real, content_type="text/xml").status_code == 200
    checker = Checker(any_app)
    keys = redis_keys(any_app)

    @_settings(150)
    @given(st.data())
    def run(data):
        forged = _mutate(data, real) if data.draw(st.booleans()) else data.draw(signed_messages())
        if forged == real:
            return
        res = client.post("/wechat/demo", query_string=leaked, data=forged.encode("utf-8", "surrogatepass"),
                          content_type="text/xml")
        checker.sent += 1
        assert 400 <= res.status_code < 500, forged
        assert row_counts(any_app) == checker.counts, forged

    run()
    assert checker.sent >= 120
    assert redis_keys(any_app) == keys

"""A property-based crawl: every route of the URL map, as every kind of person, with hostile input.

The demo city is seeded; then for each route and method, each kind of person (nobody, a stranger
signed in through OAuth but bound to nothing, a plain volunteer, a street station's admin, the root
org's admin, an elder who is a help seeker) sends requests whose path segments, query values and
bodies are drawn by hypothesis: huge and negative numbers, NUL bytes, other scripts' digits, ``../``,
form fields and JSON of the wrong shapes.  The properties: no answer is a 5xx, nothing is logged as
an ERROR (a false outage alert), and a refusal (any 4xx) writes no row in any table.

Routes are read from the application, so a page added later is crawled without touching this file.
The sandbox is left out: it is the development stand-in for WeChat, not a face of the service.
Hypothesis is derandomized, so a run is the same run everywhere; ``CRAWL_EXAMPLES`` sets how many
requests each (route, method, person) gets (3 by default: the crawl stays under two minutes).
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from tests.support.people import sign_in
from wx_service.dev.demo import seed_demo

SKIP = ("/sandbox/", "/static/")
EXAMPLES = int(os.environ.get("CRAWL_EXAMPLES", "3"))
PEOPLE = {"nobody": None, "stranger": "o_crawl_stranger", "volunteer": "o_demo_volunteer",
          "org_admin": "o_demo_station", "root_admin": "o_demo_admin", "help_seeker": "o_demo_elder"}
#: Tables that record refusals on purpose: the shared store keeps lockout counters and rate limits.
RECORDS_REFUSALS = {"shared_value"}
TEMPLATES = Path(__file__).resolve().parents[2] / "wx_service" / "templates"
FORM_KEYS = sorted({m for f in TEMPLATES.rglob("*.html") for m in re.findall(r'name="(\w+)"', f.read_text())}
                   - {"csrf_token"})
JSON_KEYS = ["action", "latitude", "longitude", "accuracy", "datum", "label", "payload", "server_id", "serverId",
             "phone"]
QUERY_KEYS = ["page", "q", "account", "tab", "keyword", "org", "level", "sort", "region", "category", "next",
              "code", "state", "url", "latitude", "longitude", "accuracy", "echostr", "signature", "timestamp"]

HOSTILE = st.sampled_from([
    "", "0", "-1", str(2**31), str(2**31 - 1), str(2**63), str(2**64 + 1), "9" * 40, "9" * 5000, "1\x00", "\x00",
    "../", "../../etc/passwd", "%00", "٣", "１２", "²", "1e309", "NaN", "-Infinity", " ", "☃", "𠀋", "<script>",
    "'; DROP TABLE volunteer; --", "\ud7ff", "true", "[]", "{}", "null",
])
TEXT = st.one_of(HOSTILE, st.text(max_size=12), st.integers(-2**70, 2**70).map(str))
ID = st.one_of(st.integers(1, 6).map(str), st.integers(-2**70, 2**70).map(str), HOSTILE)
JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(), TEXT)
JSON_VALUE = st.recursive(JSON_LEAF, lambda inner: st.lists(inner, max_size=3)
                          | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=6)
JSON_BODY = st.one_of(JSON_VALUE, st.dictionaries(st.sampled_from(JSON_KEYS), JSON_VALUE, max_size=5))
FORM = st.dictionaries(st.one_of(st.sampled_from(FORM_KEYS), st.text(max_size=6)),
                       st.one_of(TEXT, st.lists(TEXT, min_size=2, max_size=3)), max_size=6)
QUERY = st.dictionaries(st.one_of(st.sampled_from(QUERY_KEYS), st.text(max_size=6)), TEXT, max_size=4)
BODY = st.one_of(st.none().map(lambda _: {}), FORM.map(lambda f: {"data": f}), JSON_BODY.map(lambda j: {"json": j}),
                 st.binary(max_size=40).map(lambda b: {"data": b, "content_type": "application/json"}))


def routes(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.rule.startswith(SKIP):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def path_strategy(rule):
    """The rule's path with each segment drawn: ids around the real ones and far beyond, hostile text."""
    parts = re.split(r"(<[^>]+>)", rule.rule)
    segments = [st.just(p) if not p.startswith("<") else (ID if p.startswith("<int:") else TEXT).map(
        lambda v: quote(v, safe="")) for p in parts]
    return st.tuples(*segments).map("".join)


def worst_path(rule) -> str:
    """The rule's path with every id one past PostgreSQL's integer and every text segment a NUL byte."""
    return re.sub(r"<int:[^>]+>", str(2**31), re.sub(r"<(?!int:)[^>]+>", "%00", rule.rule))


#: Tried on every route, before the drawn ones: a page number beyond any OFFSET, NUL in a search term.
WORST_QUERY = {"page": str(2**63), "q": "张\x00", "keyword": "\x00"}


def row_counts(handle) -> dict:
    from models import db

    with handle.app.app_context():
        tables = [t.name for t in db.metadata.sorted_tables if t.name not in RECORDS_REFUSALS]
        sql = " UNION ALL ".join(f"SELECT '{t}', COUNT(*) FROM \"{t}\"" for t in tables)
        counts = dict(db.session.execute(text(sql)).all())
        db.session.remove()
    return counts


class ErrorLog(logging.Handler):
    def __init__(self):
        super().__init__(logging.ERROR)
        self.records = []

    def emit(self, record):
        if record.name.startswith("wx_service"):  # the service's answers; a job's delivery error is not one
            self.records.append(record)


@pytest.fixture(params=["postgres", "sqlite"])
def seeded(request):
    handle = request.getfixturevalue("pg_app" if request.param == "postgres" else "sqlite_app")
    handle.reset()
    with handle.app.app_context():
        seed_demo()
    clients = {}
    for kind, openid in PEOPLE.items():
        client = handle.client()
        if openid:
            sign_in(client, openid)
            client.get("/m/me")  # the day's login point is credited here, not during the crawl
        clients[kind] = client
    handle.app.config["WTF_CSRF_ENABLED"] = False  # CSRF refusals have their own test; here the views are reached
    errors = ErrorLog()
    logging.getLogger().addHandler(errors)
    yield handle, clients, errors
    logging.getLogger().removeHandler(errors)
    handle.app.config["WTF_CSRF_ENABLED"] = True
    handle.reset()


def test_no_route_answers_hostile_input_with_a_5xx_or_writes_on_refusal(seeded):
    handle, clients, errors = seeded
    crawled, failures = set(), []
    for rule, method in routes(handle.app):
        crawled.add(rule.rule)
        for kind, client in clients.items():
            try:
                crawl_one(handle, client, errors, rule, method, kind)
            except Exception as exc:  # every failing route is reported, not only the first
                failures.append(failure_line(exc))
                errors.records.clear()
    assert len(crawled) > 90, "the crawl should reach every route of the URL map"
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures)


def failure_line(exc: Exception) -> str:
    """The first assertion message inside a (possibly grouped, possibly flaky) hypothesis failure."""
    while getattr(exc, "exceptions", None):
        exc = exc.exceptions[0]
    return str(exc).splitlines()[0][:600]


def crawl_one(handle, client, errors, rule, method, kind):
    @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
              phases=(Phase.explicit, Phase.generate), suppress_health_check=list(HealthCheck))
    @given(path=path_strategy(rule), query=QUERY, body=BODY if method != "GET" else st.just({}))
    @example(path=worst_path(rule), query=WORST_QUERY, body={} if method == "GET" else {"json": ["media-id"]})
    def attack(path, query, body):
        before = row_counts(handle)
        res = client.open(path, method=method, query_string=query, **body)
        handle.drain_jobs()
        what = f"{method} {path} ?{query} {body} as {kind}: {res.status_code}"
        assert res.status_code < 500, what + " " + res.get_data(as_text=True)[:300]
        assert not errors.records, what + f" logged {errors.records[0].getMessage()}"
        if res.status_code >= 400:
            after = row_counts(handle)
            assert after == before, what + f" wrote {({t: after[t] - before[t] for t in after if after[t] != before[t]})}"

    attack()

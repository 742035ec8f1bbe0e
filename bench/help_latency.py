"""一喊就来 latency: a seeker's voice callback → the first template message of that request received by WeChat.

    python bench/help_latency.py [--calls 200] [--interval 0.5]

The service under gunicorn (2 workers) with PostgreSQL and Redis, ONE rq worker
(``flask --app wx_service worker``), and the WeChat stand-in (the sandbox) served by a separate
single-process gunicorn (``bench/sandbox_app.py``) that every account's ``api_base`` points at, so
all template messages land in one process's records, each with its receive time.

Seeded through the model functions: the org tree, 40 volunteers bound on the main account (and
following it in the sandbox), ``calls`` + 1 approved seekers, each bound to its own openid and paired
with 2 volunteers.  Every call comes from a different seeker (the flood rule — one open request per
seeker per 10 minutes — would otherwise fold calls together); the first, from the extra seeker, is a
warm-up and not counted.  Calls are sent every ``interval`` seconds, each with its own voice media in
the sandbox, so the worker downloads and transcodes a real AMR for every call as it would in service.

Latency of a call = sandbox receive time of the first template message keyed ``help_request:<id>:…``
minus the time just before the callback's POST.  Target: p95 ≤ 2 s over 200 calls.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path

import psycopg
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    NONCE,
    TS,
    free_port,
    gunicorn,
    percentile,
    rq_workers,
    service_stack,
    tempdir,
    wechat,
)

TARGET_P95 = 2.0
VOLUNTEERS = 40

SEED = """
from datetime import date, timedelta
from stdnum.cn import ric
from models import db, utcnow
from models import help_seeker as hs
from tests.support.help import SEEKER_FIELDS
from tests.support import orgs as org_support
from tests.support.orgs import build_tree, make_volunteer

org_support._seq = iter(range(500, 9_999))  # numbers and ID numbers clear of the volunteer common.py seeds
now = utcnow()
orgs, admins = build_tree(now)
volunteers = [make_volunteer(f"结对{{j}}号", account="demo", openid=f"o_bench_vol_{{j}}") for j in range({volunteers})]
db.session.commit()
for i in range({seekers}):
    base = "320600" + (date(1940, 1, 1) + timedelta(days=i)).strftime("%Y%m%d") + "002"
    fields = dict(SEEKER_FIELDS, id_number=base + ric.calc_check_digit(base + "0"))
    pair = [volunteers[(2 * i) % {volunteers}], volunteers[(2 * i + 1) % {volunteers}]]
    seeker = hs.add_seeker(admins["street"], fields, ",".join(v.number for v in pair), now=now)
    hs.review_seeker(admins["district"], seeker.id, True, now=now)
    db.session.add(hs.SeekerBinding(account="demo", openid=f"o_bench_seeker_{{i}}", seeker_id=seeker.id, bound_at=now))
    db.session.commit()
"""


def voice_callback(session: requests.Session, service: str, openid: str, media_id: str, msg_id: int) -> str:
    xml = wechat.message_xml(openid, "voice", {"MediaId": media_id, "Format": "amr", "MsgId": msg_id},
                             create_time=int(time.time()))
    nonce = f"{NONCE}{msg_id}"  # a pair of its own: the service refuses a pair used with another body
    query = {"signature": wechat.sign("demotoken", TS, nonce), "timestamp": TS, "nonce": nonce}
    res = session.post(f"{service}/wechat/demo", params=query, data=xml.encode(),
                       headers={"Content-Type": "text/xml"}, timeout=10)
    res.raise_for_status()
    return res.text


def first_deliveries(sandbox: str) -> dict[int, float]:
    """request id → receive time of its first help_request template message."""
    firsts: dict[int, float] = {}
    for client_msg_id, _touser, received in requests.get(f"{sandbox}/bench/delivered", timeout=30).json()["delivered"]:
        if client_msg_id.startswith("n-help_request:"):
            request_id = int(client_msg_id.split(":")[1])
            firsts[request_id] = min(received, firsts.get(request_id, received))
    return firsts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between two calls")
    parser.add_argument("--wait", type=float, default=120, help="seconds to wait for the last delivery")
    args = parser.parse_args()
    workdir = tempdir()
    service_port, sandbox_port = free_port(), free_port()
    service, sandbox = f"http://127.0.0.1:{service_port}", f"http://127.0.0.1:{sandbox_port}"
    seekers = args.calls + 1
    try:
        with service_stack(workdir, base_url=service, api_base=f"{sandbox}/sandbox/",
                           seed=SEED.format(volunteers=VOLUNTEERS, seekers=seekers), seed_timeout=600) as env:
            with gunicorn("bench.sandbox_app:app", env, workers=1, threads=4, port=sandbox_port), \
                    gunicorn("wx_service:create_app()", env, workers=2, port=service_port), \
                    rq_workers(env, 1, log=workdir / "worker.log"):
                requests.post(f"{sandbox}/bench/follow", timeout=30,
                              json={"openids": [f"o_bench_vol_{j}" for j in range(VOLUNTEERS)]}).raise_for_status()
                media = requests.post(f"{sandbox}/bench/media", json={"count": seekers},
                                      timeout=60).json()["media_ids"]
                session = requests.Session()
                sent: dict[str, float] = {}  # media id → time of the POST
                replies_ok = 0
                start = time.monotonic()
                for i in range(seekers):
                    pause = start + i * args.interval - time.monotonic()
                    if pause > 0:
                        time.sleep(pause)
                    posted = time.time()
                    reply = voice_callback(session, service, f"o_bench_seeker_{i}", media[i], 7 * 10**15 + i)
                    replies_ok += "已经通知您的结对志愿者" in reply
                    sent[media[i]] = posted
                    if i == 0:  # warm-up: wait for its delivery so the first measured call starts warm
                        time.sleep(3)
                        start = time.monotonic() - args.interval
                print(f"{len(sent)} calls sent (1 warm-up) ({replies_ok} answered “已经通知”), waiting for deliveries…", flush=True)
                with psycopg.connect(env["BENCH_DB"]) as conn:
                    request_of = dict(conn.execute("SELECT media_id, request_id FROM help_voice_note").fetchall())
                deadline = time.monotonic() + args.wait
                while True:
                    firsts = first_deliveries(sandbox)
                    missing = [m for m in sent if request_of.get(m) not in firsts]
                    if not missing or time.monotonic() > deadline:
                        break
                    time.sleep(1)
                with psycopg.connect(env["BENCH_DB"]) as conn:
                    states = dict(conn.execute("SELECT state, count(*) FROM notification GROUP BY state").fetchall())
                    notes = dict(conn.execute("SELECT state, count(*) FROM help_voice_note GROUP BY state").fetchall())
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    warmup = media[0]
    latencies = [firsts[request_of[m]] - posted for m, posted in sent.items()
                 if m != warmup and request_of.get(m) in firsts]
    measured = len([m for m in sent if m != warmup])
    lost = measured - len(latencies)
    print(f"\nnotification rows by state: {states}; voice notes by state: {notes}")
    print(f"calls measured: {measured}, first template received for {len(latencies)}, missing {lost}")
    if latencies:
        p50, p95 = statistics.median(latencies), percentile(latencies, 95)
        print(f"latency  p50 {p50 * 1000:7.0f} ms   p95 {p95 * 1000:7.0f} ms   max {max(latencies) * 1000:7.0f} ms"
              f"   min {min(latencies) * 1000:5.0f} ms")
        verdict = "met" if p95 <= TARGET_P95 and not lost else "MISSED"
        print(f"target p95 ≤ {TARGET_P95:.0f} s over {measured} calls: {verdict}")
    else:
        print("no deliveries: MISSED")


if __name__ == "__main__":
    main()

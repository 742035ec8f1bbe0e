"""签到 burst: volunteers of one 双签 project signing in through the phone's JSON endpoint.

    python bench/checkin_burst.py [--rate 50] [--seconds 60] [--spike 200]

One 双签 project running now (a site at a fixed gcj02 point, radius 200 m; the config's time zone is UTC
for the run so its all-day window is open whenever the benchmark runs), published through the model
functions; ``rate × seconds`` (3,000) volunteers for the steady phase plus ``spike`` (200) for the spike,
bulk-inserted, bound and accepted (``bench/attendance_seed.py``).  Each has a browser session as OAuth
would have left it (``openids``/``account``, the day's login point already taken, a CSRF token) — a
session cookie signed with the app's secret key — and posts ``POST /m/api/checkin/<id>/punch``
``{"action": "sign_in", latitude, longitude, accuracy}`` with ``X-CSRFToken``, from a position ~50 m
from the site.  Phase 1: ``rate`` sign-ins a second for ``seconds`` (open loop: each request starts at
its scheduled time on a thread of its own); phase 2: ``spike`` sign-ins released at once.  The service:
gunicorn, 2 sync workers, PostgreSQL + Redis.  Afterwards the database is counted: one open cycle per
volunteer answered 2xx, no duplicates, none lost.  Target p99 ≤ 100 ms.
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import statistics
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))

import psycopg  # noqa: E402
from common import ENV, gunicorn, percentile, service_stack, tempdir  # noqa: E402

PREFIX = "o_bench_v"
HERE = {"latitude": 32.0049, "longitude": 120.8590, "accuracy": 15}  # ~45 m north of the site

SESSIONS = """
import json, os, secrets
from itsdangerous import URLSafeTimedSerializer
from wx_service import create_app
from models import Binding, db
app = create_app()
serializer = app.session_interface.get_signing_serializer(app)
csrf = URLSafeTimedSerializer(app.config.get("WTF_CSRF_SECRET_KEY") or app.secret_key, salt="wtf-csrf-token")
day = os.environ["BENCH_DAY"]
out = []
with app.app_context():
    rows = db.session.execute(db.select(Binding.openid, Binding.volunteer_id)
                              .where(Binding.openid.like("{prefix}%")).order_by(Binding.volunteer_id)).all()
for openid, volunteer_id in rows:
    raw = secrets.token_hex(20)
    cookie = serializer.dumps({{"openids": {{"demo": openid}}, "account": "demo", "csrf_token": raw,
                               "login_points": f"{{volunteer_id}}:{{day}}"}})
    out.append([volunteer_id, cookie, csrf.dumps(raw)])
print(json.dumps({{"cookie_name": app.config["SESSION_COOKIE_NAME"], "sessions": out}}))
"""


def post(host: str, port: int, path: str, cookie_name: str, session: list, results: list, phase: str) -> None:
    volunteer_id, cookie, token = session
    body = json.dumps({"action": "sign_in", **HERE})
    headers = {"Content-Type": "application/json", "X-CSRFToken": token, "Cookie": f"{cookie_name}={cookie}"}
    start = time.perf_counter()
    try:
        conn = http.client.HTTPConnection(host, port, timeout=30)
        conn.request("POST", path, body, headers)
        response = conn.getresponse()
        text = response.read()
        status = response.status
        conn.close()
    except OSError as exc:
        status, text = 0, str(exc).encode()
    results.append((phase, volunteer_id, status, (time.perf_counter() - start) * 1000, text[:300]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--spike", type=int, default=200)
    args = parser.parse_args()
    steady = args.rate * args.seconds
    workdir = tempdir()
    seed = (f"from bench.attendance_seed import seed\n"
            f"seed('double', {steady + args.spike}, 'UTC', bind_prefix={PREFIX!r})\n")
    results: list = []
    try:
        with service_stack(workdir, settings={"app": {"timezone": "UTC"}}, seed=seed, seed_timeout=900) as env:
            import subprocess

            day = time.strftime("%Y-%m-%d", time.gmtime())
            made = subprocess.run([sys.executable, "-c", SESSIONS.format(prefix=PREFIX)], env={**env, "BENCH_DAY": day},
                                  cwd=ENV["PYTHONPATH"], capture_output=True, text=True, timeout=300, check=True)
            data = json.loads(made.stdout)
            cookie_name, sessions = data["cookie_name"], data["sessions"]
            with psycopg.connect(env["BENCH_DB"]) as conn:
                project_id = conn.execute("SELECT id FROM project WHERE checkin_mode = 'double'").fetchone()[0]
            path = f"/m/api/checkin/{project_id}/punch?account=demo"
            with gunicorn("wx_service:create_app()", env) as (url, _):
                parsed = urlparse(url)
                host, port = parsed.hostname, parsed.port
                # warm-up: 20 health checks, so both workers have connected
                for _ in range(20):
                    conn = http.client.HTTPConnection(host, port)
                    conn.request("GET", "/healthz")
                    conn.getresponse().read()
                    conn.close()
                threads = []
                t0 = time.perf_counter()
                for i, session in enumerate(sessions[:steady]):
                    delay = t0 + i / args.rate - time.perf_counter()
                    if delay > 0:
                        time.sleep(delay)
                    thread = threading.Thread(target=post, args=(host, port, path, cookie_name, session, results,
                                                                  "steady"))
                    thread.start()
                    threads.append(thread)
                for thread in threads:
                    thread.join()
                steady_elapsed = time.perf_counter() - t0
                time.sleep(1)
                barrier = threading.Barrier(args.spike)

                def spike_post(session):
                    barrier.wait()
                    post(host, port, path, cookie_name, session, results, "spike")

                threads = [threading.Thread(target=spike_post, args=(s,)) for s in sessions[steady:steady + args.spike]]
                t1 = time.perf_counter()
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                spike_elapsed = time.perf_counter() - t1
            with psycopg.connect(env["BENCH_DB"]) as conn:
                cycles = conn.execute(
                    "SELECT volunteer_id, state FROM attendance_cycle WHERE project_id = %s", (project_id,)).fetchall()
                punches = conn.execute(
                    "SELECT count(*) FROM punch p JOIN attendance_cycle c ON c.id = p.cycle_id "
                    "WHERE c.project_id = %s AND p.kind = 'in'", (project_id,)).fetchone()[0]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"steady phase took {steady_elapsed:.1f} s, spike {spike_elapsed:.2f} s")
    for phase in ("steady", "spike"):
        rows = [r for r in results if r[0] == phase]
        ok = [r for r in rows if 200 <= r[2] < 300]
        latencies = [r[3] for r in rows]
        statuses = statistics.multimode([r[2] for r in rows])
        print(f"{phase:7} requests {len(rows)}  2xx {len(ok)}  p50 {percentile(latencies, 50):7.1f} ms  "
              f"p99 {percentile(latencies, 99):7.1f} ms  max {max(latencies):7.1f} ms  "
              f"(target p99 ≤ 100 ms: {'met' if percentile(latencies, 99) <= 100 else 'MISSED'})  modes {statuses}")
        for r in [r for r in rows if not 200 <= r[2] < 300][:3]:
            print("   non-2xx:", r[2], r[4])
    ok_ids = {r[1] for r in results if 200 <= r[2] < 300}
    per_volunteer: dict[int, list[str]] = {}
    for volunteer_id, state in cycles:
        per_volunteer.setdefault(volunteer_id, []).append(state)
    open_ones = {v for v, states in per_volunteer.items() if states.count("open") == 1}
    duplicates = sum(1 for states in per_volunteer.values() if len(states) > 1)
    lost = len(ok_ids - open_ones)
    extra = len(set(per_volunteer) - ok_ids)
    print(f"database: {len(cycles)} cycles for {len(per_volunteer)} volunteers, {punches} sign-in punches; "
          f"volunteers answered 2xx {len(ok_ids)}; with exactly one open cycle {len(open_ones & ok_ids)}; "
          f"duplicates {duplicates}; lost {lost}; cycles without a 2xx answer {extra}")


if __name__ == "__main__":
    main()

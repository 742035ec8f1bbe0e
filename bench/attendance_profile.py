"""Per-request cost of the two attendance hot paths, in-process: SQL statements and CPU time.

    python bench/attendance_profile.py [--requests 300] [--case scan|punch] [--profile]

A database of its own (``common.service_stack``, seeded by ``attendance_seed``), the app built in this
process, requests through the Flask test client against PostgreSQL + Redis:
- ``scan``: 签到扫码 callbacks (``scancode_waitmsg`` / ``SCAN_CHECKIN``) from the bound admin of a running
  单签 project, each naming another accepted volunteer, so each records a punch (as ``scan_checkin.py``);
- ``punch``: 双签 sign-ins through ``POST /m/api/checkin/<id>/punch``, each by another volunteer with the
  session OAuth would leave (as ``checkin_burst.py``).
Prints, per request, the SQL statements sent (SQLAlchemy ``before_cursor_execute``, BEGIN/COMMIT are not
cursor executions and are not counted) and the process CPU time; ``--profile`` prints a cProfile of each
case (and keeps it in ``/tmp/attendance_<case>.prof``).  Statement counts are exact; CPU times on a shared machine are only comparable within one run.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import os
import pstats
import re
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import service_stack, tempdir  # noqa: E402

from tests.support import wechat  # noqa: E402

PREFIX = "o_bench_v"
HERE = {"latitude": 32.0049, "longitude": 120.8590, "accuracy": 15}


class StatementCounter:
    """Counts the statements the engine sends; keeps the texts of the last request."""

    def __init__(self, engine):
        from sqlalchemy import event

        self.count, self.texts = 0, []
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, parameters, context, executemany):
        self.count += 1
        self.texts.append(re.sub(r"\s+", " ", statement)[:160])

    def reset(self):
        self.count, self.texts = 0, []


def scan_requests(app, count: int):
    from models import Volunteer, db
    from models.signup import Signup

    with app.app_context():
        from models import clock
        from models.integrity import codes

        key = codes.derive_key(app.secret_key, codes.PERSONAL_PURPOSE)
        tokens = [codes.personal_code(key, vid, token, clock.now()) for vid, token in db.session.execute(
            db.select(Volunteer.id, Volunteer.qr_token).join(Signup, Signup.volunteer_id == Volunteer.id)
            .order_by(Volunteer.id).limit(count + 1)).all()]
    ts, nonce = str(int(time.time())), "424242"
    query = {"signature": wechat.sign("demotoken", ts, nonce), "timestamp": ts, "nonce": nonce}
    created = int(time.time())

    def send(client, i):
        body = wechat.message_xml("o_bench_admin", "event", {"Event": "scancode_waitmsg", "EventKey": "SCAN_CHECKIN"},
                                  created + i).replace(
            "</xml>", f"<ScanCodeInfo><ScanType><![CDATA[qrcode]]></ScanType><ScanResult><![CDATA["
                      f"{tokens[i]}]]></ScanResult></ScanCodeInfo></xml>")
        response = client.post("/wechat/demo", query_string=query, data=body.encode(), content_type="text/xml")
        text = response.get_data(as_text=True)
        assert response.status_code == 200 and "签到成功" in text, text
        return text

    return send


def punch_requests(app, count: int):
    from itsdangerous import URLSafeTimedSerializer

    from models import Binding, db
    from models.project import Project
    from wx_service import clock

    serializer = app.session_interface.get_signing_serializer(app)
    csrf = URLSafeTimedSerializer(app.config.get("WTF_CSRF_SECRET_KEY") or app.secret_key, salt="wtf-csrf-token")
    with app.app_context():
        rows = db.session.execute(db.select(Binding.openid, Binding.volunteer_id)
                                  .where(Binding.openid.like(f"{PREFIX}%")).order_by(Binding.volunteer_id)
                                  .limit(count + 1)).all()
        project_id = db.session.scalar(db.select(Project.id).where(Project.checkin_mode == "double"))
        day = clock.local_text(clock.now(), "%Y-%m-%d")
    sessions = []
    for openid, volunteer_id in rows:
        raw = os.urandom(20).hex()
        cookie = serializer.dumps({"openids": {"demo": openid}, "account": "demo", "csrf_token": raw,
                                   "login_points": f"{volunteer_id}:{day}"})
        sessions.append((cookie, csrf.dumps(raw)))
    cookie_name = app.config["SESSION_COOKIE_NAME"]

    def send(client, i):
        cookie, token = sessions[i]
        client.set_cookie(cookie_name, cookie)
        response = client.post(f"/m/api/checkin/{project_id}/punch?account=demo", json={"action": "sign_in", **HERE},
                               headers={"X-CSRFToken": token})
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()["message"]

    return send


def measure(case: str, count: int, profile: bool) -> None:
    workdir = tempdir()
    mode, make = ("single", scan_requests) if case == "scan" else ("double", punch_requests)
    seed = f"from bench.attendance_seed import seed\nseed({mode!r}, {count + 1}, 'UTC', bind_prefix={PREFIX!r})\n"
    try:
        with service_stack(workdir, settings={"app": {"timezone": "UTC"}}, seed=seed, seed_timeout=900) as env:
            os.environ.update({k: v for k, v in env.items() if k not in ("PYTHONPATH",)})
            from models import db
            from wx_service import create_app

            app = create_app()
            with app.app_context():
                counter = StatementCounter(db.engine)
            send = make(app, count)
            client = app.test_client()
            print(f"{case}: first reply: {send(client, 0)}")
            counter.reset()
            send(client, 1)
            first_texts = list(counter.texts)
            counter.reset()
            profiler = cProfile.Profile() if profile else None
            start_cpu, start = time.process_time(), time.perf_counter()
            if profiler:
                profiler.enable()
            for i in range(2, count + 1):
                send(client, i)
            if profiler:
                profiler.disable()
            cpu, wall = time.process_time() - start_cpu, time.perf_counter() - start
            n = count - 1
            print(f"{case}: {n} requests; SQL statements per request {counter.count / n:.2f}; "
                  f"CPU {cpu / n * 1000:.2f} ms/request; wall {wall / n * 1000:.2f} ms/request")
            print(f"{case}: statements of one request:")
            for text, times in collections.Counter(first_texts).items():
                print(f"   {times} × {text}")
            if profiler:
                profiler.dump_stats(f"/tmp/attendance_{case}.prof")
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--case", choices=("scan", "punch"), action="append")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    for case in args.case or ("scan", "punch"):
        measure(case, args.requests, args.profile)


if __name__ == "__main__":
    main()

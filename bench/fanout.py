"""Fan-out: 100,000 notifications delivered by 2 rq workers to the local template API, each exactly once.

    python bench/fanout.py [--count 100000] [--rate 20000] [--send-threads 8] [--stand-in template_api|sandbox]

PostgreSQL + Redis; the local template API served by ONE process that the accounts' ``api_base``
points at, so every template message lands in one record (with ``client_msg_id`` and receive time):
``--stand-in template_api`` (the default) is ``bench/template_api.py``, lean as the bare app of the
callback benchmark; ``--stand-in sandbox`` is the whole WeChat sandbox (``bench/sandbox_app.py``), which
validates each message in full and spends the two CPUs' time doing it.  ``[notifications]
rate_per_second`` is raised to ``--rate`` for the run (the throttle still counts every send in Redis).

1. seed ``count`` volunteers, each bound on the main account (and, with the sandbox, following it there);
2. write the outbox: ``notify_many`` in batches of 1,000 (one transaction each; the after-commit hook
   enqueues delivery jobs of 100 ids) — timed, with no worker running, so the jobs wait in the queue;
3. start 2 workers (``flask --app wx_service worker``, rq SimpleWorker) and wait until the stand-in has
   ``count`` deliveries (or ``--wait`` runs out); the rate is ``count`` / (last receipt − worker start).

Checks: delivered == count, no client_msg_id received twice (the stand-in counts every attempt per
client_msg_id), rows in state ``sent`` == count.  Target: ≥ 500 per second.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, cpu_seconds, free_port, gunicorn, rq_workers, service_stack, tempdir, workers_of  # noqa: E402

TARGET_RATE = 500
WORKERS = 2
STAND_INS = {"template_api": ("bench.template_api:app", "/"), "sandbox": ("bench.sandbox_app:app", "/sandbox/")}

SEED = """
from models import Binding, Volunteer, db
from werkzeug.security import generate_password_hash

password = generate_password_hash("bench-password", method="pbkdf2:sha256:1000")
for start in range(0, {count}, 5000):
    volunteers = []
    for n in range(start, min(start + 5000, {count})):
        v = Volunteer(number=f"3207{{n:011d}}", name=f"志愿者{{n}}", gender="M", id_type="身份证",
                      qr_token=f"bench-qr-{{n}}", password_hash=password)
        v.set_id_number(f"320602199002{{n:06d}}")
        v.set_phone(f"138{{n:08d}}")
        volunteers.append(v)
    db.session.add_all(volunteers)
    db.session.flush()
    db.session.add_all([Binding(account="demo", openid=f"o_fan_{{v.number}}", volunteer_id=v.id) for v in volunteers])
    db.session.commit()
"""

WRITE = """
import sys, time
from models import Volunteer, db
from models.notification import notify_many

ids = [i for (i,) in db.session.query(Volunteer.id).filter(Volunteer.number.like("3207%")).order_by(Volunteer.id)]
db.session.rollback()
started = time.time()
for batch, start in enumerate(range(0, len(ids), 1000)):
    notify_many(ids[start:start + 1000], "signup_accepted",
                {{"project": "城市马拉松志愿服务", "time": "2026-12-06 07:30", "place": "南通市体育会展中心"}},
                "/m/projects/1", "bench:fanout", f"bench-fanout-{{batch}}")
    db.session.commit()
print(len(ids), time.time() - started)
"""


def _follow_in_sandbox(env: dict, sandbox: str) -> None:
    """The sandbox refuses users who do not follow the account (43004): every seeded one follows."""
    with psycopg.connect(env["BENCH_DB"]) as conn:
        numbers = [n for (n,) in conn.execute("SELECT number FROM volunteer WHERE number LIKE '3207%'")]
    for start in range(0, len(numbers), 20_000):
        requests.post(f"{sandbox}/bench/follow", timeout=120, json={
            "openids": [f"o_fan_{n}" for n in numbers[start:start + 20_000]]}).raise_for_status()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--rate", type=int, default=20_000, help="[notifications] rate_per_second for the run")
    parser.add_argument("--wait", type=float, default=900, help="seconds to wait for the deliveries at most")
    parser.add_argument("--send-threads", type=int, default=8, help="[notifications] send_threads for the run")
    parser.add_argument("--stand-in", choices=sorted(STAND_INS), default="template_api",
                        help="the local template API: lean, or the whole sandbox")
    args = parser.parse_args()
    stand_in_app, api_path = STAND_INS[args.stand_in]
    workdir = tempdir()
    api_port = free_port()
    api = f"http://127.0.0.1:{api_port}"
    result: dict = {}
    try:
        t = time.monotonic()
        with service_stack(workdir, base_url="http://127.0.0.1:1", api_base=f"{api}{api_path}",
                           settings={"notifications": {"rate_per_second": args.rate, "send_threads": args.send_threads}},
                           seed=SEED.format(count=args.count), seed_timeout=1800) as env:
            print(f"seeded {args.count} bound volunteers in {time.monotonic() - t:.0f} s", flush=True)
            with gunicorn(stand_in_app, env, workers=1, threads=4, port=api_port) as (_, master):
                if args.stand_in == "sandbox":
                    _follow_in_sandbox(env, api)
                code = ("from wx_service import create_app\napp = create_app()\nctx = app.app_context()\n"
                        "ctx.push()\n" + WRITE.format())
                done = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True,
                                      text=True, timeout=1800)
                if done.returncode:
                    raise RuntimeError("writing the outbox failed:\n" + done.stderr[-3000:])
                written, write_seconds = done.stdout.split()
                print(f"outbox: {written} notifications written by notify_many in {float(write_seconds):.1f} s "
                      f"({int(written) / float(write_seconds):.0f} rows/s); jobs queued", flush=True)

                api_pid = workers_of(master.pid)[0]
                api_cpu = cpu_seconds(api_pid)
                started = time.time()
                with rq_workers(env, WORKERS, log=workdir / "workers.log") as procs:
                    deadline = time.monotonic() + args.wait
                    last_report = 0.0
                    while True:
                        time.sleep(2)
                        count = requests.get(f"{api}/bench/delivered?count=1", timeout=60).json()["count"]
                        if time.monotonic() - last_report > 10:
                            print(f"  {time.time() - started:6.0f} s: {count} delivered", flush=True)
                            last_report = time.monotonic()
                        if count >= args.count or time.monotonic() > deadline:
                            break
                    time.sleep(3)  # anything still in flight (a second attempt would show in the receipts)
                    status = requests.get(f"{api}/bench/delivered", timeout=60).json()
                    cpu = {"workers": sum(cpu_seconds(p.pid) for p in procs),
                           "stand_in": cpu_seconds(api_pid) - api_cpu}
                with psycopg.connect(env["BENCH_DB"]) as conn:
                    states = dict(conn.execute("SELECT state, count(*) FROM notification GROUP BY state").fetchall())
                result = {"status": status, "started": started, "states": states, "cpu": cpu}
                log = (workdir / "workers.log").read_text(errors="replace")
                errors = [line for line in log.splitlines() if "Traceback" in line or "ERROR" in line]
                if errors:
                    print(f"worker log: {len(errors)} error lines, e.g. {errors[:3]}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    status, started, states = result["status"], result["started"], result["states"]
    delivered = status["delivered"]
    ids = [d[0] for d in delivered]
    distinct = len(set(ids))
    times = sorted(d[2] for d in delivered)
    seconds = times[-1] - started if times else float("inf")
    rate = len(delivered) / seconds if times else 0
    steady = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0
    print(f"\ndelivered {len(delivered)} template messages ({distinct} distinct client_msg_id), "
          f"{status['attempts']} send attempts received, {len(status['repeated'])} client_msg_id sent more than once")
    print(f"notification rows by state: {states}")
    print(f"{len(delivered)} in {seconds:.1f} s from the workers' start: {rate:.0f} per second "
          f"(first → last receipt: {steady:.0f} per second)")
    cpu = result["cpu"]
    if delivered:
        print(f"CPU per message: workers {cpu['workers'] / len(delivered) * 1000:.2f} ms (both together, including"
              f" their start-up), {args.stand_in} {cpu['stand_in'] / len(delivered) * 1000:.2f} ms")
    exactly_once = (len(delivered) == distinct == args.count and not status["repeated"]
                    and states.get("sent") == args.count)
    print(f"exactly once: {'yes' if exactly_once else 'NO'}; target ≥ {TARGET_RATE}/s: "
          f"{'met' if rate >= TARGET_RATE and exactly_once else 'MISSED'}")


if __name__ == "__main__":
    main()

"""Callback throughput: the service against the bare Flask + wechatpy ceiling, same load, alternating runs.

    python bench/callback_throughput.py [--seconds 10] [--rounds 2] [--cases click,idle_click,...] [--cpu]

Both under gunicorn with 2 workers; wrk with 32 connections and 2 threads replays pre-signed requests
(bench/requests.lua), every request distinct (own CreateTime, own nonce) so deduplication never
short-circuits.  The service logs as production does (``[app] log_level = INFO``: a JSON access line
a callback, written to a file of the run).  Cases:
(a) ``click`` — a CLICK from one bound volunteer again and again (seen within the minute: the warm path);
(b) ``safe_text`` — a text message in safe mode (decrypt, handle, encrypt the reply);
(c) ``idle_click`` — a broadcast's rush: every request another follower (bench/follower_seed.py: subscribed
    two hours ago, one in four bound), each of whom made one callback earlier (as when they followed) and
    was then not seen for over a minute, clicking once;
(d) ``first_subscribe`` — a QR campaign: every request a subscribe (``qrscene_`` key) from a sender never
    seen before.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
import tomllib
import urllib.request
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import redis  # noqa: E402
from common import (  # noqa: E402
    ENV,
    REDIS_URL,
    ROOT,
    cpu_per_request,
    gunicorn,
    processes_named,
    service_stack,
    tempdir,
    workers_of,
    write_requests,
    wrk,
)
from follower_seed import idle_openid  # noqa: E402

# case -> (ratio of bare, p99 in ms): the targets of issues 10 and 18
TARGETS = {"click": (0.70, 40.0), "safe_text": (0.60, None), "idle_click": (0.50, 40.0),
           "first_subscribe": (0.30, None)}
LINES_PER_SECOND = 4500  # distinct requests written per second of a run: more than either app answers (bare ≈ 3,000)
IDLE_AFTER = 61  # seconds between the followers' earlier callback and the rush: "not seen for over a minute"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--cases", default=",".join(TARGETS), help="comma-separated, of: " + ", ".join(TARGETS))
    parser.add_argument("--threads", type=int, default=1,
                        help="threads per gunicorn worker (gthread) for BOTH apps; 1 = sync workers")
    parser.add_argument("--log-level", default="INFO",
                        help="the service's [app] log_level: INFO (production's default) writes its JSON access line "
                             "for every callback, to a file of the run")
    parser.add_argument("--cpu", action="store_true",
                        help="also print the CPU a request cost the app's workers, Redis, PostgreSQL and wrk")
    args = parser.parse_args()
    cases = [c for c in args.cases.split(",") if c]
    workdir = tempdir()
    per_run = LINES_PER_SECOND * args.seconds
    results: dict[tuple[str, str], list[dict]] = {}
    try:
        with service_stack(workdir, settings={"app": {"log_level": args.log_level}}) as env:
            with gunicorn("wx_service:create_app()", env, threads=args.threads,
                          log=workdir / "service.log") as (service_url, service), \
                    gunicorn("bench.bare_app:app", ENV, threads=args.threads) as (bare_url, bare):
                masters = {service_url: service.pid, bare_url: bare.pid}
                offset = 0
                for url in (service_url, bare_url):  # each worker's first request pays for its lazy start-up
                    first_requests(url, write_requests("click", 8, offset := offset + 10**6, workdir / "first.txt"))
                for case in cases:
                    for url in (service_url, bare_url):  # warm-up
                        wrk(url, write_requests("click" if case == "idle_click" else case, 2000,
                                                offset := offset + 10**6, workdir / "warm.txt"), 2)
                    if case == "idle_click":
                        # As many idle followers as the service's runs can reach (the bare app needs none).
                        warm = results.get(("click", "service"), [{"rps": per_run / args.seconds / 2}])
                        idle_run = int(max(r["rps"] for r in warm) * args.seconds * 2) + 100
                        offset, primed = prime(service_url, env, idle_run * args.rounds, workdir, offset)
                        idle_run = len(primed) // args.rounds
                    for round_ in range(args.rounds):
                        for label, url in (("bare", bare_url), ("service", service_url)):
                            if case == "idle_click" and label == "service":
                                lines, senders = idle_run, primed[round_ * idle_run:(round_ + 1) * idle_run]
                            else:
                                lines, senders = per_run, range(10**6, 10**6 + per_run)  # never seeded
                            requests = write_requests(case, lines, offset := offset + 10**6, workdir / "req.txt",
                                                      senders=senders)
                            groups = {"workers": workers_of(masters[url]), "redis": processes_named("redis-server"),
                                      "postgres": processes_named("postgres")}
                            result, split = cpu_per_request(groups, partial(wrk, url, requests, args.seconds))
                            if result["requests"] > lines:
                                print(f"  (wrk sent {result['requests']} requests, more than the {lines} written: "
                                      "repeats were measured too)", flush=True)
                            results.setdefault((case, label), []).append(result)
                            print(f"{case:16} {label:8} {result['rps']:8.0f} req/s  p50 {result['p50_ms']:6.1f} ms  "
                                  f"p99 {result['p99_ms']:6.1f} ms  max {result['max_ms']:7.1f} ms  "
                                  f"non-2xx {result['errors']} {result['socket_errors']}", flush=True)
                            if args.cpu:
                                print(" " * 26 + "CPU µs a request: " + ", ".join(
                                    f"{name} {value:.0f}" for name, value in split.items()), flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report(cases, results)


def first_requests(url: str, requests: Path) -> None:
    """Send the requests one after another (with time to answer), before any timed load."""
    for line in requests.read_text().splitlines():
        path, body = line.split("\t")
        post = urllib.request.Request(url + path, data=body.encode(), headers={"Content-Type": "text/xml"})
        with urllib.request.urlopen(post, timeout=60) as answer:
            answer.read()


def prime(service_url: str, env: dict, count: int, workdir: Path, offset: int) -> tuple[int, list[int]]:
    """``count`` idle followers (bench/follower_seed.py), each of whom made one callback (the card it
    leaves is what production would hold), then more than a minute of silence.  wrk runs for a time,
    not a count: passes repeat until every follower has been seen (its card is in Redis) or 3 minutes
    passed.  Returns the offset reached and the followers seen (only those make the rush)."""
    code = ("from wx_service import create_app\nfrom bench.follower_seed import seed\n"
            f"app = create_app()\nwith app.app_context():\n    seed({count})\n")
    subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, check=True, timeout=1800)
    queue = tomllib.loads(Path(env["BENCH_CONFIG"]).read_text())["redis"]["queue"]
    client = redis.Redis.from_url(REDIS_URL)
    missing = list(range(count))
    started = time.monotonic()
    while missing and time.monotonic() - started < 180:
        path = write_requests("idle_click", len(missing), offset := offset + 10**6, workdir / "prime.txt", missing)
        wrk(service_url, path, max(3, len(missing) // 300))
        pipe = client.pipeline(transaction=False)
        for n in missing:
            pipe.exists(f"{queue}:card:demo:{idle_openid(n)}")
        missing = [n for n, found in zip(missing, pipe.execute(), strict=True) if not found]
    print(f"  {count} idle followers seeded and seen once in {time.monotonic() - started:.0f} s "
          f"({len(missing)} without a card); now {IDLE_AFTER} s of silence", flush=True)
    time.sleep(IDLE_AFTER)
    unseen = set(missing)
    # the requests' numbers (their nonces) used so far: later ones must not reuse them
    return offset, [n for n in range(count) if n not in unseen]


def report(cases: list[str], results: dict) -> None:
    print("\ncase             app        req/s    p50 ms   p99 ms   max ms   (median of rounds; max: the worst run)")
    for case in cases:
        ratio_target, p99_target = TARGETS[case]
        row = {}
        for label in ("service", "bare"):
            runs = results[(case, label)]
            row[label] = {k: statistics.median(r[k] for r in runs) for k in ("rps", "p50_ms", "p99_ms")}
            print(f"{case:16} {label:8} {row[label]['rps']:8.0f} {row[label]['p50_ms']:8.1f} "
                  f"{row[label]['p99_ms']:8.1f} {max(r['max_ms'] for r in runs):8.1f}")
        ratio = row["service"]["rps"] / row["bare"]["rps"]
        verdict = "met" if ratio >= ratio_target else "MISSED"
        line = f"{case:16} service/bare = {ratio:.0%} (target ≥ {ratio_target:.0%}: {verdict})"
        if p99_target:
            p99 = row["service"]["p99_ms"]
            line += f"; p99 {p99:.1f} ms (target ≤ {p99_target:.0f} ms: {'met' if p99 <= p99_target else 'MISSED'})"
        print(line)


if __name__ == "__main__":
    main()

"""Callback throughput: the service against the bare Flask + wechatpy ceiling, same load, alternating runs.

    python bench/callback_throughput.py [--seconds 10] [--rounds 2]

Both under gunicorn with 2 workers; wrk with 32 connections and 2 threads replays pre-signed requests
(bench/requests.lua), every request distinct so deduplication never short-circuits.  Cases:
(a) ``click`` — a CLICK from a bound volunteer (binding lookup + dedup), plain mode;
(b) ``safe_text`` — a text message in safe mode (decrypt, handle, encrypt the reply).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ENV, gunicorn, service_stack, tempdir, write_requests, wrk  # noqa: E402

TARGETS = {"click": (0.70, 40.0), "safe_text": (0.60, None)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1,
                        help="threads per gunicorn worker (gthread) for BOTH apps; 1 = sync workers")
    args = parser.parse_args()
    workdir = tempdir()
    per_run = 6000 * args.seconds  # more distinct requests than a run can send
    results: dict[tuple[str, str], list[dict]] = {}
    try:
        with service_stack(workdir) as env:
            with gunicorn("wx_service:create_app()", env, threads=args.threads) as (service_url, _), \
                    gunicorn("bench.bare_app:app", ENV, threads=args.threads) as (bare_url, _):
                offset = 0
                for case in TARGETS:
                    for url in (service_url, bare_url):  # warm-up
                        wrk(url, write_requests(case, 2000, offset := offset + 10**6, workdir / "warm.txt"), 2)
                    for _ in range(args.rounds):
                        for label, url in (("bare", bare_url), ("service", service_url)):
                            requests = write_requests(case, per_run, offset := offset + 10**6, workdir / "req.txt")
                            result = wrk(url, requests, args.seconds)
                            results.setdefault((case, label), []).append(result)
                            print(f"{case:10} {label:8} {result['rps']:8.0f} req/s  p50 {result['p50_ms']:6.1f} ms  "
                                  f"p99 {result['p99_ms']:6.1f} ms  non-2xx {result['errors']} {result['socket_errors']}",
                                  flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("\ncase       app        req/s    p50 ms   p99 ms   (median of rounds)")
    for case, (ratio_target, p99_target) in TARGETS.items():
        row = {}
        for label in ("service", "bare"):
            runs = results[(case, label)]
            row[label] = {k: statistics.median(r[k] for r in runs) for k in ("rps", "p50_ms", "p99_ms")}
            print(f"{case:10} {label:8} {row[label]['rps']:8.0f} {row[label]['p50_ms']:8.1f} {row[label]['p99_ms']:8.1f}")
        ratio = row["service"]["rps"] / row["bare"]["rps"]
        verdict = "met" if ratio >= ratio_target else "MISSED"
        line = f"{case:10} service/bare = {ratio:.0%} (target ≥ {ratio_target:.0%}: {verdict})"
        if p99_target:
            p99 = row["service"]["p99_ms"]
            line += f"; p99 {p99:.1f} ms (target ≤ {p99_target:.0f} ms: {'met' if p99 <= p99_target else 'MISSED'})"
        print(line)


if __name__ == "__main__":
    main()

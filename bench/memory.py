"""Resident memory of the service's gunicorn workers after warm-up and after 100,000 callbacks.

    python bench/memory.py [--callbacks 100000]

Target: growth < 10 % between the two readings.  The callbacks are distinct CLICKs of a bound volunteer.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import gunicorn, rss_kib, service_stack, tempdir, workers_of, write_requests, wrk  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--callbacks", type=int, default=100_000)
    args = parser.parse_args()
    workdir = tempdir()
    try:
        with service_stack(workdir) as env, gunicorn("wx_service:create_app()", env) as (url, master):
            wrk(url, write_requests("click", 20_000, 0, workdir / "warm.txt"), 10)
            warm = {pid: rss_kib(pid) for pid in workers_of(master.pid)}
            sent, offset, rates, errors = 0, 10**7, [], 0
            while sent < args.callbacks:  # 20-second runs of fresh, distinct callbacks until enough were sent
                result = wrk(url, write_requests("click", 40_000, offset, workdir / "load.txt"), 20)
                sent, offset = sent + result["requests"], offset + 10**6
                rates.append(result["rps"])
                errors += result["errors"]
            after = {pid: rss_kib(pid) for pid in workers_of(master.pid)}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"{sent} callbacks, {sum(rates) / len(rates):.0f} req/s, non-2xx {errors}")
    for pid, kib in warm.items():
        now = after.get(pid)
        growth = f"{(now - kib) / kib:+.1%}" if now else "worker replaced"
        print(f"worker {pid}: {kib / 1024:.1f} MiB after warm-up, {now / 1024 if now else 0:.1f} MiB after; {growth}")


if __name__ == "__main__":
    main()

"""Jobs and processes of the tests that play several machines: schedulers, workers killed or stopped.

``tick`` is a periodic job fast enough to see many periods in a test; ``slow_job`` holds its worker
until the test lets it go (a file appears), so a test can stop or kill the worker with a job in hand.
Both are declared like every job, so rq imports them by name in a worker process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from jobs import job
from tests.support.notifications import ROOT, worker_env


@job()
def tick() -> bool:
    return True


@job()
def failing_job() -> None:
    raise RuntimeError("this job always fails")


@job()
def slow_job(marker: str) -> str:
    """Write ``marker.started``, wait for ``marker.go`` (30 s at most), write ``marker.done``."""
    Path(marker + ".started").write_text(str(os.getpid()))
    deadline = time.monotonic() + 30
    while not os.path.exists(marker + ".go") and time.monotonic() < deadline:
        time.sleep(0.05)
    Path(marker + ".done").write_text(str(os.getpid()))
    return "done"


def run_fast_scheduler(config_path: str, lease_seconds: int) -> None:
    """A process's main: ``jobs.scheduler.Scheduler`` with ``tick`` every second, until SIGTERM."""
    from jobs.scheduler import Scheduler
    from wx_service import create_app

    app = create_app(config_path)
    with app.app_context():
        scheduler = Scheduler(app.extensions["wx_store"], [(tick, 1)], lease_seconds=lease_seconds)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        print(scheduler.holder, flush=True)
        scheduler.run(stop, tick_seconds=0.1)


def start_fast_scheduler(config_path, lease_seconds: int) -> subprocess.Popen:
    code = "import sys; from tests.support.processes import run_fast_scheduler as r; r(sys.argv[1], int(sys.argv[2]))"
    return subprocess.Popen([sys.executable, "-c", code, str(config_path), str(lease_seconds)], cwd=str(ROOT),
                            env=worker_env(config_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def flask_process(config_path, *args, cwd=None) -> subprocess.Popen:
    """``python -m flask --app wx_service ARGS`` in a process of its own (output in a pipe)."""
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wx_service", *args], cwd=str(cwd or ROOT),
                            env=worker_env(config_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_for(condition, what: str, timeout: float = 120.0, processes=()):
    """Poll ``condition`` until it is true; fail naming ``what`` (and any process that died meanwhile)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        for proc in processes:
            if proc.poll() is not None:
                raise AssertionError(f"{what}: a process exited ({proc.returncode}): {proc.stdout.read()[-3000:]}")
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def first_line(proc: subprocess.Popen, what: str, timeout: float = 120.0) -> str:
    """The process's first line of output (its banner), read with a deadline; fail if it dies first.

    A process signalled before it prints its banner may not have installed its handlers yet.
    """
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    if not lines or not lines[0]:
        raise AssertionError(f"{what}: no banner within {timeout} s (exit code {proc.poll()})")
    return lines[0]


def stop(proc: subprocess.Popen, sig=signal.SIGTERM, timeout: float = 30.0) -> str:
    """Signal the process, wait for it, and return its output."""
    if proc.poll() is None:
        proc.send_signal(sig)
    out, _ = proc.communicate(timeout=timeout)
    return out

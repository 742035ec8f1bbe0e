"""Workers on SIGTERM finish the job in hand (rq's warm shutdown); a job whose worker was killed is run again.

Real ``flask worker`` processes on PostgreSQL + Redis, with a job that holds its worker until the test
lets it go.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from rq import Queue
from rq.job import Job, JobStatus

from jobs.abandoned import TAKE_UPS, requeue_abandoned_jobs
from tests.support.processes import flask_process, slow_job, wait_for

pytestmark = pytest.mark.redis


def _submit(handle, marker: Path) -> Job:
    queue = handle.app.extensions["wx_jobs"].queue
    return queue.enqueue(slow_job, args=(str(marker),))


def test_sigterm_lets_the_job_in_hand_finish_and_takes_no_other(app_pg, tmp_path):
    first, second = _submit(app_pg, tmp_path / "first"), _submit(app_pg, tmp_path / "second")
    worker = flask_process(app_pg.config_path, "worker")
    try:
        wait_for((tmp_path / "first.started").exists, "the worker starts the first job", processes=[worker])
        worker.send_signal(signal.SIGTERM)
        time.sleep(0.5)  # the signal is handled while the job runs (no assertion on time)
        assert worker.poll() is None  # still finishing its job
        (tmp_path / "first.go").touch()
        out = worker.communicate(timeout=60)[0]
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert worker.returncode == 0, out[-3000:]
    assert (tmp_path / "first.done").exists()
    assert first.get_status(refresh=True) == JobStatus.FINISHED
    assert not (tmp_path / "second.started").exists()  # left queued for another worker
    assert second.get_status(refresh=True) == JobStatus.QUEUED


def test_a_job_whose_worker_was_killed_is_run_again_by_another(app_pg, tmp_path):
    marker = tmp_path / "held"
    lost = _submit(app_pg, marker)
    worker = flask_process(app_pg.config_path, "worker")
    try:
        wait_for((tmp_path / "held.started").exists, "the worker starts the job", processes=[worker])
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    queue: Queue = app_pg.app.extensions["wx_jobs"].queue
    assert queue.count == 0
    with app_pg.app.app_context():
        assert requeue_abandoned_jobs() == 0  # its lease (the job's timeout + 60 s) has not run out yet
        found = requeue_abandoned_jobs(now=time.time() + 3600)  # an hour later: it has
    assert found == 1 and queue.count == 1
    fresh = queue.get_jobs()[0]
    assert fresh.id != lost.id and fresh.func_name == lost.func_name and fresh.args == lost.args
    assert fresh.meta[TAKE_UPS] == 1
    (tmp_path / "held.go").touch()
    again = flask_process(app_pg.config_path, "worker", "--burst")
    out = again.communicate(timeout=60)[0]
    assert again.returncode == 0, out[-3000:]
    assert (tmp_path / "held.done").read_text() == str(again.pid)
    assert fresh.get_status(refresh=True) == JobStatus.FINISHED

"""Where jobs run: an rq queue on Redis in production, a thread of the web process otherwise.

Callers never pick: a declared job's ``later`` / ``now`` (``jobs.job``) looks up the backend the
app factory installed.  ``later`` submits only after the database transaction that asked for the
job has committed (a job must see the rows it is about ids of); if Redis is unreachable at that moment the job is dropped with a
warning and the periodic sweep picks the work up from the database later.
"""

from __future__ import annotations

import logging
import queue
import threading
import time

from redis.exceptions import RedisError
from rq import Queue, Retry, SimpleWorker

from .metrics import JOB_FAILURES

log = logging.getLogger(__name__)


class RQBackend:
    def __init__(self, connection, name: str):
        self.connection = connection
        self.name = name
        self.queue = Queue(name, connection=connection)

    def submit(self, func, args, kwargs, retry: tuple[int, list[int]] | None = None, job_id=None):
        opts = {}
        if retry:
            opts["retry"] = Retry(max=retry[0], interval=retry[1])
        try:
            self.queue.enqueue(func, args=tuple(args), kwargs=kwargs or {}, job_id=job_id, **opts)
            return True
        except RedisError as exc:
            log.warning("job not enqueued, Redis unreachable: %s (%s)", func.__name__, exc.__class__.__name__)
            return False


class Worker(SimpleWorker):
    """rq's worker for ``flask worker``: each job in a fresh database session.

    The worker lives in one app context for days; without this, a job would see the identity map
    (and an open transaction) a previous job left, e.g. an org still pending after its approval.
    """

    def perform_job(self, job, queue):
        from models import db

        try:
            done = super().perform_job(job, queue)
            if not done:
                JOB_FAILURES.labels(job.func_name.rsplit(".", 1)[-1]).inc()
            return done
        finally:
            db.session.remove()


class InProcessBackend:
    """Runs jobs one at a time in a daemon thread of the web process, inside an app context.

    Retries follow the same (count, intervals) as rq's ``Retry`` so behaviour matches production.
    """

    def __init__(self, app):
        self.app = app
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._guard = threading.Lock()
        self._idle = threading.Event()
        self._idle.set()

    def submit(self, func, args, kwargs, retry=None, job_id=None):
        self._idle.clear()
        self._queue.put((func, args, kwargs, retry, 0))
        with self._guard:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="wx-jobs", daemon=True)
                self._thread.start()
        return True

    def _run(self):
        while True:
            try:
                item = self._queue.get(timeout=1)
            except queue.Empty:
                self._idle.set()
                continue
            func, args, kwargs, retry, attempt = item
            with self.app.app_context():
                try:
                    func(*args, **kwargs)
                except Exception:
                    log.exception("job failed: %s", func.__name__)
                    JOB_FAILURES.labels(func.__name__).inc()
                    if retry and attempt < retry[0]:
                        delay = retry[1][min(attempt, len(retry[1]) - 1)]
                        timer = threading.Timer(
                            delay, self._queue.put, args=((func, args, kwargs, retry, attempt + 1),)
                        )
                        timer.daemon = True
                        timer.start()
                finally:
                    from models import db

                    db.session.remove()
            if self._queue.empty():
                self._idle.set()

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every submitted job has run (tests and the sandbox use it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._queue.empty() and self._idle.is_set():
                return True
            time.sleep(0.01)
        return False

"""A job whose worker died under it (killed, OOM, host lost) is run again, whatever its kind.

rq keeps each running job in the queue's started registry with a lease (the job's timeout + 60 s,
renewed while its worker lives).  When the lease runs out the job is abandoned: rq retries it if its
declared retry policy has retries left, and otherwise only marks it failed.  Every job of ours is
idempotent (it takes ids and reads fresh state), so running an abandoned one again is always safe:
:func:`take_up_abandoned` submits it afresh, at most ``MAX_TAKE_UPS`` times (a job that kills its worker
each time must not loop for ever).  Rows of the outbox and of media also have sweeps of their own
that read the database; this one covers every kind, the admin tag jobs and the periodic jobs too.

The check runs from the schedule every minute and from rq's own maintenance in each worker.
"""

from __future__ import annotations

import logging
import time

from rq import Queue, Retry
from rq.exceptions import AbandonedJobError
from rq.registry import StartedJobRegistry

from . import backend, job
from .metrics import JOB_FAILURES

log = logging.getLogger(__name__)

MAX_TAKE_UPS = 3
TAKE_UPS = "abandoned_take_ups"  # the job's meta: how many times it was submitted again


def take_up_abandoned(rq_job, exc_type, exc_value, traceback) -> bool:
    """rq exception handler: an abandoned job without retries left is submitted again (a fresh job)."""
    if exc_type is not AbandonedJobError or (rq_job.retries_left or 0) > 0:
        return True  # rq's own handling: a failure is recorded, a job with retries left is retried
    JOB_FAILURES.labels(rq_job.func_name.rsplit(".", 1)[-1]).inc()
    take_ups = int(rq_job.meta.get(TAKE_UPS, 0))
    if take_ups >= MAX_TAKE_UPS:
        log.error("job %s (%s) abandoned %d times: left failed", rq_job.id, rq_job.func_name, take_ups + 1)
        return True
    func = rq_job.func
    policy = getattr(func, "retry", None)
    policy = policy() if callable(policy) else policy
    queue = Queue(rq_job.origin, connection=rq_job.connection)
    fresh = queue.enqueue(func, args=rq_job.args, kwargs=rq_job.kwargs, meta={TAKE_UPS: take_ups + 1},
                          retry=Retry(max=policy[0], interval=policy[1]) if policy else None)
    log.warning("job %s (%s) abandoned by its worker: submitted again as %s", rq_job.id, func.__name__, fresh.id,
                extra={"job": func.__name__})
    return True


@job()
def requeue_abandoned_jobs(now: float | None = None) -> int:
    """Take up the jobs whose lease in the started registry ran out by ``now`` (epoch seconds; default:
    the real time, the one rq's leases run on); how many were found.  Nothing to do without Redis."""
    jobs_backend = backend()
    if not hasattr(jobs_backend, "queue"):
        return 0  # in-process jobs die with their process; the database sweeps take their work up
    registry = StartedJobRegistry(queue=jobs_backend.queue)
    timestamp = time.time() if now is None else now
    found = len(registry.get_expired_job_ids(timestamp))
    if found:
        registry.cleanup(timestamp, exception_handlers=[take_up_abandoned])
    return found

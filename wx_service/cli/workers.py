"""``flask --app wx_service worker | cron``: the rq worker and the scheduler of the periodic jobs."""

from __future__ import annotations

import signal
import threading

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
@with_appcontext
def worker(burst):
    """Run an rq worker on the configured queue, inside the application context.

    SIGTERM (systemd stop, a deploy) is rq's warm shutdown: the job in hand finishes, then the worker
    exits; a second SIGTERM stops it at once, and the job is taken up again by ``requeue_abandoned_jobs``.
    """
    from jobs.abandoned import take_up_abandoned
    from jobs.queue import Worker

    backend = current_app.extensions["wx_jobs"]
    if not hasattr(backend, "queue"):
        raise click.UsageError("no [redis] url configured: jobs run inside the web process")
    Worker([backend.queue], connection=backend.connection, exception_handlers=[take_up_abandoned]).work(
        burst=burst, with_scheduler=True)


@click.command("cron")
@click.option("--lease-seconds", default=None, type=click.IntRange(min=1),
              help="How long a dead scheduler's lease outlives it (default 30).")
@click.option("--tick", default=1.0, type=click.FloatRange(min=0.05), help="Seconds between two rounds.")
@with_appcontext
def cron(lease_seconds, tick):
    """Run the periodic jobs of jobs/schedule.py; start it on one host or on several (one holds the lease)."""
    from jobs.schedule import PERIODIC
    from jobs.scheduler import LEASE_SECONDS, Scheduler

    if not hasattr(current_app.extensions["wx_jobs"], "queue"):
        raise click.UsageError("no [redis] url configured: periodic jobs run inside the development server")
    scheduler = Scheduler(current_app.extensions["wx_store"], PERIODIC, lease_seconds=lease_seconds or LEASE_SECONDS)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    click.echo(f"scheduler {scheduler.holder}: {len(PERIODIC)} periodic jobs, lease {scheduler.lease_seconds} s")
    scheduler.run(stop, tick_seconds=tick)

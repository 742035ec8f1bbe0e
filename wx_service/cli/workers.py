"""``flask --app wx_service worker | cron``: the rq worker and the cron scheduler of the periodic jobs."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
@with_appcontext
def worker(burst):
    """Run an rq worker on the configured queue, inside the application context."""
    from jobs.queue import Worker

    backend = current_app.extensions["wx_jobs"]
    if not hasattr(backend, "queue"):
        raise click.UsageError("no [redis] url configured: jobs run inside the web process")
    Worker([backend.queue], connection=backend.connection).work(burst=burst, with_scheduler=True)


@click.command("cron")
@with_appcontext
def cron():
    """Run rq's cron scheduler with the periodic jobs of jobs/schedule.py."""
    from rq.cron import CronScheduler

    from jobs.schedule import PERIODIC

    backend = current_app.extensions["wx_jobs"]
    if not hasattr(backend, "queue"):
        raise click.UsageError("no [redis] url configured: periodic jobs run inside the development server")
    scheduler = CronScheduler(connection=backend.connection)
    for func, interval in PERIODIC:
        scheduler.register(func, backend.name, interval=interval)
    scheduler.start()

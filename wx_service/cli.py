"""Flask CLI commands: menus, workers, the cron scheduler, the demo seed."""

from __future__ import annotations

import threading
import time

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from . import config

menus_cli = AppGroup("menus", help="WeChat menus.")


@menus_cli.command("sync")
@click.option("--account", "account_name", default=None, help="Account name (default: every account).")
@with_appcontext
def menus_sync(account_name):
    """Create the admin tag if needed and push the default and the admin menu."""
    from menus import sync_menus

    settings = config.settings()
    names = [account_name] if account_name else list(settings.accounts)
    for name in names:
        if name not in settings.accounts:
            raise click.UsageError(f"no account named {name!r} in the configuration")
        result = sync_menus(current_app.extensions["wechat"].client(name), settings.app["base_url"], name)
        click.echo(f"{name}: menus pushed (admin tag {result['tag_id']}, conditional menu {result['menuid']})")


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


def start_inprocess_cron(app) -> threading.Thread:
    """The embedded default's stand-in for rq cron: a daemon thread running jobs/schedule.py."""
    from jobs import enqueue_now
    from jobs.schedule import PERIODIC

    def loop():
        last: dict = {}
        while True:
            now = time.monotonic()
            with app.app_context():
                for func, interval in PERIODIC:
                    if now - last.get(func, -interval) >= interval:
                        last[func] = now
                        enqueue_now(func)
            time.sleep(5)

    thread = threading.Thread(target=loop, name="wx-cron", daemon=True)
    thread.start()
    return thread


@click.command("dev")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@with_appcontext
def dev(host, port):
    """Development server on the embedded default: demo seed, sandbox menus, in-process cron."""
    app = current_app._get_current_object()
    settings = config.settings(app)
    if not settings.sandbox["enabled"]:
        raise click.UsageError("the development server needs [sandbox] enabled = true")
    from .demo import DEMO_OPENIDS
    from .sandbox import get_state

    sandbox = get_state(app)
    store = app.extensions["wx_store"]
    for account in settings.accounts.values():
        # The sandbox starts with an empty memory: the access token and jsapi_ticket a previous run kept
        # in var/ were issued by a sandbox that is gone (a stale ticket fails every wx.config).
        client = app.extensions["wechat"].client(account.name)
        store.delete(client.token_key)
        store.delete(client.ticket_key)
        for openid in DEMO_OPENIDS:  # the demo people follow the account on the sandbox phone
            sandbox.follow(account.app_id, openid)

    def announce():
        """Once the server answers (the jobs below call the sandbox it serves): menus, demo, cron."""
        import requests

        from .demo import restore_admin_tags, seed_demo

        base = settings.app["base_url"].rstrip("/")
        for _ in range(100):
            try:
                requests.get(base + "/healthz", timeout=1)
                break
            except requests.RequestException:
                time.sleep(0.1)
        with app.app_context():
            from menus import sync_menus

            for name in settings.accounts:  # first: it creates the admin tag the tagging jobs use
                sync_menus(app.extensions["wechat"].client(name), base, name)
            if not seed_demo():  # seeding tags its admins; a restarted sandbox has forgotten the tags
                restore_admin_tags()
        start_inprocess_cron(app)
        click.echo(f"\n  江海志愿 wx_service is running.\n  Sandbox phone (plays a WeChat client): {base}/sandbox/phone\n"
                   f"  Home page: {base}/m/\n")

    threading.Thread(target=announce, daemon=True).start()
    from werkzeug.serving import run_simple

    run_simple(host, port, app, threaded=True, use_reloader=False)


def register(app) -> None:
    from .cli_attendance import attendance_cli
    from .cli_notifications import notifications_cli
    from .cli_orgs import orgs_cli

    app.cli.add_command(dev)
    app.cli.add_command(notifications_cli)
    app.cli.add_command(orgs_cli)
    app.cli.add_command(attendance_cli)
    app.cli.add_command(menus_cli)
    app.cli.add_command(worker)
    app.cli.add_command(cron)

"""``flask --app wx_service dev``: the development server on the embedded default, with the sandbox.

Added to the CLI by ``wx_service.dev.install`` only when the sandbox is enabled.
"""

from __future__ import annotations

import threading
import time

import click
from flask import current_app
from flask.cli import with_appcontext

from .. import config
from .demo import DEMO_OPENIDS, restore_admin_tags, seed_demo
from .sandbox import get_state


def start_inprocess_cron(app) -> threading.Thread:
    """The embedded default's stand-in for rq cron: a daemon thread running jobs/schedule.py."""
    from jobs.schedule import PERIODIC

    def loop():
        last: dict = {}
        while True:
            now = time.monotonic()
            with app.app_context():
                for func, interval in PERIODIC:
                    if now - last.get(func, -interval) >= interval:
                        last[func] = now
                        func.now()
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

        base = settings.app.base_url.rstrip("/")
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

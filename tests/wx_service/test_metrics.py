"""``/metrics``: who may read it, and that what operators alert on is counted where it happens.

In-process on SQLite (the values live in this process's registry, compared before and after), and
under gunicorn with two workers in multiprocess mode, where each worker counts in its own process and
``/metrics`` adds them up.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta

import pytest
import requests
from prometheus_client import REGISTRY

from models import db, notify
from tests.support.appfactory import free_port
from tests.support.notifications import ROOT, make_volunteer, worker_env
from tests.support.processes import wait_for
from tests.support.settings import override
from tests.support.wechat import post, text_xml

OUTSIDE = {"REMOTE_ADDR": "203.0.113.9"}


def value(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_only_the_allowed_addresses_or_the_token_read_it(app_lite, monkeypatch):
    client = app_lite.client()
    assert client.get("/metrics").status_code == 200  # loopback is allowed by default
    # nginx on the same host with [app] proxy_hops left at 0: the address is nginx's loopback, not the client's
    proxied = client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"},
                         headers={"X-Forwarded-For": "203.0.113.9"})
    assert proxied.status_code == 404
    assert client.get("/metrics", environ_base=OUTSIDE).status_code == 404
    override(app_lite.app, monkeypatch, "metrics", token="s3cret-scrape", allow=["10.0.0.0/8"])
    assert client.get("/metrics").status_code == 404  # loopback no longer listed
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200
    wrong = client.get("/metrics", environ_base=OUTSIDE, headers={"Authorization": "Bearer guess"})
    assert wrong.status_code == 404
    right = client.get("/metrics", environ_base=OUTSIDE, headers={"Authorization": "Bearer s3cret-scrape"})
    assert right.status_code == 200 and right.mimetype == "text/plain"
    assert b"wx_callback_seconds" in right.data


def test_callbacks_timed_by_type_and_refusals_counted_by_reason(app_lite, monkeypatch):
    client = app_lite.client()
    texts, signature = value("wx_callback_seconds_count", message_type="text"), value(
        "wx_callbacks_refused_total", reason="signature")
    subscribes = value("wx_callback_seconds_count", message_type="event.subscribe")
    assert post(client, app_lite.config, "demo", text_xml("o_metrics", "你好")).status_code == 200
    from tests.support.wechat import event_xml

    assert post(client, app_lite.config, "demo", event_xml("o_metrics", "subscribe")).status_code == 200
    assert client.post("/wechat/demo?signature=x&timestamp=1&nonce=2", data=b"<xml/>").status_code == 403
    assert value("wx_callback_seconds_count", message_type="text") == texts + 1
    assert value("wx_callback_seconds_count", message_type="event.subscribe") == subscribes + 1
    assert value("wx_callbacks_refused_total", reason="signature") == signature + 1

    stale = value("wx_callbacks_refused_total", reason="stale_timestamp")
    override(app_lite.app, monkeypatch, "app", max_clock_skew=300)
    old = post(client, app_lite.config, "demo", text_xml("o_metrics", "旧的"), timestamp="1000000000")
    assert old.status_code == 403
    assert value("wx_callbacks_refused_total", reason="stale_timestamp") == stale + 1

    replayed = value("wx_callbacks_refused_total", reason="replayed_nonce")
    override(app_lite.app, monkeypatch, "app", max_clock_skew=0)
    first = post(client, app_lite.config, "demo", text_xml("o_metrics", "一"), timestamp="1700000000", nonce="77")
    other = post(client, app_lite.config, "demo", text_xml("o_metrics", "二"), timestamp="1700000000", nonce="77")
    assert (first.status_code, other.status_code) == (200, 403)
    assert value("wx_callbacks_refused_total", reason="replayed_nonce") == replayed + 1


def test_outbox_backlog_by_kind_and_age_deliveries_and_token_refreshes(app_lite):
    app = app_lite.app
    app.config["CLOCK_NOW"] = None
    with app.app_context():
        volunteer = make_volunteer(bindings={})  # bound nowhere: its messages wait in the outbox here
        app.extensions["wx_jobs"].submit = lambda *a, **k: True  # keep them pending: no delivery job runs
        try:
            for i in range(3):
                notify(volunteer, "help_request", {"elder": "王奶奶", "content": "灯坏了", "time": "09:00"},
                       link=None, cause="t", key=f"backlog:{i}")
            db.session.commit()
            from models import Notification

            for row in Notification.query.all():
                row.created_at -= timedelta(minutes=10)
            db.session.commit()
        finally:
            del app.extensions["wx_jobs"].submit
    body = app_lite.client().get("/metrics").get_data(as_text=True)
    assert 'wx_outbox_pending{kind="help_request"} 3.0' in body
    age = next(line for line in body.splitlines() if line.startswith('wx_outbox_oldest_pending_seconds{kind="help_request"}'))
    assert float(age.split()[-1]) >= 600

    refreshes = value("wx_token_refreshes_total", account="demo")
    inbox_only = value("wx_deliveries_total", result="inbox_only")
    with app.app_context():
        from jobs.delivery import deliver_notifications
        from models import Notification

        ids = [row.id for row in Notification.query.all()]
        deliver_notifications(ids)  # nowhere to send them: each settles as inbox-only
        assert app.extensions["wechat"].client("demo").access_token
    assert value("wx_deliveries_total", result="inbox_only") == inbox_only + 3
    assert value("wx_token_refreshes_total", account="demo") == refreshes + 1
    assert "wx_outbox_pending{" not in app_lite.client().get("/metrics").get_data(as_text=True)


def test_a_failing_job_is_counted_by_its_name(any_app):
    """In the rq worker (PostgreSQL + Redis, run here as ``flask worker --burst``) and the job thread (SQLite)."""
    from tests.support.processes import failing_job

    failures = value("wx_job_failures_total", job="failing_job")
    with any_app.app.app_context():
        any_app.app.extensions["wx_jobs"].submit(failing_job, (), {})
        if hasattr(any_app.app.extensions["wx_jobs"], "queue"):
            result = any_app.app.test_cli_runner().invoke(args=["worker", "--burst"])
            assert result.exit_code == 0, result.output
    assert any_app.drain_jobs()
    assert value("wx_job_failures_total", job="failing_job") == failures + 1


@pytest.mark.postgres
def test_gunicorn_workers_add_up_in_multiprocess_mode(pg_app, tmp_path):
    """Two gunicorn workers count refusals each in its own process; /metrics on any of them sums them."""
    port = free_port()
    env = dict(worker_env(pg_app.config_path), WEB_CONCURRENCY="2", WX_SERVICE_BIND=f"127.0.0.1:{port}",
               PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prom"))
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py"),
                               "wx_service:create_app()"], cwd=str(ROOT), env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"

    def counting_pids() -> set[str]:
        return {f.split("_")[1].split(".")[0] for f in os.listdir(tmp_path / "prom") if f.startswith("counter_")}

    try:
        def answering():
            try:
                return requests.get(base + "/healthz", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        wait_for(answering, "gunicorn answers", timeout=60, processes=[server])
        sent = []

        def refuse() -> int:
            sent.append(1)
            return requests.post(base + "/wechat/demo?signature=x&timestamp=1&nonce=2", data=b"<xml/>",
                                 headers={"Connection": "close"}, timeout=5).status_code

        assert [refuse() for _ in range(10)] == [403] * 10
        first_workers = counting_pids()
        server.send_signal(signal.SIGHUP)  # a reload: new workers (new processes) replace the old ones
        wait_for(lambda: answering() and refuse() == 403 and counting_pids() - first_workers,
                 "a new worker counts", timeout=60, processes=[server])
        assert [refuse() for _ in range(9)] == [403] * 9
        scraped = requests.get(base + "/metrics", timeout=5).text
    finally:
        server.send_signal(signal.SIGTERM)
        out, _ = server.communicate(timeout=30)
    # the old workers' counts (their processes gone) and the new ones', added up
    assert f'wx_callbacks_refused_total{{reason="signature"}} {float(len(sent))}' in scraped, scraped
    assert len(counting_pids()) >= 2

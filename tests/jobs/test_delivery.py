"""Delivery of the outbox against the sandbox, with real Redis and real ``rq`` worker processes."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
import uuid
from datetime import timedelta

import pytest
import redis as redis_lib

from jobs import delivery
from jobs.delivery import deliver_notifications, sweep_notifications
from jobs.queue import RQBackend
from models import Follower, Notification, db, notify, notify_many, utcnow
from tests.support.notifications import make_volunteer, run_worker, set_notifications, start_worker
from tests.support.settings import override

DEMO, COUNTY = "wxdemo0000000001", "wxcounty00000001"
TEMPLATE_SEND = "cgi-bin/message/template/send"
CUSTOM_SEND = "cgi-bin/message/custom/send"
HELP = {"elder": "王奶奶", "content": "家里灯坏了", "time": "2024-05-01 09:00"}


def _one(handle, openid, kind="help_request", data=None, key=None, bindings=None, **volunteer):
    """A followed volunteer on demo (sandbox too) and one committed notification to them."""
    handle.sandbox.follow(DEMO, openid)
    with handle.app.app_context():
        vid = make_volunteer(bindings=bindings or {"demo": openid}, **volunteer)
        row = notify(vid, kind, data or HELP, link="/m/help/1", cause="help_request:1", key=key or f"t:{openid}")
        db.session.commit()
        return row.id


def _row(handle, notification_id):
    with handle.app.app_context():
        row = db.session.get(Notification, notification_id)
        db.session.expunge(row)
        return row


def _followed_volunteers(handle, prefix: str, count: int) -> list[int]:
    """``count`` volunteers bound on demo as ``{prefix}_{i}``, each following it in the sandbox."""
    ids = []
    for i in range(count):
        handle.sandbox.follow(DEMO, f"{prefix}_{i}")
        ids.append(make_volunteer(bindings={"demo": f"{prefix}_{i}"}))
    return ids


def test_delivered_once_though_the_job_runs_three_times(app_pg, tmp_path, monkeypatch):
    config = set_notifications(app_pg, monkeypatch, tmp_path, retry_base_seconds=0)
    nid = _one(app_pg, "o_once")
    with app_pg.app.app_context():  # the commit enqueued it once; twice more by hand
        deliver_notifications.now([nid])
        deliver_notifications.now([nid])
    assert app_pg.app.extensions["wx_jobs"].queue.count == 3
    run_worker(config)
    row = _row(app_pg, nid)
    assert (row.state, row.channel, row.account, row.attempts) == ("sent", "template", "demo", 1)
    assert app_pg.sandbox.receipts[row.client_msg_id] == 1
    [sent] = app_pg.sandbox.templates_to("o_once", DEMO)
    assert sent["template_id"] == "TPL_HELP" and sent["client_msg_id"] == "n-t:o_once"
    assert sent["data"] == {"thing1": {"value": "王奶奶"}, "thing2": {"value": "家里灯坏了"},
                            "time3": {"value": "2024-05-01 09:00"}}
    assert sent["url"] == f"{app_pg.base_url}/m/me/inbox/{nid}?account=demo&go=1"
    assert sent["warnings"] == []  # no first/remark


def test_43004_marks_the_follower_and_stops_retries(app_pg, tmp_path, monkeypatch):
    config = set_notifications(app_pg, monkeypatch, tmp_path, retry_base_seconds=0)
    nid = _one(app_pg, "o_gone")
    app_pg.sandbox.unfollowed("o_gone")
    run_worker(config)
    row = _row(app_pg, nid)
    assert row.state == "failed_permanent" and row.attempts == 1 and row.last_error.startswith("43004")
    assert len(app_pg.sandbox.calls_to(TEMPLATE_SEND)) == 1
    with app_pg.app.app_context():
        follower = Follower.query.filter_by(account="demo", openid="o_gone").one()
        assert follower.following is False and follower.unsubscribed_at is not None


def test_network_error_and_45009_are_retried_then_it_succeeds(app_pg, tmp_path, monkeypatch):
    config = set_notifications(app_pg, monkeypatch, tmp_path, retry_base_seconds=0)
    nid = _one(app_pg, "o_quota")
    app_pg.sandbox.fail_next(TEMPLATE_SEND, -1, times=1, status=502)  # a gateway error: no WeChat answer
    app_pg.sandbox.fail_next(TEMPLATE_SEND, 45009, times=2)
    run_worker(config)
    row = _row(app_pg, nid)
    assert (row.state, row.attempts) == ("sent", 4)
    assert app_pg.sandbox.receipts[row.client_msg_id] == 4
    assert len(app_pg.sandbox.templates_to("o_quota")) == 1


def test_retries_run_out_then_operators_see_and_requeue_them(app_pg, tmp_path, monkeypatch):
    config = set_notifications(app_pg, monkeypatch, tmp_path, retry_base_seconds=0, max_attempts=2)
    nid = _one(app_pg, "o_quota2")
    app_pg.sandbox.fail_next(TEMPLATE_SEND, 45009, times=2)
    run_worker(config)
    row = _row(app_pg, nid)
    assert (row.state, row.attempts) == ("failed", 2) and "45009" in row.last_error
    runner = app_pg.app.test_cli_runner()
    status = runner.invoke(args=["notifications", "status"])
    assert status.exit_code == 0 and "help_request" in status.output and "failed" in status.output
    retried = runner.invoke(args=["notifications", "retry", "--failed"])
    assert retried.exit_code == 0 and "1 notifications re-queued" in retried.output
    run_worker(config)
    assert _row(app_pg, nid).state == "sent"
    assert "oldest undelivered: none" in runner.invoke(args=["notifications", "status"]).output


def test_redis_down_at_commit_then_the_sweep_delivers(app_pg, tmp_path, monkeypatch):
    config = set_notifications(app_pg, monkeypatch, tmp_path, retry_base_seconds=0)
    live = app_pg.app.extensions["wx_jobs"]
    dead = RQBackend(redis_lib.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5), live.name)
    monkeypatch.setitem(app_pg.app.extensions, "wx_jobs", dead)
    nid = _one(app_pg, "o_redis_down")  # the change commits although Redis is unreachable
    assert _row(app_pg, nid).state == "pending"
    monkeypatch.setitem(app_pg.app.extensions, "wx_jobs", live)  # Redis is back
    assert live.queue.count == 0
    with app_pg.app.app_context():
        assert sweep_notifications() == 0  # not a minute old yet
        assert sweep_notifications(now=utcnow() + timedelta(seconds=61)) == 1
    run_worker(config)
    assert _row(app_pg, nid).state == "sent"
    assert len(app_pg.sandbox.templates_to("o_redis_down")) == 1


@pytest.mark.parametrize("rate, total", [(10, 30), (40, 80)])
def test_worker_killed_mid_batch_every_row_delivered_exactly_once(app_pg, tmp_path, monkeypatch, rate, total):
    """At 10/s template rows are sent and recorded one at a time; at 40/s in groups of 4, so the kill
    may leave up to a group sent but not recorded: those are sent again and WeChat drops the repeats."""
    group = max(1, rate // 10)
    config = set_notifications(app_pg, monkeypatch, tmp_path, retry_base_seconds=0, rate_per_second=rate,
                               lease_seconds=1)
    with app_pg.app.app_context():
        ids = _followed_volunteers(app_pg, "o_kill", total)
        written = notify_many(ids, "help_request", HELP, "/m/help/7", "help_request:7", "help_request:7")
        db.session.commit()
    assert len(written) == total and app_pg.app.extensions["wx_jobs"].queue.count == 1  # one batch, one job

    worker = start_worker(config)
    deadline = time.monotonic() + 30
    while len(app_pg.sandbox.delivered) < 8 and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(10)
    before = len(app_pg.sandbox.delivered)
    assert 8 <= before < total, "the worker should die in the middle of the batch"

    time.sleep(1.1)  # the killed worker's lease on the rows it was sending runs out
    with app_pg.app.app_context():
        pending = Notification.query.filter(Notification.id.in_(written), Notification.state == "pending").count()
        # what the dead worker left: rows never sent, and perhaps a group sent but not yet recorded
        assert total - before <= pending <= total - before + group
        assert sweep_notifications(now=utcnow() + timedelta(seconds=61)) == pending
    run_worker(config)

    delivered = app_pg.sandbox.delivered
    ids_sent = [d["client_msg_id"] for d in delivered]
    assert len(ids_sent) == total and len(set(ids_sent)) == total
    receipts = app_pg.sandbox.receipts
    assert sum(receipts.values()) <= total + group  # at most the group in flight at the kill was sent again
    with app_pg.app.app_context():
        states = {n.state for n in Notification.query.filter(Notification.id.in_(written))}
    assert states == {"sent"}


def test_send_slots_are_taken_a_tenth_of_the_rate_at_a_time(app_pg, monkeypatch):
    """25/s: a reservation takes at most 2 slots; the second's last slot is granted alone, then the
    next reservation waits for the next second."""
    clock = [1_000.0]
    monkeypatch.setattr(delivery.time, "time", lambda: clock[0])
    monkeypatch.setattr(delivery.time, "sleep", lambda seconds: clock.__setitem__(0, clock[0] + seconds))
    account = f"acct-{uuid.uuid4().hex[:8]}"
    with app_pg.app.app_context():
        grants = [delivery.reserve_sends(account, 25, 25) for _ in range(14)]
        assert delivery.reserve_sends(account, 0, 25) == 25  # no limit configured
    assert grants == [2] * 12 + [1, 2]
    assert clock[0] == 1_001.0


def test_a_groups_sends_are_in_flight_together(app_pg, monkeypatch, tmp_path):
    """With 4 sender threads and room for 4 sends, the 4 posts wait at one barrier: it opens only if
    all 4 are in flight at once (sent one after another, the first would wait out the timeout)."""
    set_notifications(app_pg, monkeypatch, tmp_path, send_threads=4, rate_per_second=40)
    barrier = threading.Barrier(4, timeout=10)
    post = delivery._post

    def post_at_barrier(*args):
        barrier.wait()
        post(*args)

    monkeypatch.setattr(delivery, "_post", post_at_barrier)
    with app_pg.app.app_context():
        ids = _followed_volunteers(app_pg, "o_flight", 4)
        written = notify_many(ids, "help_request", HELP, None, "help_request:9", "help_request:9")
        db.session.commit()
        assert deliver_notifications(written) == {"sent": 4}
    assert len(app_pg.sandbox.calls_to(TEMPLATE_SEND)) == 4


def test_rate_limit_per_account_is_shared(app_pg, monkeypatch, tmp_path):
    set_notifications(app_pg, monkeypatch, tmp_path, rate_per_second=4)
    with app_pg.app.app_context():
        ids = _followed_volunteers(app_pg, "o_rate", 10)
        written = notify_many(ids, "help_request", HELP, None, "help_request:8", "help_request:8")
        db.session.commit()
        deliver_notifications(written)
    times = [call["time"] for call in app_pg.sandbox.calls_to(TEMPLATE_SEND)]
    per_second: dict[int, int] = {}
    for moment in times:
        per_second[int(moment)] = per_second.get(int(moment), 0) + 1
    assert len(times) == 10
    assert max(times) - min(times) >= 1.0  # 10 at 4/s take three one-second windows
    assert max(per_second.values()) <= 5  # 4 per window; a send near a boundary may be recorded just after it


# ---------------------------------------------------------------------------- channel selection
def _deliver(handle, nid):
    if handle.app.extensions["wx_redis"] is None:
        assert handle.drain_jobs()
    else:
        with handle.app.app_context():
            deliver_notifications([nid])
    return _row(handle, nid)


def test_main_account_when_bound_and_following_there(any_app):
    any_app.sandbox.follow(COUNTY, "o_c_both")
    nid = _one(any_app, "o_m_both", bindings={"demo": "o_m_both", "county": "o_c_both"})
    row = _deliver(any_app, nid)
    assert (row.state, row.account, row.channel) == ("sent", "demo", "template")
    assert any_app.sandbox.templates_to("o_m_both", DEMO)


def test_main_account_left_then_the_other_account(any_app, monkeypatch):
    county = any_app.app.config["WX_SETTINGS"].accounts["county"]
    override(any_app.app, monkeypatch, "accounts.county", templates={**county.templates, "help_request": "TPL_C"})
    any_app.sandbox.follow(COUNTY, "o_c_left")
    nid = _one(any_app, "o_m_left", bindings={"demo": "o_m_left", "county": "o_c_left"}, left=("demo",))
    row = _deliver(any_app, nid)
    assert (row.state, row.account, row.channel) == ("sent", "county", "template")
    assert any_app.sandbox.templates_to("o_c_left", COUNTY)[0]["template_id"] == "TPL_C"


def test_only_county_bound_uses_county(any_app, monkeypatch):
    county = any_app.app.config["WX_SETTINGS"].accounts["county"]
    override(any_app.app, monkeypatch, "accounts.county", templates={**county.templates, "help_request": "TPL_C"})
    any_app.sandbox.follow(COUNTY, "o_county_only")
    nid = _one(any_app, "o_unused", bindings={"county": "o_county_only"})
    row = _deliver(any_app, nid)
    assert (row.state, row.account, row.channel) == ("sent", "county", "template")
    assert len(any_app.sandbox.templates_to("o_county_only", COUNTY)) == 1


def test_no_template_custom_message_within_48_hours(any_app):
    data = {"elder": "王奶奶", "volunteer": "李四", "time": "2024-05-01 09:30"}
    nid = _one(any_app, "o_custom", kind="help_claimed", data=data, seen_ago=timedelta(hours=3))
    row = _deliver(any_app, nid)
    assert (row.state, row.account, row.channel) == ("sent", "demo", "custom")
    [message] = any_app.sandbox.custom_messages
    assert message["touser"] == "o_custom" and message["msgtype"] == "text"
    assert "认领志愿者：李四" in message["text"]["content"] and f"/m/me/inbox/{nid}" in message["text"]["content"]
    assert not any_app.sandbox.calls_to(TEMPLATE_SEND)


def test_no_template_and_silent_for_days_stays_in_the_inbox(any_app):
    nid = _one(any_app, "o_silent", kind="help_claimed", data={"elder": "王奶奶"}, seen_ago=timedelta(days=3))
    row = _deliver(any_app, nid)
    assert (row.state, row.channel) == ("inbox_only", "inbox")
    assert not any_app.sandbox.calls_to(CUSTOM_SEND) and not any_app.sandbox.calls_to(TEMPLATE_SEND)


def test_custom_window_closed_at_wechat_falls_back_to_the_inbox(any_app):
    nid = _one(any_app, "o_window", kind="help_claimed", data={"elder": "王奶奶"})
    any_app.sandbox.fail_next(CUSTOM_SEND, 45015)
    row = _deliver(any_app, nid)
    assert (row.state, row.channel) == ("inbox_only", "inbox") and row.last_error.startswith("45015")


def test_a_volunteer_bound_nowhere_gets_the_inbox_only(any_app):
    with any_app.app.app_context():
        vid = make_volunteer(bindings={})
        nid = notify(vid, "help_request", HELP, link=None, cause="help_request:2", key="t:nowhere").id
        db.session.commit()
    assert _deliver(any_app, nid).state == "inbox_only"


def test_wrong_template_is_permanent_and_logged_with_the_kind(any_app, caplog):
    any_app.sandbox.bad_templates.add("TPL_HELP")
    with caplog.at_level(logging.ERROR, logger="jobs.delivery"):
        nid = _one(any_app, "o_badtpl")
        row = _deliver(any_app, nid)
    assert row.state == "failed_permanent" and row.last_error.startswith("40037")
    assert any("help_request" in r.getMessage() for r in caplog.records)


def test_long_values_are_cut_to_the_keyword_limits_and_accepted(any_app):
    data = {"elder": "欧阳" * 15, "content": "家里的水管坏了需要有人帮忙修一修还有灯也不亮了", "time": "2024-05-01 09:00"}
    nid = _one(any_app, "o_long", data=data)
    row = _deliver(any_app, nid)
    assert row.state == "sent"
    [sent] = any_app.sandbox.templates_to("o_long")
    assert sent["data"]["thing1"]["value"] == "欧阳" * 9 + "欧…"
    assert len(sent["data"]["thing2"]["value"]) == 20 and sent["data"]["thing2"]["value"].endswith("…")


def test_the_inprocess_backend_delivers_after_commit_on_the_embedded_default(app_lite):
    nid = _one(app_lite, "o_lite")
    assert app_lite.drain_jobs()
    assert _row(app_lite, nid).state == "sent"

"""The outbox rules: notify in the caller's transaction, idempotent keys, fan-out in batches,
keyword limits, and where a notification goes."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from models import Notification, db, notify, notify_many
from models.notification import CUSTOM, INBOX, TEMPLATE, Contact, choose_route, client_msg_id
from models.notification_kinds import KNOWN_KINDS, TEMPLATE_FIELDS, fit_keyword, template_data
from tests.support.notifications import make_volunteer

HELP = {"elder": "王奶奶", "content": "灯坏了", "time": "2024-05-01 09:00"}


def _count(handle):
    with handle.app.app_context():
        return Notification.query.count()


def test_notify_joins_the_callers_transaction(any_app):
    with any_app.app.app_context():
        vid = make_volunteer(bindings={})
        row = notify(vid, "help_request", HELP, link="/m/help/1", cause="help_request:1", key="k:rollback")
        assert row.id and row.state == "pending" and row.cause == "help_request:1"
        db.session.rollback()
    assert _count(any_app) == 0
    assert any_app.drain_jobs()
    with any_app.app.app_context():
        notify(vid, "help_request", HELP, link=None, cause="help_request:1", key="k:commit")
        db.session.commit()
    assert _count(any_app) == 1


def test_a_repeated_key_returns_the_same_row(any_app):
    with any_app.app.app_context():
        vid = make_volunteer(bindings={})
        first = notify(vid, "help_request", HELP, link=None, cause="help_request:3", key="k:same")
        again = notify(vid, "help_request", {"elder": "别的"}, link=None, cause="help_request:3", key="k:same")
        assert again.id == first.id
        db.session.commit()
        later = notify(vid, "help_request", HELP, link=None, cause="help_request:3", key="k:same")
        db.session.commit()
        assert later.id == first.id and later.data == HELP
    assert _count(any_app) == 1


def test_unknown_kind_and_foreign_links_are_refused(any_app):
    with any_app.app.app_context():
        vid = make_volunteer(bindings={})
        with pytest.raises(ValueError):
            notify(vid, "no_such_kind", {}, link=None, cause="x:1", key="k:bad")
        with pytest.raises(ValueError):
            notify(vid, "help_request", {}, link="//evil.example/", cause="x:1", key="k:bad")


def test_notify_many_writes_in_bulk_and_enqueues_in_batches(app_pg):
    with app_pg.app.app_context():
        vids = [make_volunteer(bindings={}) for _ in range(5)]
    queue = app_pg.app.extensions["wx_jobs"].queue
    with app_pg.app.app_context():
        ids = notify_many(vids * 50, "activity_reminder", {"project": "清洁"}, "/m/p/1", "project:1", "remind:1")
        assert len(ids) == 5  # one per volunteer, duplicates in the list ignored
        db.session.commit()
    assert queue.count == 1
    with app_pg.app.app_context():
        more = [make_volunteer(bindings={}) for _ in range(245)]
        queue.empty()
        ids = notify_many(vids + more, "activity_reminder", {"project": "清洁"}, None, "project:1", "remind:1")
        assert len(ids) == 245  # the first five keys exist already
        db.session.commit()
        keys = {n.key for n in Notification.query.all()}
    assert queue.count == 3  # 245 rows → batches of 100, 100, 45
    assert {len(job.args[0]) for job in queue.get_jobs()} == {100, 45}
    assert len(keys) == 250 and f"remind:1:{vids[0]}" in keys


def test_keyword_limits():
    assert fit_keyword("thing1", "一" * 20) == "一" * 20
    assert fit_keyword("thing1", "一" * 21) == "一" * 19 + "…"
    assert fit_keyword("name2", "欧阳" * 6) == "欧阳" * 4 + "欧…"
    assert fit_keyword("name2", "Alexander Montgomery Smith") == "Alexander Montgomer…"
    assert fit_keyword("phrase3", "审核已经通过了") == "审核已经通"
    assert fit_keyword("character_string4", "A" * 40) == "A" * 29 + "..."
    assert fit_keyword("number5", "1" * 40) == "1" * 32
    assert fit_keyword("phone_number6", "+86 139 0000 0000 000") == "+86 139 0000 0000"
    assert fit_keyword("car_number7", "苏F123456789") == "苏F12345…"
    assert fit_keyword("time8", "2024-05-01 09:00") == "2024-05-01 09:00"
    assert fit_keyword("thing1", "  多个\n空白  ") == "多个 空白"


def test_template_data_leaves_out_absent_values():
    assert template_data("help_request", {"elder": "王奶奶", "content": ""}) == {"thing1": {"value": "王奶奶"}}


def test_every_known_kind_has_its_keywords():
    assert set(TEMPLATE_FIELDS) == set(KNOWN_KINDS)


def test_client_msg_id_fits_wechat():
    assert client_msg_id("help_request:12:7") == "n-help_request:12:7"
    long = client_msg_id("x" * 200)
    assert len(long) <= 64 and long == client_msg_id("x" * 200) != client_msg_id("x" * 199)
    assert client_msg_id("中文键").isascii()


NOW = datetime(2024, 5, 1, 12, 0)
TEMPLATES = {"demo": {"help_request": "TPL_HELP"}, "county": {"help_request": "TPL_C"}}


@pytest.mark.parametrize("contacts, kind, expected", [
    # bound on the main account and following there: the main account, even if the county was used later
    ([Contact("demo", "o1", True, NOW - timedelta(days=9)), Contact("county", "c1", True, NOW)],
     "help_request", ("demo", TEMPLATE)),
    # left the main account: the account used last among those that can still receive
    ([Contact("demo", "o1", False, NOW), Contact("county", "c1", True, NOW - timedelta(days=2))],
     "help_request", ("county", TEMPLATE)),
    # only bound on the county account
    ([Contact("county", "c1", True, NOW - timedelta(days=30))], "help_request", ("county", TEMPLATE)),
    # two county-like accounts: the one used last
    ([Contact("county", "c1", True, NOW - timedelta(days=3)), Contact("safe", "s1", True, NOW - timedelta(hours=1))],
     "help_request", ("safe", CUSTOM)),
    # no template for the kind, used within 48 h: a customer-service message
    ([Contact("demo", "o1", True, NOW - timedelta(hours=47))], "help_claimed", ("demo", CUSTOM)),
    # no template, silent for longer: inbox only
    ([Contact("demo", "o1", True, NOW - timedelta(hours=49))], "help_claimed", ("demo", INBOX)),
    # unfollowed everywhere, or bound nowhere
    ([Contact("demo", "o1", False, NOW)], "help_request", (None, INBOX)),
    ([], "help_request", (None, INBOX)),
])
def test_choose_route(contacts, kind, expected):
    route = choose_route(kind, contacts, "demo", TEMPLATES, NOW)
    assert (route.account, route.channel) == expected
    if route.channel == TEMPLATE:
        assert route.template_id == TEMPLATES[route.account][kind]

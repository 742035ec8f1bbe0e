"""Follower cards: a person the store knows costs the callback no SQL, however long ago they were seen;
the card never outlives a bind, unbind, follow, unfollow or admin change; the last-seen time is written
later, for many at once.  On both stores (``any_app``: PostgreSQL + Redis, SQLite + the database store)."""

import time
from datetime import timedelta

from sqlalchemy import event

from jobs.followers import record_last_seen
from menus import keys
from models import Binding, ContactMessage, Follower, Volunteer, accounts, db, utcnow
from models.org_rules import create_root
from tests.support import wechat
from tests.support.people import make_volunteer
from wx_service.wechat import follower_cards


def count_sql(app):
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        engines = set(db.engines.values())  # the default and, on PostgreSQL, the async-commit bind
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    return statements, lambda: [event.remove(engine, "before_cursor_execute", record) for engine in engines]


def app_sql(handle, send):
    """The statements ``send()`` ran on the service's tables (the database store's own are left out)."""
    statements, stop = count_sql(handle.app)
    try:
        res = send()
    finally:
        stop()
    assert res.status_code == 200
    return [s for s in statements if "shared_value" not in s and "SAVEPOINT" not in s]


def click(handle, openid, key=keys.MY_QRCODE):
    return wechat.post(handle.client(), handle.config, "demo", wechat.event_xml(openid, "CLICK", key=key))


def send_event(handle, openid, name, key=None):
    return wechat.post(handle.client(), handle.config, "demo", wechat.event_xml(openid, name, key=key))


def card_of(handle, openid):
    with handle.app.app_context():
        return handle.app.extensions["wx_store"].get(follower_cards.key("demo", openid))


def bound_volunteer(handle, openid, **fields):
    with handle.app.app_context():
        v = make_volunteer(**fields)
        db.session.add(Binding(account="demo", openid=openid, volunteer_id=v.id, bound_at=utcnow()))
        db.session.commit()
        return v.id


def test_a_second_click_runs_no_sql(any_app):
    bound_volunteer(any_app, "o_card")
    click(any_app, "o_card", keys.CONTACT)
    assert app_sql(any_app, lambda: click(any_app, "o_card", keys.CONTACT)) == []
    # A handler that needs the volunteer still gets it, loaded on demand.
    assert "me/qrcode" in click(any_app, "o_card").get_data(as_text=True)


def test_an_idle_follower_runs_no_sql_and_is_marked_seen_for_later(any_app, monkeypatch):
    """A broadcast's rush: seen an hour ago, the card still true — no row read or written."""
    bound_volunteer(any_app, "o_idle")
    click(any_app, "o_idle", keys.CONTACT)
    with any_app.app.app_context():
        record_last_seen()
        first_seen = Follower.query.filter_by(openid="o_idle").one().last_seen_at
    later = first_seen.replace(microsecond=0) + timedelta(hours=1)
    monkeypatch.setitem(any_app.app.config, "CLOCK_NOW", later)
    assert app_sql(any_app, lambda: click(any_app, "o_idle")) == []
    with any_app.app.app_context():
        assert Follower.query.filter_by(openid="o_idle").one().last_seen_at == first_seen  # not written yet
        assert record_last_seen() >= 1
        assert Follower.query.filter_by(openid="o_idle").one().last_seen_at == later
        assert record_last_seen() == 0  # taken: a second run changes nothing
        assert Follower.query.filter_by(openid="o_idle").one().last_seen_at == later


def test_a_last_seen_time_is_never_moved_back(any_app, monkeypatch):
    click(any_app, "o_back", keys.CONTACT)
    with any_app.app.app_context():
        row = Follower.query.filter_by(openid="o_back").one()
        newer = row.last_seen_at.replace(microsecond=0) + timedelta(hours=2)
        row.last_seen_at = newer  # e.g. an OAuth visit wrote a later time meanwhile
        db.session.commit()
    monkeypatch.setitem(any_app.app.config, "CLOCK_NOW", newer - timedelta(hours=1))
    click(any_app, "o_back", keys.CONTACT)
    with any_app.app.app_context():
        record_last_seen()
        assert Follower.query.filter_by(openid="o_back").one().last_seen_at == newer


def test_a_handler_that_loads_the_follower_marks_it_seen_in_its_own_commit(any_app, monkeypatch):
    """A text opens the 48-hour window of a reply at once: the row is written anyway, with its time."""
    click(any_app, "o_writes", keys.CONTACT)
    with any_app.app.app_context():
        then = Follower.query.filter_by(openid="o_writes").one().last_seen_at.replace(microsecond=0)
    later = then + timedelta(days=3)
    monkeypatch.setitem(any_app.app.config, "CLOCK_NOW", later)
    wechat.post(any_app.client(), any_app.config, "demo", wechat.text_xml("o_writes", "请问周六的活动几点开始"))
    with any_app.app.app_context():
        assert Follower.query.filter_by(openid="o_writes").one().last_seen_at == later


def test_a_first_contact_makes_its_row_and_card_in_one_callback(any_app):
    """A QR campaign: a subscribe from a sender never seen is one statement on PostgreSQL (two on SQLite,
    which has no INSERT inside a WITH); the next event of theirs runs no SQL."""
    res = None

    def subscribe():
        nonlocal res
        res = send_event(any_app, "o_first", "subscribe", key="qrscene_2026")
        return res

    statements = app_sql(any_app, subscribe)
    with any_app.app.app_context():
        on_postgres = db.engine.dialect.name == "postgresql"
    assert len(statements) == (1 if on_postgres else 2), statements
    assert "已收到扫码（2026）" in res.get_data(as_text=True)
    with any_app.app.app_context():
        follower = Follower.query.filter_by(openid="o_first").one()
        assert follower.following and follower.subscribed_at is not None
    assert follower_cards.Card.decode(card_of(any_app, "o_first")) == follower_cards.Card(None)
    assert app_sql(any_app, lambda: click(any_app, "o_first", keys.CONTACT)) == []


def test_a_follower_known_to_the_rows_but_not_to_the_store_subscribes_again(any_app):
    """A card lost (expired, or dropped by the unsubscribe): the row is found, not made again, and the
    subscribe is written to it; a bound volunteer is greeted as bound."""
    bound_volunteer(any_app, "o_again")
    send_event(any_app, "o_again", "subscribe")
    send_event(any_app, "o_again", "unsubscribe")
    assert card_of(any_app, "o_again") is None
    res = send_event(any_app, "o_again", "subscribe")
    assert "您已绑定志愿者账号" in res.get_data(as_text=True)
    with any_app.app.app_context():
        follower = Follower.query.filter_by(openid="o_again").one()
        assert follower.following and follower.subscribed_at > follower.unsubscribed_at


def test_binding_and_unbinding_are_seen_by_the_next_callback(any_app):
    with any_app.app.app_context():
        v = make_volunteer(password="cardpass1")
        number = v.id_number
    assert "绑定" in click(any_app, "o_card2").get_data(as_text=True)          # card says: nobody bound
    with any_app.app.app_context():
        accounts.bind("demo", "o_card2", number, "cardpass1", now=utcnow(),
                      store=any_app.app.extensions["wx_store"])
        db.session.commit()
    assert card_of(any_app, "o_card2") is None
    assert "me/qrcode" in click(any_app, "o_card2").get_data(as_text=True)     # seen at once
    with any_app.app.app_context():
        accounts.bind("demo", "o_card3", number, "cardpass1", now=utcnow(),  # moves to another WeChat
                      store=any_app.app.extensions["wx_store"])
        db.session.commit()
    assert "me/qrcode" not in click(any_app, "o_card2").get_data(as_text=True)
    assert "me/qrcode" in click(any_app, "o_card3").get_data(as_text=True)
    with any_app.app.app_context():
        accounts.unbind("demo", "o_card3")
        db.session.commit()
    assert "me/qrcode" not in click(any_app, "o_card3").get_data(as_text=True)


def test_unfollow_and_follow_again_drop_the_card(any_app):
    bound_volunteer(any_app, "o_follow")
    click(any_app, "o_follow", keys.CONTACT)
    assert card_of(any_app, "o_follow") is not None
    send_event(any_app, "o_follow", "unsubscribe")
    assert card_of(any_app, "o_follow") is None
    with any_app.app.app_context():
        assert not Follower.query.filter_by(openid="o_follow").one().following
    click(any_app, "o_follow", keys.CONTACT)   # no card: read again, and kept
    assert card_of(any_app, "o_follow") is not None
    res = send_event(any_app, "o_follow", "subscribe")
    assert "您已绑定志愿者账号" in res.get_data(as_text=True)
    assert card_of(any_app, "o_follow") is None
    with any_app.app.app_context():
        assert Follower.query.filter_by(openid="o_follow").one().following


def test_an_admin_power_given_drops_the_card(any_app):
    volunteer_id = bound_volunteer(any_app, "o_admin_card")
    click(any_app, "o_admin_card", keys.CONTACT)
    assert card_of(any_app, "o_admin_card") is not None
    with any_app.app.app_context():
        create_root("卡片测试志愿者总队", db.session.get(Volunteer, volunteer_id), now=utcnow())
        db.session.commit()
    assert card_of(any_app, "o_admin_card") is None


def test_a_card_read_before_a_binding_change_is_not_put_after_it(any_app):
    """The race: a callback reads 'nobody bound', the binding commits (card dropped), then the callback
    puts its card — refused, since the generation it read is no longer the card's."""
    store = any_app.app.extensions["wx_store"]
    card_key = follower_cards.key("demo", "o_race")
    with any_app.app.app_context():
        before = store.get(follower_cards.generation_key(card_key))
        bound_volunteer(any_app, "o_race")
        store.set_if(*follower_cards.guarded("demo", "o_race", follower_cards.Card(None), before))
        assert store.get(card_key) is None
        after = store.get(follower_cards.generation_key(card_key))
        store.set_if(*follower_cards.guarded("demo", "o_race", follower_cards.Card(1), after))  # read after
        assert store.get(card_key) is not None


def test_a_repeat_from_a_carded_follower_is_applied_once(any_app):
    """WeChat's retry (the same request) and the same message under another nonce: one effect, one reply."""
    click(any_app, "o_repeat", keys.CONTACT)
    assert card_of(any_app, "o_repeat") is not None
    body = wechat.text_xml("o_repeat", "活动还招人吗")
    client, timestamp, nonce = any_app.client(), str(int(time.time())), wechat.fresh_nonce()
    first = wechat.post(client, any_app.config, "demo", body, timestamp=timestamp, nonce=nonce)
    retry = wechat.post(client, any_app.config, "demo", body, timestamp=timestamp, nonce=nonce)
    again = wechat.post(client, any_app.config, "demo", body)
    assert first.status_code == retry.status_code == again.status_code == 200
    assert first.data == retry.data == again.data
    with any_app.app.app_context():
        assert ContactMessage.query.filter_by(content="活动还招人吗").count() == 1


def test_a_binding_changed_in_a_savepoint_drops_the_card_at_the_real_commit(any_app, caplog):
    """A released savepoint is not a commit: the outer transaction still holds its locks (on SQLite
    the write lock the store's own connection would wait 30 s for) and its rows are not visible."""
    store = any_app.app.extensions["wx_store"]
    with any_app.app.app_context():
        v = make_volunteer(name="陆建华")
        store.set_if(*follower_cards.guarded("demo", "o_card_sp", follower_cards.Card(None), None))
        with db.session.begin_nested():
            db.session.add(Binding(account="demo", openid="o_card_sp", volunteer_id=v.id, bound_at=utcnow()))
        assert store.get(follower_cards.key("demo", "o_card_sp")) is not None  # not yet committed
        db.session.commit()
        assert store.get(follower_cards.key("demo", "o_card_sp")) is None
    assert "could not drop follower cards" not in caplog.text


def test_marks_left_in_the_database_while_redis_was_down_are_written_too(app_pg):
    """While Redis is down the callback deduplicates (and marks) in the database store: both are taken."""
    from models.follower import seen_mark

    click(app_pg, "o_fallback", keys.CONTACT)
    with app_pg.app.app_context():
        first = Follower.query.filter_by(openid="o_fallback").one().last_seen_at.replace(microsecond=0)
        app_pg.app.extensions["wx_db_store"].mark(*seen_mark("demo", "o_fallback", first + timedelta(hours=3)))
        assert record_last_seen() == 1
        assert Follower.query.filter_by(openid="o_fallback").one().last_seen_at == first + timedelta(hours=3)


def test_a_binding_change_drops_the_card_kept_in_the_database_during_an_outage_too(app_pg):
    """A card a callback left in the database store while Redis was away is dropped with the Redis one."""
    with app_pg.app.app_context():
        v = make_volunteer(password="cardpass1")
        number = v.id_number
        db_store = app_pg.app.extensions["wx_db_store"]
        kept = follower_cards.key("demo", "o_card_outage")
        db_store.set(kept, "stale card", follower_cards.CARD_TTL)  # as _handle puts it while Redis is down
        accounts.bind("demo", "o_card_outage", number, "cardpass1", now=utcnow(),
                      store=app_pg.app.extensions["wx_store"])
        db.session.commit()
        assert db_store.get(kept) is None


def test_only_the_async_commit_bind_commits_without_waiting_for_the_disk(app_pg):
    """First sights go to a pool of their own in autocommit with ``synchronous_commit = off``; every other
    write still waits for the disk."""
    from sqlalchemy import text

    from models.base import ASYNC_COMMIT

    with app_pg.app.app_context():
        with db.engines[ASYNC_COMMIT].connect() as lossy, db.engine.connect() as default:
            assert lossy.execute(text("SHOW synchronous_commit")).scalar() == "off"
            assert default.execute(text("SHOW synchronous_commit")).scalar() == "on"
            assert lossy.connection.dbapi_connection.autocommit and not default.connection.dbapi_connection.autocommit


def test_a_first_contact_after_the_database_dropped_the_pools_connections_is_answered(app_pg):
    """The async-commit pool does not ping before each use: a connection the database dropped (a restart)
    fails once inside ``first_sight``, which runs the statement again on a new one — no 503."""
    from sqlalchemy import text

    from models.base import ASYNC_COMMIT

    send_event(app_pg, "o_before_restart", "subscribe")
    with app_pg.app.app_context():
        lossy = db.engines[ASYNC_COMMIT]
        with lossy.connect() as conn:
            pooled = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        with db.engine.connect() as admin:
            assert admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pooled}).scalar()
    answer = send_event(app_pg, "o_after_restart", "subscribe")
    assert answer.status_code == 200 and "o_after_restart" in answer.get_data(as_text=True)
    with app_pg.app.app_context():
        assert Follower.query.filter_by(openid="o_after_restart").one().following

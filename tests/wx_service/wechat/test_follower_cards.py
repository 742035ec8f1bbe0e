"""A callback from a person seen a moment ago reads no row; a binding change is seen at once."""

from datetime import timedelta

from sqlalchemy import event

from menus import keys
from models import Binding, Follower, accounts, db, utcnow
from tests.support import wechat
from tests.support.people import make_volunteer


def count_sql(app):
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    return statements, lambda: event.remove(engine, "before_cursor_execute", record)


def click(handle, openid, key=keys.MY_QRCODE):
    return wechat.post(handle.client(), handle.config, "demo", wechat.event_xml(openid, "CLICK", key=key))


def test_a_second_click_within_the_minute_runs_no_sql(any_app):
    with any_app.app.app_context():
        v = make_volunteer()
        db.session.add(Binding(account="demo", openid="o_card", volunteer_id=v.id, bound_at=utcnow()))
        db.session.commit()
    click(any_app, "o_card", keys.CONTACT)
    statements, stop = count_sql(any_app.app)
    try:
        res = click(any_app, "o_card", keys.CONTACT)
    finally:
        stop()
    assert res.status_code == 200 and b"<Content>" in res.data
    app_sql = [s for s in statements if "shared_value" not in s]  # the embedded default keeps dedup in SQL
    assert app_sql == []
    # A handler that needs the volunteer still gets it, loaded on demand.
    assert "me/qrcode" in click(any_app, "o_card").get_data(as_text=True)


def test_binding_and_unbinding_are_seen_by_the_next_callback(any_app):
    with any_app.app.app_context():
        v = make_volunteer(password="cardpass1")
        number = v.id_number
    assert "绑定" in click(any_app, "o_card2").get_data(as_text=True)          # card says: nobody bound
    with any_app.app.app_context():
        accounts.bind("demo", "o_card2", number, "cardpass1", now=utcnow(),
                      store=any_app.app.extensions["wx_store"])
        db.session.commit()
    assert "me/qrcode" in click(any_app, "o_card2").get_data(as_text=True)     # seen at once
    with any_app.app.app_context():
        accounts.bind("demo", "o_card3", number, "cardpass1", now=utcnow(),  # moves to another WeChat
                      store=any_app.app.extensions["wx_store"])
        db.session.commit()
    assert "me/qrcode" not in click(any_app, "o_card2").get_data(as_text=True)


def test_last_seen_is_written_once_a_minute(any_app):
    click(any_app, "o_card4", keys.CONTACT)
    with any_app.app.app_context():
        follower = Follower.query.filter_by(openid="o_card4").one()
        follower.last_seen_at = utcnow() - timedelta(minutes=5)
        db.session.commit()
    click(any_app, "o_card4", keys.CONTACT)    # the card is fresh: nothing written
    with any_app.app.app_context():
        assert utcnow() - Follower.query.filter_by(openid="o_card4").one().last_seen_at > timedelta(minutes=4)
        store = any_app.app.extensions["wx_store"]
        store.delete("card:demo:o_card4")       # an old card (or none) takes the full path
    click(any_app, "o_card4", keys.CONTACT)
    with any_app.app.app_context():
        assert utcnow() - Follower.query.filter_by(openid="o_card4").one().last_seen_at < timedelta(minutes=1)


def test_a_binding_changed_in_a_savepoint_drops_the_card_at_the_real_commit(any_app, caplog):
    """A released savepoint is not a commit: the outer transaction still holds its locks (on SQLite
    the write lock the store's own connection would wait 30 s for) and its rows are not visible."""
    from wx_service.wechat import follower_cards

    store = any_app.app.extensions["wx_store"]
    with any_app.app.app_context():
        v = make_volunteer(name="陆建华")
        follower_cards.put(store, "demo", "o_card_sp", follower_cards.Card(1, None, utcnow()))
        with db.session.begin_nested():
            db.session.add(Binding(account="demo", openid="o_card_sp", volunteer_id=v.id, bound_at=utcnow()))
        assert store.get(follower_cards.key("demo", "o_card_sp")) is not None  # not yet committed
        db.session.commit()
        assert store.get(follower_cards.key("demo", "o_card_sp")) is None
    assert "could not drop follower cards" not in caplog.text

"""Models take keys and zones as arguments: the data keys are given (``personal_data.use``), the zone
of a message is the caller's ``tz``; nothing in models/ reads the Flask app."""

from __future__ import annotations

import base64

import pytest
from cryptography.fernet import Fernet

from models import db, personal_data, wish_rules
from tests.models.test_wishes import notes, open_wish
from tests.support.orgs import NOW, build_tree, make_volunteer
from wx_service import create_app


@pytest.fixture
def keys_back():
    """Whatever a test makes active, the context's keys are given back after it."""
    before = personal_data._active.get()
    yield
    personal_data.use(before)


def test_personal_data_with_given_keys_and_no_app(keys_back):
    personal_data.use(personal_data.keys_from("", "secret-of-chongchuan"))
    token = personal_data.encrypt("320602194503121234")
    assert personal_data.decrypt(token) == "320602194503121234"
    chongchuan = personal_data.lookup_hash("320602194503121234")
    personal_data.use(personal_data.keys_from("", "secret-of-如东"))
    with pytest.raises(ValueError):
        personal_data.decrypt(token)
    assert personal_data.lookup_hash("320602194503121234") != chongchuan
    personal_data.use(None)
    with pytest.raises(RuntimeError):
        personal_data.encrypt("13962805656")


@pytest.mark.parametrize("data_key", ["", Fernet.generate_key().decode()])
def test_decrypt_many_gives_what_decrypt_gives_and_refuses_what_it_refuses(keys_back, data_key):
    personal_data.use(personal_data.keys_from(data_key, "secret-of-chongchuan"))
    values = ["", "1", "13962805656", "320602194503121234", "a" * 15, "b" * 16, "c" * 17, "d" * 32, "香港居民身份证 A123456(7)"]
    tokens = [personal_data.encrypt(v) for v in values]
    assert personal_data.decrypt_many(tokens) == [personal_data.decrypt(t) for t in tokens] == values
    assert personal_data.decrypt_many([]) == []
    raw = bytearray(base64.urlsafe_b64decode(tokens[3]))
    raw[30] ^= 1  # one bit of the ciphertext
    for bad in (base64.urlsafe_b64encode(bytes(raw)).decode(), "not-a-token", tokens[3][:-8]):
        with pytest.raises(ValueError):
            personal_data.decrypt(bad)
        with pytest.raises(ValueError):
            personal_data.decrypt_many([tokens[0], bad])
    personal_data.use(personal_data.keys_from("", "secret-of-如东"))
    with pytest.raises(ValueError):
        personal_data.decrypt_many(tokens[:1])


def test_each_app_context_has_its_app_keys(app_lite, monkeypatch):
    monkeypatch.setenv("WX_SERVICE_NO_AUTO_UPGRADE", "1")
    other = create_app({**app_lite.config, "app": {**app_lite.config["app"], "secret_key": "another-secret"}})
    with app_lite.app.app_context():
        token = personal_data.encrypt("13962805656")
        with other.app_context():
            with pytest.raises(ValueError):
                personal_data.decrypt(token)
        assert personal_data.decrypt(token) == "13962805656"  # back in the first app: its keys again


@pytest.fixture
def tree(app_lite):
    with app_lite.app.app_context():
        yield build_tree()
        db.session.rollback()


def test_the_time_told_about_a_wish_is_in_the_zone_given(tree):
    _orgs, admins = tree
    publisher = make_volunteer("冒桂英", account="demo", openid="o_pub")
    wish = open_wish(admins)
    helper = make_volunteer("陈建国")
    wish_rules.claim(helper, wish.id, "周六上午上门", now=NOW, tz="Asia/Urumqi")
    wish_rules.complete(helper, wish.id, "收音机修好了", ["m1"], account="demo", now=NOW, tz="Asia/Urumqi")
    told = [n[2]["time"] for n in notes() if n[0] == publisher.id and n[1] in ("wish_claimed", "wish_completed")]
    assert told == ["2026-03-01 08:00", "2026-03-01 08:00"]  # 02:00 UTC in Urumqi (UTC+6)

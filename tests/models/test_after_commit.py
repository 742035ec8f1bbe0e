"""The one after-commit mechanism: notes leave after the outermost commit, a rollback drops them."""

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from models import base


@pytest.fixture
def ran(monkeypatch):
    """What the handlers of this test were given, in order; only this test's handlers are declared."""
    monkeypatch.setattr(base, "_HANDLERS", [])
    base.install_after_commit()
    seen = []
    base.when_committed(lambda notes: seen.append(("photos", notes)), "photos")
    base.when_committed(lambda notes: seen.append(("tags", notes)), "admins", "bindings")
    return seen


@pytest.fixture
def session(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'notes.db'}")
    with Session(engine) as session:
        session.execute(text("SELECT 1"))
        yield session
    engine.dispose()


def test_notes_wait_for_the_outermost_commit_through_savepoints(ran, session):
    base.after_commit("photos", 11, session=session)
    with session.begin_nested():
        base.after_commit("photos", 12, session=session)
    assert ran == []                     # a released savepoint is not a commit
    try:
        with session.begin_nested():
            base.after_commit("photos", 13, session=session)
            raise LookupError
    except LookupError:
        pass                             # a rolled-back savepoint: the transaction goes on
    session.commit()
    assert ran == [("photos", {"photos": [11, 12, 13]})]
    session.commit()
    assert len(ran) == 1                 # what was run is not run again by the next commit


def test_a_rolled_back_transaction_runs_nothing(ran, session):
    base.after_commit("photos", 21, session=session)
    with session.begin_nested():
        base.after_commit("admins", 7, session=session)
    session.rollback()
    session.commit()
    assert ran == []


def test_a_handler_gets_the_keys_it_declared_and_only_when_one_was_noted(ran, session):
    base.after_commit("bindings", ("demo", "o-wang-xiuying", 3), session=session)
    base.after_commit("admins", 3, session=session)
    session.commit()
    assert ran == [("tags", {"admins": [3], "bindings": [("demo", "o-wang-xiuying", 3)]})]


def test_a_failing_handler_neither_fails_the_commit_nor_stops_the_others(ran, session, caplog, monkeypatch):
    def broken(_notes):
        raise ConnectionError("queue down")

    monkeypatch.setattr(base, "_HANDLERS", [(broken, ("photos",)), *base._HANDLERS])
    base.after_commit("photos", 31, session=session)
    session.commit()
    assert ran == [("photos", {"photos": [31]})]
    assert "after-commit handler" in caplog.text


def test_the_listener_pair_is_installed_once():
    base.install_after_commit()
    base.install_after_commit()
    probe = Session()
    assert len(probe.dispatch.after_commit) == len(probe.dispatch.after_rollback) == 1

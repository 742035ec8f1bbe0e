"""Jobs leave after the outermost commit: a released savepoint is not a commit."""

from jobs import enqueue
from models import db


def noted(_volunteer_id):
    """A job that is only submitted here, never run."""


def test_a_job_asked_for_in_a_savepoint_leaves_at_the_real_commit(any_app, monkeypatch):
    submitted = []
    backend = any_app.app.extensions["wx_jobs"]
    monkeypatch.setattr(backend, "submit", lambda func, args, kwargs, retry=None, job_id=None:
                        submitted.append((func.__name__, args)) or True)
    with any_app.app.app_context():
        db.session.execute(db.text("SELECT 1"))
        enqueue(noted, 1)
        with db.session.begin_nested():
            enqueue(noted, 2)
        assert submitted == []            # the savepoint is released; nothing is committed yet
        try:
            with db.session.begin_nested():
                enqueue(noted, 3)
                raise LookupError
        except LookupError:
            pass                          # a savepoint rolled back: the outer transaction goes on
        db.session.commit()
    assert submitted == [("noted", (1,)), ("noted", (2,)), ("noted", (3,))]


def test_a_rolled_back_transaction_submits_nothing(any_app, monkeypatch):
    submitted = []
    backend = any_app.app.extensions["wx_jobs"]
    monkeypatch.setattr(backend, "submit", lambda *a, **k: submitted.append(a) or True)
    with any_app.app.app_context():
        enqueue(noted, 1)
        with db.session.begin_nested():
            enqueue(noted, 2)
        db.session.rollback()
        db.session.commit()
    assert submitted == []

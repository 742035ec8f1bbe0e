"""Jobs leave after the outermost commit: a released savepoint is not a commit."""

from jobs import job
from models import db


@job()
def noted(_volunteer_id):
    """A job that is only submitted here, never run."""


def test_a_job_asked_for_in_a_savepoint_leaves_at_the_real_commit(any_app, monkeypatch):
    submitted = []
    backend = any_app.app.extensions["wx_jobs"]
    monkeypatch.setattr(backend, "submit", lambda func, args, kwargs, retry=None, job_id=None:
                        submitted.append((func.__name__, args)) or True)
    with any_app.app.app_context():
        db.session.execute(db.text("SELECT 1"))
        noted.later(1)
        with db.session.begin_nested():
            noted.later(2)
        assert submitted == []            # the savepoint is released; nothing is committed yet
        try:
            with db.session.begin_nested():
                noted.later(3)
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
        noted.later(1)
        with db.session.begin_nested():
            noted.later(2)
        db.session.rollback()
        db.session.commit()
    assert submitted == []


def test_a_notification_written_in_a_savepoint_is_delivered_after_the_real_commit(any_app, monkeypatch):
    import jobs.delivery as delivery
    from models import notify
    from tests.support.people import make_volunteer

    batches = []
    monkeypatch.setattr(delivery, "submit", lambda ids: batches.append(sorted(ids)) or 1)
    with any_app.app.app_context():
        elder_helper = make_volunteer(name="陈桂兰")
        with db.session.begin_nested():
            row = notify(elder_helper.id, "help_request", {"thing1": {"value": "王秀英 求助"}}, link=None,
                         cause="help_request:7", key="savepoint:7")
        assert batches == []
        db.session.commit()
        assert batches == [[row.id]]

"""One job declaration: the retry policy is declared with the job; ``later`` leaves after the commit."""

import pytest
from sqlalchemy.orm import Session

from jobs.admin_tags import sync_openid_tag
from jobs.attendance import close_publicity
from jobs.delivery import deliver_notifications, retry_policy
from jobs.media import fetch_media
from models import db


@pytest.fixture
def submitted(any_app, monkeypatch):
    seen = []
    backend = any_app.app.extensions["wx_jobs"]
    monkeypatch.setattr(backend, "submit", lambda func, args, kwargs, retry=None, job_id=None:
                        seen.append((func.__name__, args, retry)) or True)
    return seen


def test_later_submits_after_the_commit_with_the_declared_retry(any_app, submitted):
    with any_app.app.app_context():
        db.session.execute(db.text("SELECT 1"))
        fetch_media.later(41)
        close_publicity.later()
        assert submitted == []
        db.session.commit()
    assert submitted == [("fetch_media", (41,), (5, [3, 10, 30, 120, 600])),
                         ("close_publicity", (), None)]


def test_now_submits_at_once_with_the_declared_retry(any_app, submitted):
    with any_app.app.app_context():
        assert sync_openid_tag.now("demo", "o-zhou-guiying")
        deliver_notifications.now([7, 8])
        policy = retry_policy()  # read from [notifications] when the job is submitted
    assert submitted == [("sync_openid_tag", ("demo", "o-zhou-guiying"), (3, [10, 60, 300])),
                         ("deliver_notifications", ([7, 8],), policy)]


def test_the_app_installs_one_listener_pair_and_no_feature_adds_its_own(any_app):
    probe = Session()
    assert len(probe.dispatch.after_commit) == 1
    assert len(probe.dispatch.after_rollback) == 1
    assert len(probe.dispatch.before_commit) == 0

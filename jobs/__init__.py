"""rq job functions and the periodic schedule.

Every job receives ids, loads fresh state and is idempotent.  ``enqueue`` defers the job until
the current database transaction commits, so a job never runs before the rows it is about exist,
and a rolled-back transaction enqueues nothing.  "Commits" means the outermost transaction: SQLAlchemy
also fires its commit events when a savepoint (``begin_nested``) is released, and a job submitted then
would run before its rows are visible (and, on SQLite, wait for the write lock the request still
holds).  A rolled-back savepoint keeps the jobs asked for so far; they read committed state.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from models import db

_PENDING = "wx_jobs_pending"


def backend():
    return current_app.extensions["wx_jobs"]


def settings():
    """The jobs' one reader of the configuration: the typed ``Settings`` of the current app (the object
    ``wx_service.config.settings()`` gives the faces; built and checked by ``create_app``).  Jobs run in an
    app context."""
    return current_app.config["WX_SETTINGS"]


def enqueue(func, *args, retry: tuple[int, list[int]] | None = None, job_id: str | None = None, **kwargs):
    """Run ``func(*args, **kwargs)`` as a job once the current transaction has committed."""
    session = db.session()
    session.info.setdefault(_PENDING, []).append((func, args, kwargs, retry, job_id))


def enqueue_now(func, *args, retry=None, job_id=None, **kwargs) -> bool:
    """Submit at once (no transaction involved: a CLI command, a job chaining another)."""
    return backend().submit(func, args, kwargs, retry=retry, job_id=job_id)


def _flush(session):
    if session.in_nested_transaction():  # a savepoint released: the rows are not committed yet
        return
    pending = session.info.pop(_PENDING, None)
    if pending:
        for func, args, kwargs, retry, job_id in pending:
            backend().submit(func, args, kwargs, retry=retry, job_id=job_id)


def _discard(session):
    if not session.in_nested_transaction():  # a savepoint rolled back: the outer transaction goes on
        session.info.pop(_PENDING, None)


event.listen(Session, "after_commit", _flush)
event.listen(Session, "after_rollback", _discard)


# The outbox hook (models.notify → a delivery job after commit) is installed with the package.
from . import admin_tags  # noqa: E402,F401  (listens for admin changes at commit)
from . import delivery as _delivery  # noqa: E402,F401

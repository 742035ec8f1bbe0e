"""rq job functions, their one declaration, and the periodic schedule.

Every job receives ids, loads fresh state and is idempotent.  A job is declared once, with its
retry policy, in the style of redash's ``job`` decorator::

    @job(retry=(5, [3, 10, 30, 120, 600]))
    def fetch_media(item_id): ...

    fetch_media.later(item_id)   # submitted after the current transaction commits
    fetch_media.now(item_id)     # submitted at once (a sweep, a CLI command, a job)

``later`` goes through the one after-commit mechanism (``models.base.after_commit``): a job never
runs before the rows it is about are committed — a released savepoint is not a commit — and a
rolled-back transaction submits nothing.  The function itself stays a plain module-level function,
so rq imports it by name.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app

from models.base import after_commit

#: (retries, intervals in seconds) as rq's ``Retry`` takes them, or a callable giving it (read from settings)
RetryPolicy = tuple[int, list[int]] | Callable[[], tuple[int, list[int]] | None] | None
LATER = "wx_jobs_later"  # the after-commit key of jobs asked for with ``later``


def backend():
    return current_app.extensions["wx_jobs"]


def settings():
    """The jobs' one reader of the configuration: the typed ``Settings`` of the current app (the object
    ``wx_service.config.settings()`` gives the faces; built and checked by ``create_app``).  Jobs run in an
    app context."""
    return current_app.config["WX_SETTINGS"]


def job(*, retry: RetryPolicy = None):
    """Declare a job: its retry policy, ``fn.later(*args)`` and ``fn.now(*args)``."""

    def declare(func):
        func.retry = retry
        func.later = lambda *args: after_commit(LATER, (func, args))
        func.now = lambda *args: _submit(func, args)
        return func

    return declare


def _submit(func, args) -> bool:
    retry = func.retry() if callable(func.retry) else func.retry
    return backend().submit(func, args, {}, retry=retry)


def submit_later(notes: dict[str, list]) -> None:
    """After a commit: submit the jobs its transaction asked for, in order."""
    for func, args in notes[LATER]:
        _submit(func, args)

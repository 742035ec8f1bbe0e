"""The one SQLAlchemy handle, the rule exception, the after-commit notes and time helpers shared by every model."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

# Stable constraint names, so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING))
log = logging.getLogger(__name__)


class RuleViolation(Exception):
    """A business rule refused the action.

    ``code`` is a stable machine code (tests and JSON clients read it); ``message`` is the
    Chinese sentence shown to people, the same on a page, in a chat reply and in a job log.
    """

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def won(change) -> bool:
    """Run a conditional ``UPDATE … WHERE state = …``; True when it changed exactly one row (this caller won the race)."""
    return db.session.execute(change.execution_options(synchronize_session=False)).rowcount == 1


def insert_unique(row) -> bool:
    """Add and flush ``row`` in a savepoint; False (and nothing added) when a unique constraint refuses it."""
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except IntegrityError:
        return False
    return True


# The engine (a bind of ``db``, on PostgreSQL) for single statements whose commit need not wait for the disk:
# in autocommit, so a statement is its own transaction; a crash of the database server may lose the last
# fraction of a second of them (never half of one).  Only rows the service makes again when they are
# missing go there (``Follower.first_sight``).
ASYNC_COMMIT = "async_commit"


def async_commit_engine():
    """The engine of ``ASYNC_COMMIT``; on SQLite, which has no such setting, the default one."""
    return db.engines.get(ASYNC_COMMIT) or db.engine


def insert_of(model):
    """The dialect's INSERT for ``model`` (its ``on_conflict_do_nothing``/``…_do_update``: PostgreSQL and
    SQLite spell them alike)."""
    if db.session.get_bind(mapper=model.__mapper__).dialect.name == "postgresql":
        return postgresql.insert(model.__table__)
    return sqlite.insert(model.__table__)


def insert_or_refuse(row, code: str, message: str):
    """``row``, inserted as ``insert_unique`` does; ``RuleViolation(code, message, 409)`` when a unique constraint
    refuses it (the same row exists already, or a concurrent request inserted it first)."""
    if not insert_unique(row):
        raise RuleViolation(code, message, 409)
    return row


def flush_or_roll_back() -> bool:
    """Flush the session; when a constraint refuses it (a concurrent insert won), roll the transaction back: False."""
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return False
    return True


def label_of(column: str, labels: Mapping[str, str]) -> property:
    """The manual's Chinese for a column's value, declared beside the columns:
    ``state_label = label_of("state", STATE_LABELS)`` (a value missing from ``labels`` is a KeyError, as before)."""
    return property(lambda row: labels[getattr(row, column)], doc=f"{column}, said in Chinese")


def read_through(relation: str, attribute: str) -> property:
    """An attribute of a related row, read as this row's own (what templates and tests name):
    ``photo_path = read_through("photo", "path")``."""
    return property(lambda row: getattr(getattr(row, relation), attribute), doc=f"{relation}.{attribute}")


def get_or_refuse(model, row_id, code: str, message: str):
    """The ``model`` row with id ``row_id``, or ``RuleViolation(code, message, 404)`` when there is none."""
    row = db.session.get(model, row_id) if row_id else None
    if row is None:
        raise RuleViolation(code, message, 404)
    return row


def check_length(code: str, label: str, text: str, limits: tuple[int, int]) -> str:
    """``text`` when it has ``limits`` = (fewest, most) characters, else ``RuleViolation`` ``{code}_too_short`` or
    ``{code}_too_long`` saying so with the field's ``label``."""
    low, high = limits
    if len(text) < low:
        raise RuleViolation(f"{code}_too_short", f"{label}至少{low}个字。")
    if len(text) > high:
        raise RuleViolation(f"{code}_too_long", f"{label}不能超过{high}个字。")
    return text


def utcnow() -> datetime:
    """Now in UTC, naive: the database stores UTC without a zone on every engine."""
    return datetime.now(UTC).replace(tzinfo=None)


# ---------------------------------------------------------------------------- after commit
# "Do this once the change is committed" (a job, a delivery, a cache to drop) is noted in the session
# under a key; after the outermost commit each handler declared for a key gets what was noted, and a
# rollback drops it all.  SQLAlchemy also fires its commit events when a savepoint (``begin_nested``)
# is released: the rows are not committed then (and on SQLite the request still holds the write
# lock), so the notes wait for the real commit.  A rolled-back savepoint keeps what was noted so far:
# handlers act on committed state, read again, so a note about rows taken back does nothing.
_NOTES = "wx_after_commit"  # session.info: {key: [item, …]}
_HANDLERS: list[tuple[Callable[[dict[str, list]], None], tuple[str, ...]]] = []


def after_commit(key: str, *items, session: Session | None = None) -> None:
    """Note ``items`` under ``key`` for the handlers that run after this transaction commits."""
    session = session or db.session()
    session.info.setdefault(_NOTES, {}).setdefault(key, []).extend(items)


def when_committed(handler: Callable[[dict[str, list]], None], *keys: str) -> None:
    """Declare ``handler({key: items})``, called after each commit that noted one of ``keys``."""
    if (handler, keys) not in _HANDLERS:
        _HANDLERS.append((handler, keys))


def install_after_commit() -> None:
    """The one listener pair (``create_app`` installs it; a second call changes nothing)."""
    if not event.contains(Session, "after_commit", _committed):
        event.listen(Session, "after_commit", _committed)
        event.listen(Session, "after_rollback", _rolled_back)


def _committed(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released: nothing is committed yet
        return
    notes = session.info.pop(_NOTES, None)
    if not notes:
        return
    for handler, keys in list(_HANDLERS):
        mine = {key: notes[key] for key in keys if key in notes}
        if not mine:
            continue
        try:
            handler(mine)
        except Exception:  # the change is committed: a queue or cache problem must not fail it
            log.exception("after-commit handler %s failed", handler.__qualname__)


def _rolled_back(session: Session) -> None:
    if not session.in_nested_transaction():  # a savepoint rolled back: the transaction goes on
        session.info.pop(_NOTES, None)

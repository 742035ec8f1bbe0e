"""The one SQLAlchemy handle, the rule exception, and time helpers shared by every model."""

from __future__ import annotations

from datetime import UTC, datetime

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData

# Stable constraint names, so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING))


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


def utcnow() -> datetime:
    """Now in UTC, naive: the database stores UTC without a zone on every engine."""
    return datetime.now(UTC).replace(tzinfo=None)

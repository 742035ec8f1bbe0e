"""Key/value rows that stand in for Redis when no Redis is configured (embedded default)."""

from __future__ import annotations

from .base import db


class SharedValue(db.Model):
    """A value every process sees: an access token, a dedup key, a lock, a counter."""

    __tablename__ = "shared_value"

    key = db.Column(db.String(200), primary_key=True)
    value = db.Column(db.Text, nullable=False, default="")
    expires_at = db.Column(db.DateTime, nullable=True, index=True)

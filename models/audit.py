"""Audit of who saw a volunteer's full phone number (志愿服务条例 art. 20)."""

from __future__ import annotations

from .base import db


class PhoneView(db.Model):
    __tablename__ = "phone_view"

    id = db.Column(db.Integer, primary_key=True)
    viewer_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="CASCADE"), nullable=False, index=True)
    volunteer_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="CASCADE"), nullable=False,
                             index=True)
    viewed_at = db.Column(db.DateTime, nullable=False)
    reason = db.Column(db.String(100), nullable=False, default="")


def reveal_phone(viewer, volunteer, now, reason: str = "") -> str:
    """The full phone of ``volunteer`` for an admin; every call leaves an audit row."""
    if viewer.id != volunteer.id:
        db.session.add(PhoneView(viewer_id=viewer.id, volunteer_id=volunteer.id, viewed_at=now, reason=reason))
    return volunteer.phone

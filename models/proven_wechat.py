"""WeChat users that have proven to be a person's own, so wrong guesses by others never lock them out.

A volunteer's (or a help-seeker's) own WeChat is one that was bound to them before, or — for a
while — one that has just reset the volunteer's password with the SMS code sent to the registered
phone.  The bind locks keyed on the person (``models.lockout``) stop strangers guessing; they do not
apply to these (a WeChat bound before still has a lock of its own for its own wrong tries; one that
has just proved the phone has none).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import or_

from .base import db, utcnow

BOUND, SMS_RESET = "bound", "sms_reset"
#: how long a WeChat that reset the password by SMS code counts as the volunteer's own
RESET_TRUST = timedelta(hours=1)


class ProvenWeChat(db.Model):
    """(account, openid) proven to belong to one volunteer or one help-seeker, and how."""

    __tablename__ = "proven_wechat"
    __table_args__ = (
        db.CheckConstraint("(volunteer_id IS NULL) <> (seeker_id IS NULL)", name="one_person"),
        db.CheckConstraint("how IN ('bound', 'sms_reset')", name="how"),
        db.Index("ix_proven_wechat_account_openid", "account", "openid"),
    )

    id = db.Column(db.Integer, primary_key=True)
    account = db.Column(db.String(64), nullable=False)
    openid = db.Column(db.String(64), nullable=False)
    volunteer_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="CASCADE"))
    seeker_id = db.Column(db.Integer, db.ForeignKey("help_seeker.id", ondelete="CASCADE"))
    how = db.Column(db.String(16), nullable=False)
    proven_at = db.Column(db.DateTime, nullable=False, default=utcnow)


def _person(volunteer_id: int | None, seeker_id: int | None):
    if volunteer_id is not None:
        return ProvenWeChat.volunteer_id == volunteer_id
    return ProvenWeChat.seeker_id == seeker_id


def note(account: str, openid: str, how: str, now, *, volunteer_id: int | None = None,
         seeker_id: int | None = None) -> None:
    """Remember, in the caller's transaction, that (account, openid) proved to be the person's own."""
    known = ProvenWeChat.query.filter(ProvenWeChat.account == account, ProvenWeChat.openid == openid,
                                      ProvenWeChat.how == how, _person(volunteer_id, seeker_id)).first()
    if known is not None:
        known.proven_at = now
        return
    db.session.add(ProvenWeChat(account=account, openid=openid, how=how, proven_at=now,
                                volunteer_id=volunteer_id, seeker_id=seeker_id))


def how_own(account: str, openid: str, now, *, volunteer_id: int | None = None,
            seeker_id: int | None = None) -> str | None:
    """``SMS_RESET`` when (account, openid) reset the password by SMS code within ``RESET_TRUST``,
    else ``BOUND`` when it was bound to the person before, else None."""
    if volunteer_id is None and seeker_id is None:
        return None
    rows = db.session.query(ProvenWeChat.how).filter(
        ProvenWeChat.account == account, ProvenWeChat.openid == openid, _person(volunteer_id, seeker_id),
        or_(ProvenWeChat.how == BOUND, ProvenWeChat.proven_at > now - RESET_TRUST)).all()
    found = {row.how for row in rows}
    return SMS_RESET if SMS_RESET in found else BOUND if BOUND in found else None

"""A WeChat user of one official account, as seen from the callback (openid per account)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, literal, select

from .base import db, utcnow
from .volunteer import Binding, Volunteer

SEEN_RESOLUTION = timedelta(minutes=1)


class Follower(db.Model):
    """粉丝: one (account, openid) pair.

    Kept from the first callback or OAuth visit on.  ``following`` turns false on unsubscribe or
    when WeChat says the user no longer follows (43004), so nothing is sent to it; the last
    LOCATION is stored raw (its datum is undocumented) and converted only when used.
    """

    __tablename__ = "follower"
    __table_args__ = (db.UniqueConstraint("account", "openid"),)

    id = db.Column(db.Integer, primary_key=True)
    account = db.Column(db.String(64), nullable=False)
    openid = db.Column(db.String(64), nullable=False)
    following = db.Column(db.Boolean, nullable=False, default=False)
    subscribed_at = db.Column(db.DateTime)
    unsubscribed_at = db.Column(db.DateTime)
    last_seen_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    last_latitude = db.Column(db.Float)
    last_longitude = db.Column(db.Float)
    last_precision = db.Column(db.Float)
    last_location_at = db.Column(db.DateTime)

    @classmethod
    def touch(cls, account: str, openid: str, now) -> Follower:
        """The follower row for (account, openid), created on first sight; marks the interaction."""
        follower = cls.query.filter_by(account=account, openid=openid).one_or_none()
        return cls.seen(follower, account, openid, now)

    @classmethod
    def seen(cls, follower: Follower | None, account: str, openid: str, now) -> Follower:
        """Mark an interaction on a row already loaded (or create it).

        ``last_seen_at`` is written at most once a minute: it serves the 48-hour window of
        customer-service messages and "the account used last", where a minute is nothing, and a
        read-only callback then costs no UPDATE.
        """
        if follower is None:
            follower = cls(account=account, openid=openid, last_seen_at=now)
            db.session.add(follower)
        elif follower.last_seen_at is None or now - follower.last_seen_at >= SEEN_RESOLUTION:
            follower.last_seen_at = now
        return follower

    @classmethod
    def with_volunteer(cls, account: str, openid: str):
        """(follower row or None, bound volunteer or None) in one round trip: the callback's lookup."""
        key = select(literal(account).label("account"), literal(openid).label("openid")).subquery()
        row = db.session.execute(
            select(cls, Volunteer).select_from(key)
            .outerjoin(cls, and_(cls.account == key.c.account, cls.openid == key.c.openid))
            .outerjoin(Binding, and_(Binding.account == key.c.account, Binding.openid == key.c.openid))
            .outerjoin(Volunteer, Volunteer.id == Binding.volunteer_id)
        ).one()
        return row[0], row[1]

    def subscribe(self, now) -> None:
        self.following = True
        self.subscribed_at = now

    def unsubscribe(self, now) -> None:
        self.following = False
        self.unsubscribed_at = now

    @classmethod
    def mark_not_following(cls, account: str, openid: str, now) -> None:
        """WeChat said the user does not follow (43004) or refuses messages (43101): send nothing more."""
        follower = cls.query.filter_by(account=account, openid=openid).one_or_none()
        if follower is None:
            follower = cls(account=account, openid=openid, last_seen_at=now)
            db.session.add(follower)
        follower.unsubscribe(now)

    def record_location(self, latitude: float, longitude: float, precision: float | None, now) -> None:
        self.last_latitude = latitude
        self.last_longitude = longitude
        self.last_precision = precision
        self.last_location_at = now

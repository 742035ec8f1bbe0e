"""A WeChat user of one official account, as seen from the callback (openid per account)."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, bindparam, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

from .base import after_commit, async_commit_engine, db, utcnow
from .volunteer import Binding, Volunteer

SEEN_RESOLUTION = timedelta(minutes=1)
FOLLOW_CHANGES = "wx_follow_changes"  # after-commit key: (account, openid) whose following changed
# The shared store's marks of when each (account, openid) was last seen by the callback, which writes
# no row for it; ``record_seen`` writes them for many followers at once (``jobs.followers``).
SEEN_MARKS = "follower_seen"


def seen_mark(account: str, openid: str, now: datetime) -> tuple[str, str, str]:
    """The mark of (account, openid) seen at ``now`` (naive UTC), as the store keeps it: (name, field, value)."""
    return SEEN_MARKS, f"{account}|{openid}", str(int(now.replace(tzinfo=UTC).timestamp()))


def read_seen_mark(field: str, value: str) -> tuple[str, str, datetime] | None:
    """(account, openid, naive UTC time) of a mark, or None for one that is not a mark."""
    account, _, openid = field.partition("|")
    try:
        return account, openid, datetime.fromtimestamp(int(value), UTC).replace(tzinfo=None)
    except ValueError:
        return None


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
    def first_sight(cls, account: str, openid: str, now, *, subscribing: bool) -> tuple[bool, int | None]:
        """Who is behind (account, openid), making its row when there is none: (whether the row was made
        now, the bound volunteer's id or None).

        The callback runs this for a person the follower cards do not know, instead of loading rows: a
        QR campaign's thousands of first contacts then cost one statement each on PostgreSQL, on a
        connection of its own in autocommit whose commit does not wait for the disk
        (``base.ASYNC_COMMIT``: no BEGIN or COMMIT round trip, no fsync wait; a row made for a follower
        is right whatever the handler does next, and one a database crash loses is made again by the
        next callback or page that needs it).  A row made for a subscribe is made following.
        """
        engine = async_commit_engine()
        statements = _first_sight_statements(engine.dialect.name)
        values = {"account": account, "openid": openid, "following": subscribing,
                  "subscribed_at": now if subscribing else None, "now": now}
        try:
            return _sight(engine, statements, values)
        except DBAPIError as exc:
            # That pool does not ping before each use (a round trip a first contact): a connection the
            # database dropped (a restart) fails here once, the pool is renewed, and the statement —
            # which did nothing on a dead connection — runs again.
            if not exc.connection_invalidated:
                raise
            return _sight(engine, statements, values)

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

    @classmethod
    def record_seen(cls, seen: list[tuple[str, str, datetime]]) -> None:
        """``last_seen_at`` of many (account, openid) at once, never moved back.

        The callback marks the time in the shared store instead of writing it (a broadcast's rush
        then costs no UPDATE); a mark waits at most a minute, which neither the 48-hour window of
        customer-service messages nor "the account used last" notices.
        """
        table = cls.__table__
        statement = (update(table)
                     .where(table.c.account == bindparam("a"), table.c.openid == bindparam("o"),
                            table.c.last_seen_at < bindparam("t"))
                     .values(last_seen_at=bindparam("t")))
        for start in range(0, len(seen), 1000):
            rows = [{"a": a, "o": o, "t": t} for a, o, t in seen[start:start + 1000]]
            db.session.connection().execute(statement, rows)

    def subscribe(self, now) -> None:
        self.following = True
        self.subscribed_at = now
        self._note_follow_change()

    def unsubscribe(self, now) -> None:
        self.following = False
        self.unsubscribed_at = now
        self._note_follow_change()

    def _note_follow_change(self) -> None:
        """Note the change for the follower cards; a row not yet stored is a first contact, which no card
        can describe yet (cards are kept only for stored rows), so there is nothing to drop."""
        if self.id is not None:
            after_commit(FOLLOW_CHANGES, (self.account, self.openid))

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


def _sight(engine, statements, values) -> tuple[bool, int | None]:
    with engine.begin() as connection:  # on PostgreSQL in autocommit: brackets the connection's use only
        if len(statements) == 1:
            made_id, volunteer_id = connection.execute(statements[0], values).one()
        else:  # SQLite: no INSERT inside a WITH
            made_id = connection.execute(statements[0], values).scalar()
            volunteer_id = connection.execute(statements[1], values).scalar()
    return made_id is not None, volunteer_id


@functools.cache
def _first_sight_statements(dialect: str) -> tuple:
    """``Follower.first_sight``'s statements, built once: the INSERT (``WHERE NOT EXISTS`` spends no id of
    the sequence on a person already known; ``ON CONFLICT`` settles two first callbacks at once) and the
    binding's volunteer — on PostgreSQL one statement, the INSERT in a WITH."""
    table, binding = Follower.__table__, Binding.__table__
    account, openid = bindparam("account"), bindparam("openid")
    known = select(table.c.id).where(table.c.account == account, table.c.openid == openid).exists()
    row = select(account, openid, bindparam("following"), bindparam("subscribed_at", type_=table.c.subscribed_at.type),
                 bindparam("now", type_=table.c.last_seen_at.type)).where(~known)
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    make = (insert.from_select(["account", "openid", "following", "subscribed_at", "last_seen_at"], row)
            .on_conflict_do_nothing(index_elements=["account", "openid"]).returning(table.c.id))
    bound = select(binding.c.volunteer_id).where(binding.c.account == account, binding.c.openid == openid)
    if dialect != "postgresql":
        return make, bound
    made = make.cte("made")
    return (select(select(made.c.id).scalar_subquery(), bound.scalar_subquery()),)

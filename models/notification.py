"""消息通知: the outbox of notifications to volunteers, and the rules of their delivery.

Most are addressed to a volunteer (their bindings say where to send).  A resident who submitted a
need or an order without a volunteer account is addressed by the (account, openid) OAuth gave them
(:func:`notify_follower`): no 消息中心 for them, only the template message when they follow.

A notification is a row written in the same transaction as the change that caused it
(:func:`notify`, :func:`notify_many`).  They do not commit; they note the new ids for after the
commit (``after_commit(PENDING_DELIVERY, …)``) and ``jobs.delivery.submit_committed`` enqueues the
delivery job once the transaction has committed (a rolled-back change sends nothing).  Rows still
pending a minute later are re-enqueued by the periodic sweep, so a row written while Redis was
down is delivered when it is back.

Every state change of delivery is a conditional ``UPDATE`` whose row count says who won, so two
workers running the same job never send one row twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update

from . import clock
from .base import after_commit, db, insert_of
from .follower import Follower
from .notification_kinds import KNOWN_KINDS
from .volunteer import Binding

PENDING_DELIVERY = "wx_notifications_to_deliver"

PENDING = "pending"
SENT = "sent"
INBOX_ONLY = "inbox_only"
FAILED = "failed"
FAILED_PERMANENT = "failed_permanent"
STATES = (PENDING, SENT, INBOX_ONLY, FAILED, FAILED_PERMANENT)

TEMPLATE = "template"
CUSTOM = "custom"
INBOX = "inbox"

CUSTOM_WINDOW = timedelta(hours=48)  # WeChat accepts customer-service messages this long after the user's last action
INSERT_CHUNK = 500


class Notification(db.Model):
    """消息: one message to one volunteer, its delivery state, and whether it was read in 消息中心."""

    __tablename__ = "notification"
    __table_args__ = (
        db.UniqueConstraint("key", name="uq_notification_key"),
        db.CheckConstraint("state IN ('pending', 'sent', 'inbox_only', 'failed', 'failed_permanent')",
                           name="state"),
        db.Index("ix_notification_state_created_at", "state", "created_at"),
        db.Index("ix_notification_volunteer_id_created_at", "volunteer_id", "created_at"),
        db.CheckConstraint("volunteer_id IS NOT NULL OR (account IS NOT NULL AND openid IS NOT NULL)",
                           name="addressed"),
    )

    id = db.Column(db.Integer, primary_key=True)
    volunteer_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="CASCADE"))  # NULL: a follower's
    openid = db.Column(db.String(64))  # with ``account``: the follower a row without a volunteer is addressed to
    kind = db.Column(db.String(40), nullable=False)
    data = db.Column(db.JSON, nullable=False, default=dict)
    link = db.Column(db.String(500))
    cause = db.Column(db.String(100), nullable=False)
    key = db.Column(db.String(200), nullable=False)
    state = db.Column(db.String(20), nullable=False, default=PENDING)
    attempts = db.Column(db.Integer, nullable=False, default=0)
    last_error = db.Column(db.String(500))
    account = db.Column(db.String(64))
    channel = db.Column(db.String(16))
    locked_until = db.Column(db.DateTime)  # a worker is sending it; others keep off until then
    next_attempt_at = db.Column(db.DateTime)  # after a transient error: when the retry is due
    created_at = db.Column(db.DateTime, nullable=False, default=clock.now)
    sent_at = db.Column(db.DateTime)
    read_at = db.Column(db.DateTime)

    @property
    def client_msg_id(self) -> str:
        """WeChat's idempotency id for this row (≤ 64 characters, derived from the key)."""
        return client_msg_id(self.key)

    @property
    def unread(self) -> bool:
        return self.read_at is None

    # -- delivery state, each a conditional UPDATE ---------------------------------------------
    @classmethod
    def claim(cls, notification_id: int, now: datetime, lease_seconds: int) -> bool:
        """Take a pending row for sending; False when it is done or another worker holds it."""
        t = cls.__table__
        result = db.session.execute(
            update(t)
            .where(t.c.id == notification_id, t.c.state == PENDING,
                   or_(t.c.locked_until.is_(None), t.c.locked_until < now))
            .values(locked_until=now + timedelta(seconds=lease_seconds), attempts=t.c.attempts + 1)
        )
        return result.rowcount == 1

    @classmethod
    def claim_many(cls, notification_ids: list[int], now: datetime, lease_seconds: int) -> set[int]:
        """:meth:`claim` for several rows in one statement; the ids taken."""
        if not notification_ids:
            return set()
        t = cls.__table__
        result = db.session.execute(
            update(t)
            .where(t.c.id.in_(notification_ids), t.c.state == PENDING,
                   or_(t.c.locked_until.is_(None), t.c.locked_until < now))
            .values(locked_until=now + timedelta(seconds=lease_seconds), attempts=t.c.attempts + 1)
            .returning(t.c.id)
        )
        return set(result.scalars())

    @classmethod
    def pending_of(cls, notification_ids: list[int]) -> list:
        """(id, volunteer_id, account, openid, kind, key, data, link) of ``notification_ids`` still pending."""
        t = cls.__table__
        query = (select(t.c.id, t.c.volunteer_id, t.c.account, t.c.openid, t.c.kind, t.c.key, t.c.data, t.c.link)
                 .where(t.c.id.in_(notification_ids), t.c.state == PENDING).order_by(t.c.id))
        return list(db.session.execute(query))

    @classmethod
    def _finish(cls, notification_id: int, **values) -> bool:
        t = cls.__table__
        values.setdefault("locked_until", None)
        result = db.session.execute(update(t).where(t.c.id == notification_id, t.c.state == PENDING).values(**values))
        return result.rowcount == 1

    @classmethod
    def mark_sent(cls, notification_ids: list[int], account: str, channel: str, now: datetime) -> int:
        """Record rows sent through ``account`` and ``channel`` in one statement; how many were pending."""
        if not notification_ids:
            return 0
        t = cls.__table__
        result = db.session.execute(
            update(t).where(t.c.id.in_(notification_ids), t.c.state == PENDING)
            .values(state=SENT, account=account, channel=channel, sent_at=now, last_error=None,
                    next_attempt_at=None, locked_until=None))
        return result.rowcount

    @classmethod
    def mark_inbox_only(cls, notification_id: int, now: datetime, account: str | None = None,
                        reason: str | None = None) -> bool:
        return cls._finish(notification_id, state=INBOX_ONLY, channel=INBOX, account=account,
                           last_error=reason, next_attempt_at=None)

    @classmethod
    def mark_failed_permanent(cls, notification_id: int, account: str, channel: str, error: str) -> bool:
        return cls._finish(notification_id, state=FAILED_PERMANENT, account=account, channel=channel,
                           last_error=error[:500], next_attempt_at=None)

    @classmethod
    def defer(cls, notification_id: int, account: str, channel: str, error: str, now: datetime,
              max_attempts: int, retry_in: int) -> str:
        """A transient error: stays pending for a retry, or turns ``failed`` at the last attempt."""
        row = db.session.get(cls, notification_id, populate_existing=True)
        if row is None or row.state != PENDING:
            return row.state if row else FAILED
        if row.attempts >= max_attempts:
            cls._finish(notification_id, state=FAILED, account=account, channel=channel, last_error=error[:500],
                        next_attempt_at=None)
            return FAILED
        cls._finish(notification_id, account=account, channel=channel, last_error=error[:500],
                    next_attempt_at=now + timedelta(seconds=retry_in))
        return PENDING

    @classmethod
    def due_for_sweep(cls, now: datetime, older_than: int = 60, limit: int = 10_000) -> list[int]:
        """Ids of rows still pending ``older_than`` seconds after they were written or due again."""
        t = cls.__table__
        cutoff = now - timedelta(seconds=older_than)
        due = func.coalesce(t.c.next_attempt_at, t.c.created_at)
        query = (select(t.c.id).where(t.c.state == PENDING, due <= cutoff,
                                      or_(t.c.locked_until.is_(None), t.c.locked_until < now))
                 .order_by(t.c.id).limit(limit))
        return list(db.session.execute(query).scalars())

    @classmethod
    def requeue_failed(cls, include_permanent: bool = False) -> list[int]:
        """Put failed rows back to pending (operators, after fixing the cause); their ids."""
        t = cls.__table__
        states = [FAILED, FAILED_PERMANENT] if include_permanent else [FAILED]
        ids = list(db.session.execute(select(t.c.id).where(t.c.state.in_(states)).order_by(t.c.id)).scalars())
        for start in range(0, len(ids), INSERT_CHUNK):
            chunk = ids[start:start + INSERT_CHUNK]
            db.session.execute(update(t).where(t.c.id.in_(chunk), t.c.state.in_(states))
                               .values(state=PENDING, attempts=0, next_attempt_at=None, locked_until=None))
        _note_for_delivery(ids)
        return ids

    # -- reports -------------------------------------------------------------------------------
    @classmethod
    def counts_by_kind_and_state(cls) -> list[tuple[str, str, int]]:
        t = cls.__table__
        query = select(t.c.kind, t.c.state, func.count()).group_by(t.c.kind, t.c.state).order_by(t.c.kind, t.c.state)
        return [(kind, state, count) for kind, state, count in db.session.execute(query)]

    @classmethod
    def backlog_by_kind(cls) -> list[tuple[str, int, datetime]]:
        """(kind, pending rows, the oldest one's created_at) of the rows still to deliver (the ``/metrics`` gauge)."""
        t = cls.__table__
        query = (select(t.c.kind, func.count(), func.min(t.c.created_at)).where(t.c.state == PENDING)
                 .group_by(t.c.kind).order_by(t.c.kind))
        return [(kind, count, oldest) for kind, count, oldest in db.session.execute(query)]

    @classmethod
    def oldest_undelivered(cls) -> Notification | None:
        return cls.query.filter(cls.state == PENDING).order_by(cls.created_at, cls.id).first()

    # -- 消息中心 -------------------------------------------------------------------------------
    @classmethod
    def inbox_of(cls, volunteer_id: int, limit: int = 100) -> list[Notification]:
        return (cls.query.filter_by(volunteer_id=volunteer_id)
                .order_by(cls.created_at.desc(), cls.id.desc()).limit(limit).all())

    @classmethod
    def unread_count(cls, volunteer_id: int) -> int:
        return cls.query.filter_by(volunteer_id=volunteer_id).filter(cls.read_at.is_(None)).count()

    @classmethod
    def of_volunteer(cls, notification_id: int, volunteer_id: int) -> Notification | None:
        return cls.query.filter_by(id=notification_id, volunteer_id=volunteer_id).one_or_none()

    def mark_read(self, now: datetime) -> None:
        if self.read_at is None:
            self.read_at = now


def client_msg_id(key: str) -> str:
    """``n-`` and the key when it fits WeChat's 64 characters, else a digest of it."""
    import hashlib

    if len(key) <= 60 and key.isascii():
        return "n-" + key
    return "n-" + hashlib.sha256(key.encode()).hexdigest()[:40]


# ---------------------------------------------------------------------------- writing the outbox
def _note_for_delivery(ids) -> None:
    if ids:
        after_commit(PENDING_DELIVERY, *ids)


def _insert_ignoring_duplicates(rows: list[dict]) -> list[int]:
    """INSERT … ON CONFLICT (key) DO NOTHING RETURNING id, on PostgreSQL and SQLite alike."""
    t = Notification.__table__
    statement = insert_of(Notification).values(rows).on_conflict_do_nothing(index_elements=[t.c.key]).returning(t.c.id)
    return list(db.session.execute(statement).scalars())


def _row(volunteer_id: int, kind: str, data: dict, link: str | None, cause: str, key: str, now) -> dict:
    return {"volunteer_id": int(volunteer_id), "kind": kind, "data": dict(data or {}), "link": link,
            "cause": cause, "key": key, "state": PENDING, "attempts": 0, "created_at": now}


def _check(kind: str, link: str | None, key: str) -> None:
    if kind not in KNOWN_KINDS:
        raise ValueError(f"unknown notification kind {kind!r} (add it to models/notification_kinds.py)")
    if link is not None and not (link.startswith(("http://", "https://")) or
                                 (link.startswith("/") and not link.startswith("//"))):
        raise ValueError(f"a notification link is a path of ours or an http(s) URL, not {link!r}")
    if not key or len(key) > 200:
        raise ValueError("a notification key is 1 to 200 characters")


def notify(volunteer_id: int, kind: str, data: dict, *, link: str | None, cause: str, key: str) -> Notification:
    """Write a notification to ``volunteer_id`` in the current transaction (no commit).

    ``key`` makes it idempotent: a key already written returns that row and writes nothing.  The
    delivery job is enqueued when the caller's transaction commits.
    """
    _check(kind, link, key)
    ids = _insert_ignoring_duplicates([_row(volunteer_id, kind, data, link, cause, key, clock.now())])
    if ids:
        _note_for_delivery(ids)
        return db.session.get(Notification, ids[0])
    return Notification.query.filter_by(key=key).one()


def notify_follower(account: str, openid: str, kind: str, data: dict, *, link: str | None, cause: str,
                    key: str) -> None:
    """Write a notification to the follower ``openid`` of ``account``, who has no volunteer account
    (idempotent by ``key`` like :func:`notify`).  Delivered as a template message when they follow."""
    _check(kind, link, key)
    row = {**_row(0, kind, data, link, cause, key, clock.now()), "volunteer_id": None, "account": account,
           "openid": openid}
    _note_for_delivery(_insert_ignoring_duplicates([row]))


def notify_many(volunteer_ids, kind: str, data: dict, link: str | None, cause: str, key_prefix: str) -> list[int]:
    """Fan-out: one notification per volunteer, keyed ``{key_prefix}:{volunteer_id}``, written in bulk.

    Returns the ids of the rows written now (keys already present are skipped).  Delivery is
    enqueued after commit in batches, not one job per row.
    """
    seen: set[int] = set()
    unique = [v for v in (int(v) for v in volunteer_ids) if not (v in seen or seen.add(v))]
    _check(kind, link, f"{key_prefix}:{unique[-1] if unique else 0}")
    now = clock.now()
    ids: list[int] = []
    for start in range(0, len(unique), INSERT_CHUNK):
        rows = [_row(v, kind, data, link, cause, f"{key_prefix}:{v}", now) for v in unique[start:start + INSERT_CHUNK]]
        ids.extend(_insert_ignoring_duplicates(rows))
    _note_for_delivery(ids)
    return ids


# ---------------------------------------------------------------------------- where it goes
@dataclass(frozen=True)
class Contact:
    """A volunteer's binding on one account, with what we know of the follower there."""

    account: str
    openid: str
    may_receive: bool  # following, or never seen leaving (users who followed before the service existed)
    last_seen_at: datetime | None


@dataclass(frozen=True)
class Route:
    account: str | None
    openid: str | None
    channel: str  # template / custom / inbox
    template_id: str | None = None


def contacts_of(volunteer_id: int) -> list[Contact]:
    return contacts_of_many([volunteer_id]).get(int(volunteer_id), [])


def contacts_of_many(volunteer_ids) -> dict[int, list[Contact]]:
    """:func:`contacts_of` for several volunteers in one query (volunteer id → contacts)."""
    ids = sorted({int(v) for v in volunteer_ids})
    contacts: dict[int, list[Contact]] = {}
    if not ids:
        return contacts
    b, f = Binding.__table__, Follower.__table__
    query = (select(b.c.volunteer_id, b.c.account, b.c.openid, b.c.bound_at, f.c.account.label("follower"),
                    f.c.following, f.c.unsubscribed_at, f.c.last_seen_at)
             .select_from(b.outerjoin(f, (f.c.account == b.c.account) & (f.c.openid == b.c.openid)))
             .where(b.c.volunteer_id.in_(ids)).order_by(b.c.volunteer_id, b.c.id))
    for row in db.session.execute(query):
        if row.follower is None:
            contact = Contact(row.account, row.openid, True, row.bound_at)
        else:
            may = bool(row.following) or row.unsubscribed_at is None
            contact = Contact(row.account, row.openid, may, row.last_seen_at)
        contacts.setdefault(row.volunteer_id, []).append(contact)
    return contacts


def contacts_of_followers(pairs) -> dict[tuple[str, str], list[Contact]]:
    """(account, openid) → the follower's one contact, for rows addressed to a follower; one query.

    One we never saw leave may receive (as a volunteer's binding without a follower row): WeChat itself
    refuses a template message to someone not following (43004), which the delivery records."""
    wanted = sorted(set(pairs))
    if not wanted:
        return {}
    f = Follower.__table__
    known = {(r.account, r.openid): r for r in db.session.execute(
        select(f.c.account, f.c.openid, f.c.following, f.c.unsubscribed_at, f.c.last_seen_at)
        .where(or_(*[(f.c.account == a) & (f.c.openid == o) for a, o in wanted])))}
    contacts = {}
    for account, openid in wanted:
        row = known.get((account, openid))
        may = row is None or bool(row.following) or row.unsubscribed_at is None
        contacts[(account, openid)] = [Contact(account, openid, may, row.last_seen_at if row else None)]
    return contacts


def choose_route(kind: str, contacts: list[Contact], main_account: str, templates: dict[str, dict],
                 now: datetime) -> Route:
    """The main account if bound and following there, else the account used last; then the channel.

    ``templates`` maps account name → {kind: template id}.  A kind without a template on the chosen
    account goes as a customer-service text when the user acted there within 48 h, else to the
    inbox only.
    """
    reachable = [c for c in contacts if c.may_receive]
    if not reachable:
        return Route(None, None, INBOX)
    main = next((c for c in reachable if c.account == main_account), None)
    chosen = main or max(reachable, key=lambda c: c.last_seen_at or datetime.min)
    template_id = (templates.get(chosen.account) or {}).get(kind)
    if template_id:
        return Route(chosen.account, chosen.openid, TEMPLATE, template_id)
    if chosen.last_seen_at is not None and now - chosen.last_seen_at <= CUSTOM_WINDOW:
        return Route(chosen.account, chosen.openid, CUSTOM)
    return Route(chosen.account, chosen.openid, INBOX)

"""The one media pipeline's state: every picture and voice that arrives from WeChat is a ``MediaItem``.

A feature never downloads anything itself.  It declares a *purpose* once, receives the media ids a
page or a message gave it, and keeps a foreign key to the items::

    PLACE_PHOTO = media.purpose("place_photo")                 # images; voices: kinds=(CHAT_VOICE, …)
    items = media.receive_many(account, server_ids, PLACE_PHOTO, now=now)   # pending rows, fetched after commit

    @media.when_stored(PLACE_PHOTO)                            # optional: react in the job's transaction
    def _place_photo_stored(item, now): ...

``receive`` writes a pending row (or returns the row already there: (account, media_id, purpose) is
unique, so a repeated upload or a WeChat retry is applied once) and notes the one fetch job
(``jobs.media.fetch_media``) for after the commit.  The job fetches (images and chat voice from
``media/get``, ``wx.uploadVoice`` recordings from ``media/get/jssdk``), checks (a picture decoded
safely, re-encoded without its EXIF position, with a thumbnail; a voice transcoded to MP3), stores
under the media dir and settles the row with a conditional UPDATE — then, once, the purpose's hooks
run.  ``jobs.media.sweep_media`` re-submits rows left pending and fails those past WeChat's 3-day
media life.  Nothing here commits.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update

from .base import RuleViolation, after_commit, db, insert_unique

IMAGE, CHAT_VOICE, JSSDK_VOICE = "image", "chat_voice", "jssdk_voice"
KINDS = (IMAGE, CHAT_VOICE, JSSDK_VOICE)
VOICES = (CHAT_VOICE, JSSDK_VOICE)
PENDING, STORED, FAILED = "pending", "stored", "failed"

MEDIA_LIFE = timedelta(days=3)       # WeChat keeps temporary media three days
SWEEP_AFTER = timedelta(minutes=2)   # a pending row untouched this long has lost its job
MAX_TRIES = 8                        # transient failures after which a row fails for good
EXPIRED = "expired"                  # the reason of a row the sweep failed past MEDIA_LIFE
FETCH = "wx_media_fetch"             # the after-commit key: ids of items to fetch

MEDIA_ID_RE = re.compile(r"^[A-Za-z0-9_\-]{1,200}$")


class MediaItem(db.Model):
    """One media id from WeChat for one purpose: pending, then stored (a file) or failed (a reason)."""

    __tablename__ = "media_item"
    __table_args__ = (
        db.UniqueConstraint("account", "media_id", "purpose"),
        db.CheckConstraint("kind IN ('image', 'chat_voice', 'jssdk_voice')", name="kind"),
        db.CheckConstraint("state IN ('pending', 'stored', 'failed')", name="state"),
        db.Index("ix_media_item_state_created_at", "state", "created_at"),
    )

    id = db.Column(db.Integer, primary_key=True)
    account = db.Column(db.String(64), nullable=False)  # whose API serves the media
    media_id = db.Column(db.String(200), nullable=False)
    kind = db.Column(db.String(12), nullable=False)
    purpose = db.Column(db.String(40), nullable=False)
    state = db.Column(db.String(10), nullable=False, default=PENDING)
    reason = db.Column(db.String(300))  # the last error; why it failed
    tries = db.Column(db.Integer, nullable=False, default=0)
    path = db.Column(db.String(200))  # under the media dir
    thumbnail_path = db.Column(db.String(200))  # images only
    content_type = db.Column(db.String(50))
    size = db.Column(db.Integer)  # bytes of the stored file
    seconds = db.Column(db.Float)  # a voice's duration
    created_at = db.Column(db.DateTime, nullable=False)
    tried_at = db.Column(db.DateTime)
    stored_at = db.Column(db.DateTime)
    failed_at = db.Column(db.DateTime)

    @property
    def stored(self) -> bool:
        return self.state == STORED

    @property
    def pending(self) -> bool:
        return self.state == PENDING


# ---------------------------------------------------------------------------------- purposes
Hook = Callable[[MediaItem, datetime], None]


@dataclass
class Purpose:
    name: str
    kinds: tuple[str, ...]
    on_stored: list[Hook] = field(default_factory=list)
    on_failed: list[Hook] = field(default_factory=list)


PURPOSES: dict[str, Purpose] = {}


def purpose(name: str, *kinds: str) -> str:
    """Declare what a feature receives media for (kinds default to images); its name, for ``receive``."""
    kinds = kinds or (IMAGE,)
    if not set(kinds) <= set(KINDS):
        raise ValueError(f"unknown media kind in {kinds!r}")
    known = PURPOSES.get(name)
    if known is not None and known.kinds != kinds:
        raise ValueError(f"media purpose {name!r} is declared twice")
    PURPOSES.setdefault(name, Purpose(name, kinds))
    return name


def when_stored(name: str) -> Callable[[Hook], Hook]:
    """``hook(item, now)`` runs once, in the fetch job's transaction, when an item of ``name`` is stored."""
    return _hook(name, "on_stored")


def when_failed(name: str) -> Callable[[Hook], Hook]:
    """``hook(item, now)`` runs once, in the job's or the sweep's transaction, when an item of ``name`` fails."""
    return _hook(name, "on_failed")


def _hook(name: str, which: str) -> Callable[[Hook], Hook]:
    def add(fn: Hook) -> Hook:
        hooks = getattr(PURPOSES[name], which)
        if fn not in hooks:
            hooks.append(fn)
        return fn

    return add


# ---------------------------------------------------------------------------------- receiving
def clean_ids(values, *, code: str, what: str = "照片", least: int = 1, most: int = 9) -> list[str]:
    """The serverIds of a form (``wx.uploadImage``): deduplicated, ``least``…``most`` of them, well formed."""
    ids = list(dict.fromkeys(str(v).strip() for v in (values or []) if str(v).strip()))
    if len(ids) < least:
        raise RuleViolation(f"{code}_missing", f"请至少上传{'一' if least == 1 else least}张{what}。")
    if len(ids) > most:
        raise RuleViolation(f"{code}_too_many", f"{what}最多{most}张。")
    if not all(MEDIA_ID_RE.match(s) for s in ids):
        raise RuleViolation(f"{code}_invalid", f"{what}上传结果不正确，请重新选择{what}。")
    return ids


def receive(account: str, media_id: str, purpose_name: str, *, now: datetime, kind: str | None = None) -> MediaItem:
    """The item of (account, media_id, purpose): a new pending row, fetched after commit, or the one there."""
    declared = PURPOSES.get(purpose_name)
    if declared is None:
        raise ValueError(f"undeclared media purpose {purpose_name!r}")
    kind = kind or declared.kinds[0]
    if kind not in declared.kinds:
        raise ValueError(f"media purpose {purpose_name!r} takes no {kind!r}")
    if not account or not media_id or len(media_id) > 200:
        raise ValueError("a media id and its account are required")
    item = _existing(account, media_id, purpose_name)
    if item is not None:
        return item
    item = MediaItem(account=account, media_id=media_id, kind=kind, purpose=purpose_name, state=PENDING, tries=0,
                     created_at=now)
    if not insert_unique(item):  # a concurrent receive of the same media won
        return _existing(account, media_id, purpose_name)
    after_commit(FETCH, item.id)
    return item


def receive_many(account: str, media_ids, purpose_name: str, *, now: datetime, kind: str | None = None
                 ) -> list[MediaItem]:
    return [receive(account, media_id, purpose_name, now=now, kind=kind) for media_id in media_ids]


def _existing(account: str, media_id: str, purpose_name: str) -> MediaItem | None:
    return MediaItem.query.filter_by(account=account, media_id=media_id, purpose=purpose_name).one_or_none()


# ---------------------------------------------------------------------------------- settling (jobs/media.py)
def start_try(item_id: int, *, now: datetime) -> bool:
    """Count a try of a pending item; False when it is stored or failed already."""
    t = MediaItem.__table__
    result = db.session.execute(update(t).where(t.c.id == item_id, t.c.state == PENDING)
                                .values(tries=t.c.tries + 1, tried_at=now))
    return result.rowcount == 1


def note_error(item_id: int, reason: str) -> None:
    """A passing error: the item stays pending for a retry."""
    t = MediaItem.__table__
    db.session.execute(update(t).where(t.c.id == item_id, t.c.state == PENDING).values(reason=reason[:300]))


def mark_stored(item_id: int, *, path: str, content_type: str, size: int, now: datetime,
                thumbnail_path: str | None = None, seconds: float | None = None) -> bool:
    """Pending → stored (then the purpose's stored hooks, once); False when another run settled it."""
    t = MediaItem.__table__
    result = db.session.execute(update(t).where(t.c.id == item_id, t.c.state == PENDING).values(
        state=STORED, path=path, thumbnail_path=thumbnail_path, content_type=content_type, size=size,
        seconds=seconds, stored_at=now, reason=None))
    return result.rowcount == 1 and _run_hooks(item_id, "on_stored", now)


def mark_failed(item_id: int, reason: str, *, now: datetime) -> bool:
    """Pending → failed for good (then the purpose's failed hooks, once); False when already settled."""
    t = MediaItem.__table__
    result = db.session.execute(update(t).where(t.c.id == item_id, t.c.state == PENDING).values(
        state=FAILED, reason=reason[:300], failed_at=now))
    return result.rowcount == 1 and _run_hooks(item_id, "on_failed", now)


def _run_hooks(item_id: int, which: str, now: datetime) -> bool:
    item = db.session.get(MediaItem, item_id, populate_existing=True)
    declared = PURPOSES.get(item.purpose)
    for hook in getattr(declared, which, ()):
        hook(item, now)
    return True


def due_for_sweep(now: datetime, *, limit: int = 1000) -> list[int]:
    """Pending items whose job was lost (Redis down at commit, retries spent during an outage)."""
    t = MediaItem.__table__
    stale = now - SWEEP_AFTER
    query = (select(t.c.id).where(t.c.state == PENDING, t.c.created_at <= stale, t.c.created_at > now - MEDIA_LIFE,
                                  (t.c.tried_at.is_(None)) | (t.c.tried_at <= stale))
             .order_by(t.c.id).limit(limit))
    return list(db.session.scalars(query))


def fail_expired(now: datetime, *, limit: int = 1000) -> list[int]:
    """Pending items older than WeChat's media life: failed (``expired``), each purpose told."""
    t = MediaItem.__table__
    ids = list(db.session.scalars(select(t.c.id).where(t.c.state == PENDING, t.c.created_at <= now - MEDIA_LIFE)
                                  .order_by(t.c.id).limit(limit)))
    return [item_id for item_id in ids if mark_failed(item_id, EXPIRED, now=now)]

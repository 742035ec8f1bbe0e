"""Follower cards: who is behind an (account, openid), kept a few minutes in the shared store.

A card holds the follower row's id, the bound volunteer's id and when the row was last marked
seen.  A callback from a person seen less than a minute ago reads the card in the same round trip
as its dedup key and touches PostgreSQL only if a handler asks for the rows — the common CLICK then
costs no query at all.  Cards are dropped after any commit that changed a binding of that
(account, openid) (models.volunteer notes the changes), and expire on their own after
``CARD_TTL``, which bounds what a lost invalidation could cost.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError

from models.volunteer import BINDING_CHANGES

log = logging.getLogger(__name__)
CARD_TTL = 300


def key(account: str, openid: str) -> str:
    return f"card:{account}:{openid}"


@dataclass(frozen=True)
class Card:
    follower_id: int
    volunteer_id: int | None
    seen: datetime  # naive UTC, as stored

    def encode(self) -> str:
        return f"{self.follower_id}|{self.volunteer_id or ''}|{self.seen.replace(tzinfo=UTC).timestamp():.0f}"

    @classmethod
    def decode(cls, text: str | None) -> Card | None:
        try:
            follower_id, volunteer_id, seen = (text or "").split("|")
            return cls(int(follower_id), int(volunteer_id) if volunteer_id else None,
                       datetime.fromtimestamp(int(seen), UTC).replace(tzinfo=None))
        except ValueError:
            return None


def put(store, account: str, openid: str, card: Card) -> None:
    try:
        store.set(key(account, openid), card.encode(), CARD_TTL)
    except (RedisError, DBAPIError):
        log.warning("could not keep a follower card")


def drop_changed(notes: dict[str, list]) -> None:
    """After a commit (``models.base.after_commit``): drop the cards of every (account, openid) whose
    binding changed — only once the outermost transaction committed, so that the store's own
    connection never waits for the request's SQLite write lock."""
    changed = {key(account, openid) for account, openid, _volunteer_id in notes[BINDING_CHANGES]}
    try:
        current_app.extensions["wx_store"].delete_many(sorted(changed))
    except (RedisError, DBAPIError):
        log.warning("could not drop follower cards; they expire within %d s", CARD_TTL)

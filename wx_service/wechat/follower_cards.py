"""Follower cards: who is behind an (account, openid), kept in the shared store as long as it stays true.

A card says that the follower row exists and which volunteer is bound there (or none).  The callback
reads it in the same round trip as its dedup key, so a person with a card — seen a second or a week
ago — costs no query unless a handler asks for the rows, and those are then read by (account, openid),
never by what the card says: the card only chooses replies (``incoming.bound``) and spares the lookup.

A card is true until the person's binding, following or admin powers change: the commits that change
them note it (``models.volunteer.BINDING_CHANGES``, ``models.follower.FOLLOW_CHANGES``,
``models.organization.ADMIN_CHANGES``) and ``drop_changed`` drops the cards after the commit, so the
next callback reads the rows again (a callback that itself changed them puts the card it read in
that transaction).  ``CARD_TTL`` only bounds what an invalidation lost with the store could cost, and
the memory of people who stopped coming.

A card made from a binding read just before a binding change must not be put back after the drop:
the drop first counts up a short-lived generation beside the card's key; the callback reads the
generation with the card, and puts its card only while the generation is still the one it read
(``guarded``: the write the callback makes beside its reply).  The last-seen time is not written by the callback either: it is marked in the store
in the same round trip (``models.follower.SEEN_MARKS``) and written for many followers at once by
``jobs.followers``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from models import Binding, db
from models.follower import FOLLOW_CHANGES, SEEN_MARKS
from models.organization import ADMIN_CHANGES
from models.volunteer import BINDING_CHANGES

from ..shared_store import GuardedSet

log = logging.getLogger(__name__)
CARD_TTL = 7 * 24 * 3600
# Longer than a callback may take from reading the card to putting one (WeChat waits 5 s).
GENERATION_TTL = 60

__all__ = ["CARD_TTL", "SEEN_MARKS", "Card", "drop_changed", "generation_key", "guarded", "key"]


def key(account: str, openid: str) -> str:
    return f"card:{account}:{openid}"


def generation_key(card_key: str) -> str:
    """Counted up by each binding change of the card's (account, openid), for a minute."""
    return card_key + ":gen"


@dataclass(frozen=True)
class Card:
    volunteer_id: int | None

    def encode(self) -> str:
        return f"v:{self.volunteer_id or ''}"

    @classmethod
    def decode(cls, text: str | None) -> Card | None:
        """The card, or None for no card (or one of another shape: it is read again from the rows)."""
        if not text or not text.startswith("v:"):
            return None
        try:
            return cls(int(text[2:]) if text[2:] else None)
        except ValueError:
            return None


def guarded(account: str, openid: str, card: Card, generation: str | None) -> GuardedSet:
    """The store's write of the card, to be refused if the binding changed since ``generation`` was read
    with the (missing) card."""
    card_key = key(account, openid)
    return GuardedSet(card_key, card.encode(), CARD_TTL, generation_key(card_key), generation)


def drop_changed(notes: dict[str, list]) -> None:
    """After a commit (``models.base.after_commit``): drop the cards of every (account, openid) whose
    binding or following changed, and of every openid bound to a volunteer whose admin powers changed —
    only once the outermost transaction committed, so that the store's own connection never waits for
    the request's SQLite write lock.  For a binding, the generation first, then the drop: a card read
    before the change and put in between is refused."""
    rebound = sorted({key(account, openid) for account, openid, _volunteer_id in notes.get(BINDING_CHANGES, ())})
    pairs = set(notes.get(FOLLOW_CHANGES, ()))
    admins = {volunteer_id for volunteer_id in notes.get(ADMIN_CHANGES, ()) if volunteer_id}
    if admins:
        with Session(db.engine) as committed:  # the committing session cannot read until its next transaction
            pairs |= set(committed.execute(select(Binding.account, Binding.openid)
                                           .where(Binding.volunteer_id.in_(admins))).tuples())
    changed = sorted({*rebound, *(key(account, openid) for account, openid in pairs)})
    if not changed:
        return
    extensions = current_app.extensions
    # both stores: while Redis is away callbacks keep cards in the database's, read again at the next outage
    for store in dict.fromkeys((extensions["wx_store"], extensions["wx_db_store"])):
        try:
            for card_key in rebound:
                store.incr(generation_key(card_key), GENERATION_TTL)
            store.delete_many(changed)
        except (RedisError, DBAPIError):
            log.warning("could not drop follower cards in one store; they expire within %d s", CARD_TTL)

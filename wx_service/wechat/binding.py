"""Who is behind an (account, openid): the volunteer bound there, if any."""

from __future__ import annotations

from models import Binding

from .. import clock


def bound_volunteer(account: str, openid: str):
    return Binding.volunteer_for(account, openid)


def note_visit(account: str, openid: str) -> None:
    """Remember that this person used this account (delivery falls back to the last one used)."""
    from models import Follower, db

    Follower.touch(account, openid, clock.now())
    db.session.commit()

"""Seeding for the callback benchmark's idle followers (run inside ``common.service_stack``'s seed).

``count`` followers of the demo account who subscribed two hours ago and were last seen then
(``idle_openid(n)``), one in four bound to a volunteer of its own: bulk inserts, as the model functions
would take minutes.  The cards the callback keeps are made by the benchmark itself, by one earlier
callback of each follower, exactly as in production.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert

from bench.attendance_seed import _volunteer
from models import Binding, Follower, db, utcnow

BOUND_EVERY = 4


def idle_openid(n: int) -> str:
    return f"o_idle_{n:07d}"


def seed(count: int) -> None:
    then = utcnow() - timedelta(hours=2)
    for start in range(0, count, 5000):
        stop = min(start + 5000, count)
        db.session.execute(insert(Follower), [
            {"account": "demo", "openid": idle_openid(n), "following": True, "subscribed_at": then,
             "last_seen_at": then} for n in range(start, stop)])
        bound = [n for n in range(start, stop) if n % BOUND_EVERY == 0]
        volunteers = [_volunteer(20_000_000 + n, f"关注者{n}", "x") for n in bound]
        db.session.add_all(volunteers)
        db.session.flush()
        db.session.execute(insert(Binding), [{"account": "demo", "openid": idle_openid(n), "volunteer_id": v.id,
                                              "bound_at": then} for n, v in zip(bound, volunteers, strict=True)])
        db.session.commit()
        db.session.expunge_all()

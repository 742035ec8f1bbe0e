"""志愿者二维码: what the code carries, and how a scan finds the volunteer again.

The payload is an opaque random token, not the volunteer number: it cannot be guessed or forged
from public data, says nothing about the person, and regenerating it invalidates every printed
copy of the old one.
"""

from __future__ import annotations

import secrets

from .volunteer import Volunteer

PREFIX = "JHZY-V1:"


def new_token() -> str:
    return secrets.token_urlsafe(18)


def payload(volunteer: Volunteer) -> str:
    return PREFIX + volunteer.qr_token


def volunteer_for(scanned: str) -> Volunteer | None:
    """The volunteer a scanned payload names, or None for anything else."""
    scanned = (scanned or "").strip()
    if not scanned.startswith(PREFIX):
        return None
    token = scanned[len(PREFIX):]
    if not token or len(token) > 64:
        return None
    return Volunteer.query.filter_by(qr_token=token).one_or_none()


def regenerate(volunteer: Volunteer) -> str:
    volunteer.qr_token = new_token()
    return payload(volunteer)

"""志愿者二维码: what the code carries, and how a scan finds the volunteer again.

The payload is an opaque random token, not the volunteer number: it cannot be guessed or forged
from public data, says nothing about the person, and regenerating it invalidates every printed
copy of the old one.  That static code is the printed card's (服务台 单签 only); the personal centre
shows a signed code that changes every minute (``scanned_volunteer``).
"""

from __future__ import annotations

import secrets

from .base import RuleViolation, db
from .integrity import codes
from .volunteer import Volunteer

PREFIX = "JHZY-V1:"


def new_token() -> str:
    return secrets.token_urlsafe(18)


def payload(volunteer: Volunteer) -> str:
    return PREFIX + volunteer.qr_token


def volunteer_for(scanned: str) -> Volunteer | None:
    """The volunteer a scanned payload names, or None for anything else."""
    token = codes.static_token(scanned, PREFIX, 64)
    return None if token is None else Volunteer.query.filter_by(qr_token=token).one_or_none()


def regenerate(volunteer: Volunteer) -> str:
    volunteer.qr_token = new_token()
    return payload(volunteer)


CARD_ONLY_AT_DESK = "这是志愿者卡上的固定二维码，仅限服务台（单签项目）扫码签到；请志愿者打开“个人中心 - 我的二维码”出示动态二维码。"


def scanned_volunteer(scanned: str, key: bytes, now, *, at_desk: bool = False) -> tuple[Volunteer, bool]:
    """The volunteer a scan names and whether it was the static card code.

    The personal centre shows a code that changes every minute (``integrity.codes.personal_code``); a
    stale one is refused.  The printed card's static code is accepted only ``at_desk`` (服务台, 单签)."""
    scanned = (scanned or "").strip()
    if codes.is_personal_code(scanned):
        volunteer_id = codes.read_personal_code(
            key, scanned, now, lambda vid: db.session.scalar(db.select(Volunteer.qr_token).where(Volunteer.id == vid)))
        return db.session.get(Volunteer, volunteer_id), False
    volunteer = volunteer_for(scanned)
    if volunteer is None:
        raise RuleViolation("qr_invalid", "无法识别该二维码，请扫描志愿者在“个人中心”出示的志愿者二维码。", 400)
    if not at_desk:
        raise RuleViolation("card_only_at_desk", CARD_ONLY_AT_DESK, 409)
    return volunteer, True

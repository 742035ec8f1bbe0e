"""短信验证码: issued for registration and password reset, single use, valid 30 minutes.

At most one per minute and five per hour, per phone and per client address, counted from the
rows themselves so every process agrees; requests for one phone at the same instant are settled by
an atomic claim of the minute in the shared store, and at most ``daily_cap`` a day go to one phone,
counted atomically there too.  Each guess spends one of the code's five tries *before* it is compared, in one
conditional UPDATE, so guesses sent in parallel cannot all be checked against a count read earlier.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlalchemy import or_, update

from . import personal_data
from .base import RuleViolation, db

VALIDITY = timedelta(minutes=30)
#: How long a phone (or a client address) waits before the next code.
RESEND_AFTER = timedelta(minutes=1)
MAX_TRIES = 5
DAY_SECONDS = 24 * 3600
PURPOSES = ("register", "reset", "need")  # need: 群众需求征集 verifies the phone


class SmsCode(db.Model):
    __tablename__ = "sms_code"

    id = db.Column(db.Integer, primary_key=True)
    phone_hash = db.Column(db.String(64), nullable=False, index=True)
    client_ip = db.Column(db.String(64), nullable=False, index=True)
    purpose = db.Column(db.String(16), nullable=False)
    code_hash = db.Column(db.String(64), nullable=False)
    #: guesses compared so far (the right one, which ends the code, included)
    tries = db.Column("wrong_tries", db.Integer, nullable=False, default=0)
    created_at = db.Column(db.DateTime, nullable=False, index=True)
    expires_at = db.Column(db.DateTime, nullable=False)
    used_at = db.Column(db.DateTime)


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def issue(phone: str, purpose: str, client_ip: str, now, *, store, daily_cap: int) -> str:
    """A new code for ``phone``; the caller sends it once the transaction commits.

    ``store`` is the shared store; ``daily_cap`` the codes one phone may receive in 24 hours.
    """
    assert purpose in PURPOSES
    phone_hash = personal_data.lookup_hash(phone)
    recent = SmsCode.query.filter(or_(SmsCode.phone_hash == phone_hash, SmsCode.client_ip == client_ip),
                                  SmsCode.created_at > now - timedelta(hours=1))
    rows = recent.with_entities(SmsCode.phone_hash, SmsCode.client_ip, SmsCode.created_at).all()
    for key, value in (("phone", phone_hash), ("ip", client_ip)):
        mine = [r.created_at for r in rows if (r.phone_hash if key == "phone" else r.client_ip) == value]
        if any(t > now - RESEND_AFTER for t in mine):
            raise RuleViolation("sms_too_soon", "验证码发送过于频繁，请1分钟后再试。", 429)
        if len(mine) >= 5:
            raise RuleViolation("sms_hourly_limit", "验证码发送次数已达每小时上限（5次），请稍后再试。", 429)
    if not store.add(f"sms:minute:{phone_hash}:{int(now.timestamp()) // 60}", "1", 120):
        raise RuleViolation("sms_too_soon", "验证码发送过于频繁，请1分钟后再试。", 429)  # a parallel request won
    if store.incr(f"sms:day:{phone_hash}", DAY_SECONDS) > daily_cap:
        raise RuleViolation("sms_daily_limit", f"该手机号24小时内接收验证码已达上限（{daily_cap}次），请明天再试。", 429)
    code = f"{secrets.randbelow(10**6):06d}"
    db.session.add(SmsCode(phone_hash=phone_hash, client_ip=client_ip, purpose=purpose, code_hash=_digest(code),
                           created_at=now, expires_at=now + VALIDITY))
    return code


def consume(phone: str, purpose: str, code: str, now) -> None:
    """Accept the newest live code once; a wrong, used or expired code is refused.

    The try is spent first (``tries < 5`` decided by the database in the same UPDATE), and only a
    guess that won a try is compared; a wrong guess's try is committed at once.
    """
    row = (SmsCode.query.filter_by(phone_hash=personal_data.lookup_hash(phone), purpose=purpose)
           .filter(SmsCode.used_at.is_(None), SmsCode.expires_at > now)
           .order_by(SmsCode.created_at.desc()).first())
    if row is None or not _spend_try(row.id):
        raise RuleViolation("sms_code_invalid", "验证码已失效，请重新获取。")
    if not hmac.compare_digest(row.code_hash, _digest((code or "").strip())):
        db.session.commit()
        raise RuleViolation("sms_code_wrong", "验证码不正确。")
    claimed = db.session.execute(
        update(SmsCode).where(SmsCode.id == row.id, SmsCode.used_at.is_(None)).values(used_at=now)
    ).rowcount
    if claimed != 1:
        raise RuleViolation("sms_code_invalid", "验证码已失效，请重新获取。")


def _spend_try(code_id: int) -> bool:
    t = SmsCode.__table__
    return db.session.execute(
        update(t).where(t.c.id == code_id, t.c.used_at.is_(None), t.c.wrong_tries < MAX_TRIES)
        .values(wrong_tries=t.c.wrong_tries + 1)
    ).rowcount == 1

"""Signed, short-lived codes: the on-site check-in code (现场签到码) and the dynamic personal QR code.

A screenshot passed to a friend is the cheapest way to buy a punch, so both codes expire:

- The on-site code changes every ``ONSITE_WINDOW`` seconds (30): ``JHZY-C1:<project>:<day>:<slot>:<mac>``,
  the MAC (HMAC-SHA256, truncated) over the project, the local day and the slot number.  It is good for
  its own window plus ``ONSITE_LATENCY`` (the time from the scan to the punch on a slow network).
- The personal QR (个人中心 二维码) is minted for a minute: ``JHZY-D1:<volunteer>:<slot>:<mac>``, good for
  its minute plus ``PERSONAL_LATENCY``.  The printed card keeps the static ``JHZY-V1:`` token
  (``models.volunteer_qr``), accepted only at a desk for 单签.

The key is derived from the app's secret (``derive_key``); rules take it, with ``now``, as plain values.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import date, datetime, timedelta

from ..base import RuleViolation

ONSITE_PREFIX, PERSONAL_PREFIX = "JHZY-C1:", "JHZY-D1:"
ONSITE_WINDOW, ONSITE_LATENCY = 30, 15      # seconds
PERSONAL_WINDOW, PERSONAL_LATENCY = 60, 30  # seconds
CLOCK_AHEAD = 5  # seconds a code may come from a clock slightly ahead (two hosts)
EPOCH = datetime(1970, 1, 1)
ONSITE_PURPOSE, PERSONAL_PURPOSE = "onsite-code", "personal-qr"  # for ``derive_key``


def derive_key(secret: str | bytes, purpose: str) -> bytes:
    """A key of its own for each purpose, derived from the app secret (never the secret itself)."""
    secret = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(secret, f"wx_service/integrity/{purpose}".encode(), hashlib.sha256).digest()


def _mac(key: bytes, *parts) -> str:
    return hmac.new(key, "|".join(str(p) for p in parts).encode(), hashlib.sha256).hexdigest()[:20]


def _slot(now: datetime, window: int) -> int:
    return int((now - EPOCH).total_seconds()) // window


def _slot_start(slot: int, window: int) -> datetime:
    return EPOCH + timedelta(seconds=slot * window)


def seconds_left(now: datetime, window: int) -> int:
    """Seconds until the code minted at ``now`` rotates."""
    return window - int((now - EPOCH).total_seconds()) % window


def _fresh(slot: int, window: int, latency: int, now: datetime) -> bool:
    start = _slot_start(slot, window)
    return start - timedelta(seconds=CLOCK_AHEAD) <= now <= start + timedelta(seconds=window + latency)


# --------------------------------------------------------------------------- static codes
def static_token(scanned: str | None, prefix: str, longest: int) -> str | None:
    """The token of a static payload ``<prefix><token>`` (the printed 志愿者卡, a 礼遇 pickup code), or None for
    anything else: another prefix, no token, or a token longer than ``longest`` (no row can hold it)."""
    scanned = (scanned or "").strip()
    if not scanned.startswith(prefix):
        return None
    token = scanned[len(prefix):]
    return token if token and len(token) <= longest else None


# ---------------------------------------------------------------------------- on-site code
def onsite_code(key: bytes, project_id: int, day: date, now: datetime) -> str:
    """The on-site code of ``project_id`` for the local ``day``, as shown at ``now``."""
    slot = _slot(now, ONSITE_WINDOW)
    stamp = day.strftime("%Y%m%d")
    return f"{ONSITE_PREFIX}{project_id}:{stamp}:{slot}:{_mac(key, 'C1', project_id, stamp, slot)}"


def is_onsite_code(text: str | None) -> bool:
    return bool(text) and text.strip().startswith(ONSITE_PREFIX)


def check_onsite_code(key: bytes, text: str | None, project_id: int, day: date, now: datetime) -> datetime:
    """The start of the code's window if ``text`` is this project's code of ``day`` and still fresh
    at ``now``; else a ``RuleViolation`` that says what is wrong (stale screenshot, other project …)."""
    if not text:
        raise RuleViolation("onsite_code_required", "该项目签到/签退需扫描现场签到码，请点“扫码签到”扫描管理员出示的二维码。", 409)
    parts = text.strip()[len(ONSITE_PREFIX):].split(":") if is_onsite_code(text) else []
    if len(parts) != 4 or not all(p.isdigit() for p in parts[:3]) or len(parts[2]) > 12:
        raise RuleViolation("onsite_code_invalid", "这不是本系统的现场签到码，请扫描管理员出示的签到二维码。", 400)
    code_project, stamp, slot_text, mac = parts
    slot = int(slot_text)
    if not hmac.compare_digest(mac, _mac(key, "C1", int(code_project), stamp, slot)):
        raise RuleViolation("onsite_code_invalid", "现场签到码无效，请扫描管理员出示的签到二维码。", 400)
    if int(code_project) != project_id:
        raise RuleViolation("onsite_code_other_project", "这是其他项目的现场签到码，请扫描本项目的签到二维码。", 409)
    if stamp != day.strftime("%Y%m%d"):
        raise RuleViolation("onsite_code_other_day", "这不是今天的现场签到码，请扫描管理员现场出示的二维码。", 409)
    if not _fresh(slot, ONSITE_WINDOW, ONSITE_LATENCY, now):
        raise RuleViolation("onsite_code_stale", f"现场签到码已过期（每{ONSITE_WINDOW}秒更新一次，截图无效），"
                                                 "请扫描管理员手机或屏幕上正在显示的二维码。", 409)
    return _slot_start(slot, ONSITE_WINDOW)


# --------------------------------------------------------------------------- personal code
def personal_code(key: bytes, volunteer_id: int, qr_token: str, now: datetime) -> str:
    """The personal-centre QR payload of a volunteer at ``now`` (regenerating ``qr_token`` voids it too)."""
    slot = _slot(now, PERSONAL_WINDOW)
    return f"{PERSONAL_PREFIX}{volunteer_id}:{slot}:{_mac(key, 'D1', volunteer_id, qr_token, slot)}"


def is_personal_code(text: str | None) -> bool:
    return bool(text) and text.strip().startswith(PERSONAL_PREFIX)


def read_personal_code(key: bytes, text: str, now: datetime, token_of) -> int:
    """The volunteer id a fresh personal code names; ``token_of(volunteer_id)`` gives their qr_token (or None).

    A stale one (a screenshot) is refused with a message the admin can say aloud."""
    parts = text.strip()[len(PERSONAL_PREFIX):].split(":")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit() or len(parts[0]) > 12 or len(parts[1]) > 12:
        raise RuleViolation("qr_invalid", "无法识别该二维码，请扫描志愿者在“个人中心”出示的志愿者二维码。", 400)
    volunteer_id, slot = int(parts[0]), int(parts[1])
    token = token_of(volunteer_id)
    if token is None or not hmac.compare_digest(parts[2], _mac(key, "D1", volunteer_id, token, slot)):
        raise RuleViolation("qr_invalid", "二维码无效或已重新生成，请志愿者打开“个人中心 - 我的二维码”重新出示。", 400)
    if not _fresh(slot, PERSONAL_WINDOW, PERSONAL_LATENCY, now):
        raise RuleViolation("qr_stale", f"二维码已过期（每{PERSONAL_WINDOW}秒更新，截图无效），"
                                        "请志愿者打开“个人中心 - 我的二维码”出示当前的二维码。", 409)
    return volunteer_id

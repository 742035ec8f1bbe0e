"""What a punch carries beyond its position, read from the request: the on-site code scanned with it,
the age of the fix, the keys that sign the codes, and "from where" (for the audit of admin actions)."""

from __future__ import annotations

from flask import current_app, request

from models.attendance import punches as att_punches
from models.integrity import audit_log, codes

ONSITE, PERSONAL = codes.ONSITE_PURPOSE, codes.PERSONAL_PURPOSE


def key(purpose: str) -> bytes:
    """The key of one purpose, derived from the app's secret key."""
    return codes.derive_key(current_app.secret_key, purpose)


def origin(channel: str = "page") -> audit_log.Origin:
    """From where: the client's address (behind the proxy, ProxyFix has set it) and user agent."""
    return audit_log.Origin(ip=request.remote_addr or "", user_agent=request.user_agent.string or "", channel=channel)


def fix_age(value) -> float | None:
    """The fix's age in seconds as the page measured it (nonsense is dropped, not refused)."""
    try:
        age = float(value)
    except (TypeError, ValueError):
        return None
    return round(age, 1) if 0 <= age < 86400 else None


def extras(data: dict, **more) -> att_punches.Extras:
    return att_punches.Extras(fix_age_s=fix_age(data.get("fix_age")), onsite_code=(data.get("onsite_code") or None),
                              code_key=key(ONSITE), **more)

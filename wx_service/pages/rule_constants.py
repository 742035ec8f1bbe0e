"""The rule constants the pages' texts state (签到30分钟后可签退, 补签7天内, 不超过2MB …), given to every
template (and macro) as ``rules`` so that a text follows its rule instead of restating the number."""

from __future__ import annotations

from models import attendance as att
from models import identity, notification, sms_code
from models import project as pr
from models.attendance import objection

from . import bp
from .me import AVATAR_MAX_BYTES
from .orgs import LOGO_MAX_BYTES

_MB = 1024 * 1024

RULES = {
    "sign_out_after_minutes": int(att.MIN_CYCLE.total_seconds() // 60),
    "makeup_days": att.MAKEUP_DAYS,
    "publicity_days": att.PUBLICITY_DAYS,
    "max_temp_admins": pr.MAX_TEMP_ADMINS,
    "short_name_max": pr.SHORT_NAME_MAX,
    "logo_mb": LOGO_MAX_BYTES // _MB,
    "avatar_mb": AVATAR_MAX_BYTES // _MB,
    "reply_window_hours": int(notification.CUSTOM_WINDOW.total_seconds() // 3600),
    "sms_valid_minutes": int(sms_code.VALIDITY.total_seconds() // 60),
    "sms_day_hours": sms_code.DAY_SECONDS // 3600,
    "sms_resend_minutes": int(sms_code.RESEND_AFTER.total_seconds() // 60),
    "objection_reason_min": objection.REASON_MIN,
    "objection_reason_max": objection.REASON_MAX,
    "password_min": identity.PASSWORD_MIN_LENGTH,
    "adult_age": identity.ADULT_AGE,
}

# A template global rather than a context processor: macros imported without context see it too.
bp.add_app_template_global(RULES, "rules")

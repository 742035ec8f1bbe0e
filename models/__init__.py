"""SQLAlchemy models and the domain rules that keep them valid (every rule of the manual, once)."""

from . import accounts, identity, personal_data, sms_code, volunteer_qr
from .audit import PhoneView
from .base import RuleViolation, db, utcnow
from .follower import Follower
from .notification import Notification, notify, notify_many
from .shared_value import SharedValue
from .volunteer import Binding, Volunteer, VolunteerNumber

__all__ = [
    "accounts", "identity", "personal_data", "sms_code", "volunteer_qr",
    "Binding", "Follower", "Notification", "PhoneView", "RuleViolation", "SharedValue", "Volunteer",
    "VolunteerNumber", "db", "notify", "notify_many", "utcnow",
]

"""SQLAlchemy models and the domain rules that keep them valid (every rule of the manual, once)."""

from .base import RuleViolation, db, utcnow
from .follower import Follower
from .notification import Notification, notify, notify_many
from .shared_value import SharedValue
from .volunteer import Binding, Volunteer, VolunteerNumber

__all__ = ["Binding", "Follower", "Notification", "RuleViolation", "SharedValue", "Volunteer", "VolunteerNumber",
           "db", "notify", "notify_many", "utcnow"]

"""SQLAlchemy models and the domain rules that keep them valid (every rule of the manual, once)."""

from .base import RuleViolation, db, utcnow
from .follower import Follower
from .shared_value import SharedValue
from .volunteer import Binding, Volunteer, VolunteerNumber

__all__ = ["Binding", "Follower", "RuleViolation", "SharedValue", "Volunteer", "VolunteerNumber", "db", "utcnow"]

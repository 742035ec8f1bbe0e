"""SQLAlchemy models and the domain rules that keep them valid (every rule of the manual, once)."""

from . import permissions
from .base import RuleViolation, db, utcnow
from .follower import Follower
from .membership import MemberGroup, MemberGroupMember, Membership
from .organization import OrgAdmin, Organization, PendingOrgChange
from .shared_value import SharedValue
from .volunteer import Binding, Volunteer, VolunteerNumber

__all__ = [
    "Binding", "Follower", "MemberGroup", "MemberGroupMember", "Membership", "OrgAdmin", "Organization",
    "PendingOrgChange", "RuleViolation", "SharedValue", "Volunteer", "VolunteerNumber", "db", "permissions",
    "utcnow",
]

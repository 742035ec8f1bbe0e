"""SQLAlchemy models and the domain rules that keep them valid (every rule of the manual, once)."""

from . import accounts, identity, permissions, personal_data, sms_code, volunteer_qr
from .audit import PhoneView
from .base import RuleViolation, db, utcnow
from .follower import Follower
from .membership import MemberGroup, MemberGroupMember, Membership
from .notification import Notification, notify, notify_many
from .organization import OrgAdmin, Organization, PendingOrgChange
from .project import Project, ProjectComment, ProjectFollow, ProjectSite, ProjectTempAdmin
from .shared_value import SharedValue
from .signup import ActivityReminder, Signup
from .volunteer import Binding, Volunteer, VolunteerNumber

__all__ = [
    "accounts", "identity", "permissions", "personal_data", "sms_code", "volunteer_qr",
    "Binding", "Follower", "MemberGroup", "MemberGroupMember", "Membership", "Notification", "OrgAdmin",
    "Organization", "PendingOrgChange", "PhoneView", "Project", "ProjectComment", "ProjectFollow", "ProjectSite",
    "ProjectTempAdmin", "RuleViolation", "SharedValue", "Signup", "ActivityReminder", "Volunteer",
    "VolunteerNumber", "db", "notify", "notify_many", "utcnow",
]

"""SQLAlchemy models and the domain rules that keep them valid (every rule of the manual, once)."""

from . import (
    accounts,
    attendance,
    identity,
    media,
    permissions,
    personal_data,
    practice,
    records,
    regions,
    sms_code,
    volunteer_qr,
    wish,
)
from .articles import Article
from .ask_back import AttendanceAsk, ProjectMessage
from .attendance import Cycle, MakeupRequest, Objection, Punch, Removal
from .audit import PhoneView
from .base import RuleViolation, db, utcnow
from .closure import ClosurePhoto, ProjectClosure
from .contact import ContactMessage, ContactReply
from .exports import Export
from .follower import Follower
from .gifts import Gift, Redemption
from .help_request import HelpRequest, VoiceNote
from .help_seeker import HelpSeeker, Pairing, SeekerBinding
from .integrity.tables import AdminAction, PunchFlag
from .media import MediaItem
from .membership import MemberGroup, MemberGroupMember, Membership
from .notification import Notification, notify, notify_many
from .organization import OrgAdmin, Organization, PendingOrgChange
from .photos import ProjectPhoto
from .points import PointEntry
from .project import Project, ProjectComment, ProjectFollow, ProjectSite, ProjectTempAdmin
from .shared_value import SharedValue
from .signup import ActivityReminder, Signup
from .stats.tables import OrgChain, OrgPeriod, VolunteerPeriod
from .volunteer import Binding, Volunteer, VolunteerNumber
from .wish import Wish, WishLog, WishPhoto

__all__ = [
    "attendance", "accounts", "identity", "media", "permissions", "personal_data", "practice", "records", "regions", "sms_code", "volunteer_qr", "wish",
    "ActivityReminder", "Binding", "ContactMessage", "ContactReply", "Cycle", "MakeupRequest", "Objection", "PointEntry", "Punch", "Removal", "Follower", "HelpRequest", "HelpSeeker", "MediaItem", "MemberGroup", "MemberGroupMember",
    "Membership", "Notification", "OrgAdmin", "Organization", "Pairing", "PendingOrgChange", "PhoneView", "Project",
    "ProjectComment", "ProjectFollow", "ProjectSite", "ProjectTempAdmin", "RuleViolation", "SeekerBinding",
    "SharedValue", "Signup", "Volunteer", "VolunteerNumber", "VoiceNote", "Wish", "WishLog", "WishPhoto", "db",
    "notify", "notify_many", "utcnow",
    "AdminAction", "PunchFlag",
    "ClosurePhoto", "Export", "OrgChain", "OrgPeriod", "ProjectClosure", "VolunteerPeriod",
    "Article", "AttendanceAsk", "Gift", "ProjectMessage", "ProjectPhoto", "Redemption",
]

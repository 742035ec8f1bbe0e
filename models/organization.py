"""志愿服务组织: the five-level tree, its admins (组织管理员) and reviewed changes (待审变更组织).

The tree keeps a materialised path: the root is ``/1/``, a district below it ``/1/5/``, a street
station ``/1/5/17/``.  "This org and everything below it" is one indexed ``path LIKE '/1/5/%'``
(``subtree_of``); on PostgreSQL the index uses ``varchar_pattern_ops`` so the prefix match is an
index range scan whatever the database collation.  A parent is never changed, so paths never move.

The rules that change the tree (register, review, edit, admins, 注销) are in ``models.org_rules``;
this module holds the tables, their states and the plain reads below them.  Whoever gains or loses an admin power is noted
for after the commit (``note_admin_change``); ``jobs.admin_tags`` then submits the job that moves
the WeChat admin user tag.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .base import RuleViolation, after_commit, db, label_of, utcnow
from .personal_data import mask_phone
from .volunteer import Volunteer

MAX_LEVEL = 5

#: 组织类型 (manual part 1 §二.2).
ORG_TYPES = ("民间公益", "专业服务", "机关事业单位", "企业", "学校", "学雷锋志愿服务基地")

#: 服务领域.
SERVICE_DOMAINS = ("社区服务", "扶贫济困", "助老助残", "关爱儿童", "环境保护", "文化教育", "医疗卫生",
                   "法律服务", "应急救援", "大型赛会", "文明实践", "其他")

#: 组织所在地区: the city and its districts / counties.
REGIONS = ("南通市", "崇川区", "通州区", "海门区", "如东县", "启东市", "如皋市", "海安市",
           "南通经济技术开发区", "苏锡通科技产业园区", "通州湾示范区")

PENDING, ACTIVE, REJECTED = "pending", "active", "rejected"
STATUS_LABELS = {PENDING: "待审核", ACTIVE: "已审核", REJECTED: "未通过"}

#: Changed by the org's own admin, these wait for the superior's approval (待审变更组织);
#: the others apply at once.  A superior admin's edit of a sub-org applies everything at once.
REVIEWED_FIELDS = ("name", "org_type", "region", "address")
FREE_FIELDS = ("service_domains", "latitude", "longitude", "intro", "logo_path", "contact_name",
               "contact_phone")
EDITABLE_FIELDS = REVIEWED_FIELDS + FREE_FIELDS

ADMIN_CHANGES = "wx_admin_tag_changes"
ADMIN_ORGS = "wx_admin_orgs"


def note_admin_change(*volunteer_ids: int) -> None:
    """Note whose admin power changed, for after the commit (see ``jobs.admin_tags``)."""
    after_commit(ADMIN_CHANGES, *(v for v in volunteer_ids if v))
    _forget_admin_orgs(db.session)


class Organization(db.Model):
    """志愿服务组织: one node of the five-level tree."""

    __tablename__ = "organization"
    __table_args__ = (
        db.Index("ix_organization_path", "path", postgresql_ops={"path": "varchar_pattern_ops"}),
        db.Index("ix_organization_status_level", "status", "level"),
        db.CheckConstraint("level BETWEEN 1 AND 5", name="level"),
    )

    id = db.Column(db.Integer, primary_key=True)
    parent_id = db.Column(db.Integer, db.ForeignKey("organization.id"), index=True)
    level = db.Column(db.Integer, nullable=False)
    path = db.Column(db.String(120), nullable=False, default="")
    name = db.Column(db.String(100), nullable=False)
    org_type = db.Column(db.String(20), nullable=False)
    service_domains_text = db.Column(db.String(300), nullable=False, default="")  # "|社区服务|助老助残|"
    region = db.Column(db.String(30), nullable=False)
    address = db.Column(db.String(200), nullable=False, default="")
    latitude = db.Column(db.Float)  # GCJ-02
    longitude = db.Column(db.Float)
    intro = db.Column(db.Text, nullable=False, default="")
    logo_path = db.Column(db.String(200))
    contact_name = db.Column(db.String(50), nullable=False, default="")
    contact_phone = db.Column(db.String(30), nullable=False, default="")
    status = db.Column(db.String(10), nullable=False, default=PENDING)
    review_exempt = db.Column(db.Boolean, nullable=False, default=False)  # 活动免审
    created_by_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="SET NULL"))
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    reviewed_at = db.Column(db.DateTime)
    reviewed_by_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="SET NULL"))
    deregistered_at = db.Column(db.DateTime)

    parent = db.relationship("Organization", remote_side=[id], lazy="joined", innerjoin=False)

    @property
    def service_domains(self) -> list[str]:
        return [d for d in self.service_domains_text.split("|") if d]

    @service_domains.setter
    def service_domains(self, domains) -> None:
        self.service_domains_text = ("|" + "|".join(domains) + "|") if domains else ""

    status_label = label_of("status", STATUS_LABELS)

    @property
    def contact_phone_masked(self) -> str:
        return mask_phone(self.contact_phone) if self.contact_phone else ""

    @property
    def ancestor_ids(self) -> list[int]:
        """Ids from the root down to this org, itself included."""
        return [int(p) for p in self.path.strip("/").split("/") if p]

    def is_within(self, other: Organization) -> bool:
        """True if this org is ``other`` or below it."""
        return self.path.startswith(other.path)

    @property
    def admins(self) -> list[Volunteer]:
        return (Volunteer.query.join(OrgAdmin, OrgAdmin.volunteer_id == Volunteer.id)
                .filter(OrgAdmin.org_id == self.id).order_by(OrgAdmin.id).all())


class OrgAdmin(db.Model):
    """组织管理员: a volunteer is admin of at most one org (the unique constraint says so)."""

    __tablename__ = "org_admin"

    id = db.Column(db.Integer, primary_key=True)
    volunteer_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="CASCADE"), nullable=False,
                             unique=True)
    org_id = db.Column(db.Integer, db.ForeignKey("organization.id", ondelete="CASCADE"), nullable=False,
                       index=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)


class PendingOrgChange(db.Model):
    """待审变更组织: reviewed fields an org's admin changed; the old values stay until approved."""

    __tablename__ = "pending_org_change"

    id = db.Column(db.Integer, primary_key=True)
    org_id = db.Column(db.Integer, db.ForeignKey("organization.id", ondelete="CASCADE"), nullable=False,
                       index=True)
    changes = db.Column(db.JSON, nullable=False)  # {field: new value}
    previous = db.Column(db.JSON, nullable=False)  # {field: value when submitted}
    state = db.Column(db.String(10), nullable=False, default=PENDING)  # pending / approved / rejected
    submitted_by_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="SET NULL"))
    submitted_at = db.Column(db.DateTime, nullable=False)
    decided_by_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="SET NULL"))
    decided_at = db.Column(db.DateTime)

    org = db.relationship(Organization)


# ---------------------------------------------------------------------------------- queries
def subtree_of(org: Organization, include_self: bool = True):
    """The SQL condition "this org and everything below" (one indexed prefix match)."""
    condition = Organization.path.like(org.path + "%")
    if not include_self:
        condition = condition & (Organization.id != org.id)
    return condition


def subtree_ids(org: Organization, include_self: bool = True):
    """A ``SELECT organization.id`` of the subtree, to use inside other queries."""
    return select(Organization.id).where(subtree_of(org, include_self))


def get_org(org_id) -> Organization:
    org = db.session.get(Organization, org_id) if org_id else None
    if org is None:
        raise RuleViolation("org_not_found", "组织不存在。", 404)
    return org


def admin_org_of(volunteer_id: int | None) -> Organization | None:
    """The org this volunteer administers, whatever its status.

    One admin action asks this several times (the handler's gate, the list of projects, each
    permission check); the answer is kept in the session until the next flush, savepoint end or
    transaction end, or until an admin power changes (``note_admin_change``), so it is read once.
    The org itself is the session's row: a change of its status is seen at once.
    """
    if not volunteer_id:
        return None
    known = db.session.info.get(ADMIN_ORGS, {})
    if volunteer_id in known:
        return known[volunteer_id]
    org = (Organization.query.join(OrgAdmin, OrgAdmin.org_id == Organization.id)
           .filter(OrgAdmin.volunteer_id == volunteer_id).one_or_none())
    db.session.info.setdefault(ADMIN_ORGS, {})[volunteer_id] = org  # after the query: its autoflush forgets
    return org


def _forget_admin_orgs(session) -> None:
    session.info.pop(ADMIN_ORGS, None)


@db.event.listens_for(Session, "after_transaction_end")
def _transaction_ended(session, _transaction) -> None:
    """Any end of a flush, a savepoint or the transaction, committed or rolled back, drops the
    remembered admin orgs: an answer never outlives the rows it was read from."""
    _forget_admin_orgs(session)


def is_active_admin(volunteer_id: int) -> bool:
    """True when the volunteer is admin of an org that passed review (the admin menu follows this)."""
    org = admin_org_of(volunteer_id)
    return org is not None and org.status == ACTIVE


def search_orgs(*, region=None, domain=None, org_type=None, level=None, keyword=None, page=1, per_page=20):
    """找组织: active orgs matching the filters, by level then id, paginated."""
    query = select(Organization).where(Organization.status == ACTIVE)
    if region:
        query = query.where(Organization.region == region)
    if domain:
        query = query.where(Organization.service_domains_text.like(f"%|{_escape_like(domain)}|%", escape="\\"))
    if org_type:
        query = query.where(Organization.org_type == org_type)
    if level:
        query = query.where(Organization.level == int(level))
    if keyword:
        query = query.where(Organization.name.like(f"%{_escape_like(keyword.strip())}%", escape="\\"))
    query = query.order_by(Organization.level, Organization.id)
    return db.paginate(query, page=max(int(page or 1), 1), per_page=per_page, error_out=False)


def suborgs(admin_org: Organization, *, status: str | None = None) -> list[Organization]:
    """子组织: every org strictly below ``admin_org`` (optionally of one status), tree order."""
    query = Organization.query.filter(subtree_of(admin_org, include_self=False))
    if status:
        query = query.filter(Organization.status == status)
    return query.order_by(Organization.path).all()


def pending_changes_below(admin_org: Organization) -> list[PendingOrgChange]:
    """待审变更组织 that this org's admins may decide."""
    return (PendingOrgChange.query.join(Organization, Organization.id == PendingOrgChange.org_id)
            .filter(subtree_of(admin_org, include_self=False), PendingOrgChange.state == PENDING)
            .order_by(PendingOrgChange.id).all())


def pending_change_of(org_id: int) -> PendingOrgChange | None:
    return PendingOrgChange.query.filter_by(org_id=org_id, state=PENDING).one_or_none()


def parent_choices() -> list[Organization]:
    """Orgs a new org may be registered under: active, above level 5."""
    return (Organization.query.filter(Organization.status == ACTIVE, Organization.level < MAX_LEVEL)
            .order_by(Organization.path).all())


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

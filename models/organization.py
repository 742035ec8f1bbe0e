"""志愿服务组织: the five-level tree, its admins (组织管理员) and reviewed changes (待审变更组织).

The tree keeps a materialised path: the root is ``/1/``, a district below it ``/1/5/``, a street
station ``/1/5/17/``.  "This org and everything below it" is one indexed ``path LIKE '/1/5/%'``
(``subtree_of``); on PostgreSQL the index uses ``varchar_pattern_ops`` so the prefix match is an
index range scan whatever the database collation.  A parent is never changed, so paths never move.

Every rule here takes plain values and ``now`` and raises ``RuleViolation``; none commits — the
caller (a page, the CLI, the seed) commits once.  Whoever gains or loses an admin power is noted
in the session (``note_admin_change``); ``jobs.admin_tags`` turns the note into a job at commit
that moves the WeChat admin user tag.
"""

from __future__ import annotations

import secrets
import string

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import permissions
from .base import RuleViolation, db, utcnow
from .notification import notify
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
    """Remember, in this transaction, whose admin power changed (see ``jobs.admin_tags``)."""
    db.session.info.setdefault(ADMIN_CHANGES, set()).update(v for v in volunteer_ids if v)
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

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def contact_phone_masked(self) -> str:
        from .personal_data import mask_phone

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


# ---------------------------------------------------------------------------- field checks
def check_name(name: str) -> None:
    """组织名称: 2 to 50 characters."""
    if not 2 <= len(name or "") <= 50:
        raise RuleViolation("org_name_invalid", "组织名称应为2至50个字。")


def check_contact_phone(phone: str) -> None:
    """联系电话: digits, dashes, plus signs and blanks only."""
    if not all(c in string.digits + "-+ " for c in phone):
        raise RuleViolation("org_phone_invalid", "联系电话不正确。")


_LABELS = {"name": "组织名称", "org_type": "组织类型", "region": "所在地区", "address": "地址",
           "intro": "组织简介", "contact_name": "联系人", "contact_phone": "联系电话", "logo_path": "LOGO",
           "service_domains": "服务领域", "latitude": "纬度", "longitude": "经度"}
FIELD_LABELS = _LABELS


def _apply(org: Organization, fields: dict) -> None:
    for key, value in fields.items():
        setattr(org, key, value)


def _check_name_free(name: str, except_id: int | None = None) -> None:
    query = Organization.query.filter(Organization.name == name, Organization.status != REJECTED)
    if except_id:
        query = query.filter(Organization.id != except_id)
    if db.session.query(query.exists()).scalar():
        raise RuleViolation("org_name_taken", "已有同名的组织。")


def _insert(parent: Organization | None, fields: dict, *, status: str, created_by: int | None, now):
    org = Organization(parent_id=parent.id if parent else None, level=parent.level + 1 if parent else 1,
                       status=status, created_by_id=created_by, created_at=now, path="")
    _apply(org, fields)
    db.session.add(org)
    db.session.flush()
    org.path = (parent.path if parent else "/") + f"{org.id}/"
    db.session.flush()
    return org


def _make_admin(volunteer_id: int, org_id: int, now) -> None:
    """Insert the OrgAdmin row; the unique constraint settles two attempts at once."""
    try:
        with db.session.begin_nested():
            db.session.add(OrgAdmin(volunteer_id=volunteer_id, org_id=org_id, created_at=now))
    except IntegrityError:
        raise RuleViolation("already_admin", "该志愿者已是其他组织的管理员，一个志愿者只能管理一个组织。") from None
    note_admin_change(volunteer_id)


def _check_not_admin(volunteer_id: int) -> None:
    if admin_org_of(volunteer_id) is not None:
        raise RuleViolation("already_admin", "该志愿者已是其他组织的管理员，一个志愿者只能管理一个组织。")


# ------------------------------------------------------------------------------------ rules
def create_root(name: str, admin: Volunteer, *, now, **fields) -> Organization:
    """Level 1 (江海志愿者服务总站) and its first admin, for a new deployment."""
    if Organization.query.filter(Organization.level == 1).first() is not None:
        raise RuleViolation("root_exists", "一级组织已经存在。")
    _check_not_admin(admin.id)
    name = (name or "").strip()
    check_name(name)
    fields = {"org_type": "机关事业单位", "region": "南通市", **fields, "name": name}
    org = _insert(None, fields, status=ACTIVE, created_by=admin.id, now=now)
    org.reviewed_at = now
    _make_admin(admin.id, org.id, now)
    return org


def register_org(actor: Volunteer, parent_id: int, fields: dict, *, now) -> Organization:
    """志愿组织注册: a volunteer who is not an admin registers an org under ``parent_id``.

    The org waits for the parent's admins (待审申请组织); the registrant is its admin from now on.
    ``fields`` hold typed values, each already checked alone (the pages parse the form with their field spec).
    """
    _check_not_admin(actor.id)
    parent = get_org(parent_id)
    if parent.status != ACTIVE:
        raise RuleViolation("parent_not_active", "所选归属组织尚未通过审核。")
    if parent.level >= MAX_LEVEL:
        raise RuleViolation("too_deep", "五级组织下不能再注册下级组织。")
    _check_name_free(fields["name"])
    org = _insert(parent, fields, status=PENDING, created_by=actor.id, now=now)
    _make_admin(actor.id, org.id, now)
    return org


def found_suborg(actor: Volunteer, parent_id: int, fields: dict, *, now) -> Organization:
    """A superior admin sets up an org below their own directly (active, no admin yet).

    Used to build a deployment's tree (the demo seed); admins are then added with ``add_admin``.
    """
    parent = get_org(parent_id)
    permissions.require(actor, "found_suborg", parent, now=now)
    if parent.level >= MAX_LEVEL:
        raise RuleViolation("too_deep", "五级组织下不能再设立下级组织。")
    _check_name_free(fields["name"])
    org = _insert(parent, fields, status=ACTIVE, created_by=actor.id, now=now)
    org.reviewed_at, org.reviewed_by_id = now, actor.id
    return org


def review_org(actor: Volunteer, org_id: int, approve: bool, *, now) -> Organization:
    """审核待审申请组织: a superior admin approves or rejects a pending org.

    Rejecting frees its admins (they may register again).  Settled by a conditional UPDATE, so two
    admins deciding at once cannot both win.
    """
    org = get_org(org_id)
    permissions.require(actor, "review_org", org, now=now)
    admin_ids = [a.id for a in org.admins]
    result = db.session.execute(
        update(Organization).where(Organization.id == org.id, Organization.status == PENDING)
        .values(status=ACTIVE if approve else REJECTED, reviewed_at=now, reviewed_by_id=actor.id)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise RuleViolation("org_not_pending", "该组织不在待审核状态，可能已被其他管理员处理。", 409)
    if not approve:
        OrgAdmin.query.filter_by(org_id=org.id).delete(synchronize_session=False)
    db.session.expire(org)
    note_admin_change(*admin_ids)
    _tell_admins(org, admin_ids, "通过" if approve else "未通过",
                 "组织已通过审核" if approve else "组织注册申请未通过", f"org:{org.id}:{now.isoformat()}")
    return org


def _tell_admins(org, admin_ids, result: str, reason: str, key: str) -> None:
    for volunteer_id in admin_ids:
        notify(volunteer_id, "org_review_result", {"org": org.name, "result": result, "reason": reason},
               link=f"/m/orgs/{org.id}", cause=f"organization:{org.id}", key=f"org_review:{key}:{volunteer_id}")


def edit_org(actor: Volunteer, org_id: int, fields: dict, *, now) -> PendingOrgChange | None:
    """组织信息修改.

    A superior admin (修改子组织) and the admin of an org not yet approved or with no parent change
    everything at once.  The org's own admin changes the free fields at once, while the reviewed
    fields (name, type, region, address) become one ``PendingOrgChange`` (a newer submission
    replaces the waiting one) and the old values stay in force until it is approved.
    """
    org = get_org(org_id)
    permissions.require(actor, "edit_org", org, now=now)
    fields = {k: v for k, v in fields.items() if getattr(org, k) != v}
    if "name" in fields:
        _check_name_free(fields["name"], except_id=org.id)
    own = admin_org_of(actor.id)
    direct = own.id != org.id or org.parent_id is None or org.status != ACTIVE
    reviewed = {} if direct else {k: fields.pop(k) for k in REVIEWED_FIELDS if k in fields}
    _apply(org, fields)
    if not reviewed:
        return None
    change = pending_change_of(org.id)
    if change is None:
        change = PendingOrgChange(org_id=org.id, changes={}, previous={}, state=PENDING)
        db.session.add(change)
    change.changes = {**change.changes, **reviewed}
    change.previous = {k: getattr(org, k) for k in change.changes}
    change.submitted_by_id, change.submitted_at = actor.id, now
    db.session.flush()
    return change


def review_change(actor: Volunteer, change_id: int, approve: bool, *, now) -> PendingOrgChange:
    """审核待审变更组织: the superior approves (the new values apply) or rejects (they are dropped)."""
    change = db.session.get(PendingOrgChange, change_id)
    if change is None:
        raise RuleViolation("change_not_found", "变更申请不存在。", 404)
    permissions.require(actor, "review_change", change.org, now=now)
    result = db.session.execute(
        update(PendingOrgChange).where(PendingOrgChange.id == change.id, PendingOrgChange.state == PENDING)
        .values(state="approved" if approve else "rejected", decided_at=now, decided_by_id=actor.id)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise RuleViolation("change_not_pending", "该变更已被处理。", 409)
    db.session.expire(change)
    if approve:
        if "name" in change.changes:
            _check_name_free(change.changes["name"], except_id=change.org_id)
        _apply(change.org, change.changes)
    _tell_admins(change.org, [a.id for a in change.org.admins], "通过" if approve else "未通过",
                 "组织信息变更已生效" if approve else "组织信息变更未通过", f"change:{change.id}")
    return change


def add_admin(actor: Volunteer, org_id: int, volunteer_number: str, *, now) -> Volunteer:
    """新增管理员: a superior admin makes a volunteer (by number) admin of a sub-org."""
    org = get_org(org_id)
    permissions.require(actor, "manage_admins", org, now=now)
    volunteer = Volunteer.query.filter_by(number=(volunteer_number or "").strip()).one_or_none()
    if volunteer is None:
        raise RuleViolation("volunteer_not_found", "没有这个志愿者编号。", 404)
    _check_not_admin(volunteer.id)
    _make_admin(volunteer.id, org.id, now)
    return volunteer


def remove_admin(actor: Volunteer, org_id: int, volunteer_id: int, *, now) -> None:
    """注销管理员: a superior admin takes a sub-org admin's power away."""
    org = get_org(org_id)
    permissions.require(actor, "manage_admins", org, now=now)
    removed = OrgAdmin.query.filter_by(org_id=org.id, volunteer_id=volunteer_id).delete(synchronize_session=False)
    if not removed:
        raise RuleViolation("not_admin", "该志愿者不是这个组织的管理员。", 404)
    note_admin_change(volunteer_id)


def reset_admin_password(actor: Volunteer, org_id: int, volunteer_id: int, *, now) -> str:
    """重置密码: a one-time random password the admin must change at the next sign-in."""
    org = get_org(org_id)
    permissions.require(actor, "reset_admin_password", org, now=now)
    if OrgAdmin.query.filter_by(org_id=org.id, volunteer_id=volunteer_id).one_or_none() is None:
        raise RuleViolation("not_admin", "该志愿者不是这个组织的管理员。", 404)
    password = one_time_password()
    db.session.get(Volunteer, volunteer_id).set_password(password, must_change=True)
    return password


def one_time_password(length: int = 10) -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"
    return "".join(secrets.choice(alphabet) for _ in range(length))


def deregister_org(actor: Volunteer, org_id: int, *, now) -> Organization:
    """注销组织: the sub-org leaves its superiors' management and returns to pending (not deleted)."""
    org = get_org(org_id)
    permissions.require(actor, "deregister_org", org, now=now)
    result = db.session.execute(
        update(Organization).where(Organization.id == org.id, Organization.status == ACTIVE)
        .values(status=PENDING, deregistered_at=now).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise RuleViolation("org_not_active", "该组织当前不在管理中。", 409)
    db.session.expire(org)
    note_admin_change(*[a.id for a in org.admins])
    return org


def set_review_exempt(actor: Volunteer, org_id: int, exempt: bool, *, now) -> Organization:
    """设置/取消活动免审: level-2 admins only, on an org below their own."""
    org = get_org(org_id)
    permissions.require(actor, "set_review_exempt", org, now=now)
    org.review_exempt = bool(exempt)
    return org

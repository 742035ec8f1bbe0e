"""组织规则: registering, reviewing, editing and deregistering orgs, and their admins (组织管理员).

Manual part 1 §二.2–3, part 2 §三.2.  Every rule here takes plain values and ``now`` and raises
``RuleViolation``; none commits — the caller (a page, the CLI, the seed) commits once.  The tables
and plain reads stand below, in ``models.organization``.
"""

from __future__ import annotations

import secrets
import string

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from . import permissions
from .base import RuleViolation, db
from .notification import notify
from .organization import (
    ACTIVE,
    MAX_LEVEL,
    PENDING,
    REJECTED,
    REVIEWED_FIELDS,
    OrgAdmin,
    Organization,
    PendingOrgChange,
    admin_org_of,
    get_org,
    note_admin_change,
    pending_change_of,
)
from .volunteer import Volunteer


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

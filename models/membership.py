"""组织成员: joining and leaving orgs, the admins' review of applicants, and member groups.

A volunteer belongs to at most ``MAX_ORGS`` orgs, pending applications included.  The limit is
kept by the database the same way on every engine: each live membership (pending or approved)
holds one of the volunteer's five numbered slots, and ``(volunteer_id, slot)`` is unique.  Two
applications racing for the last slot cannot both insert it; the loser tries the next free slot
and, when none is left, is refused.  Rejected, left and removed memberships give their slot back.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from . import permissions
from .base import RuleViolation, db, label_of, utcnow, won
from .hours import hours_by_volunteer as counted_hours_by_volunteer
from .notification import notify
from .organization import ACTIVE, Organization, get_org, subtree_of
from .personal_data import lookup_hash
from .stats import rollup
from .volunteer import Volunteer

MAX_ORGS = 5
PENDING, APPROVED, REJECTED, LEFT, REMOVED = "pending", "approved", "rejected", "left", "removed"
LIVE = (PENDING, APPROVED)
STATE_LABELS = {PENDING: "待审核", APPROVED: "已加入", REJECTED: "未通过", LEFT: "已退出", REMOVED: "已移出"}

#: 活跃成员: members with attendance hours in this org within the last ``ACTIVE_WINDOW_DAYS`` days.
ACTIVE_WINDOW_DAYS = 90
#: The built-in groups (默认分组), computed from hours, never stored; they cannot be edited.
BUILTIN_GROUPS = {"no_hours_ever": "历史无时长成员", "no_hours_this_year": "年度无时长成员", "active": "活跃成员"}


class Membership(db.Model):
    """A volunteer's application to, or membership of, one org."""

    __tablename__ = "membership"
    __table_args__ = (
        db.UniqueConstraint("volunteer_id", "org_id"),
        db.UniqueConstraint("volunteer_id", "slot"),
        db.CheckConstraint("slot BETWEEN 1 AND 5", name="slot"),
        db.Index("ix_membership_org_id_state", "org_id", "state"),
    )

    id = db.Column(db.Integer, primary_key=True)
    volunteer_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="CASCADE"), nullable=False)
    org_id = db.Column(db.Integer, db.ForeignKey("organization.id", ondelete="CASCADE"), nullable=False)
    state = db.Column(db.String(10), nullable=False, default=PENDING)
    slot = db.Column(db.Integer)  # 1..5 while pending or approved, NULL otherwise
    applied_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    decided_at = db.Column(db.DateTime)
    decided_by_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="SET NULL"))
    ended_at = db.Column(db.DateTime)

    volunteer = db.relationship(Volunteer, foreign_keys=[volunteer_id])
    org = db.relationship(Organization)

    state_label = label_of("state", STATE_LABELS)


class MemberGroup(db.Model):
    """成员分组 (自定义分组) of one org."""

    __tablename__ = "member_group"
    __table_args__ = (db.UniqueConstraint("org_id", "name"),)

    id = db.Column(db.Integer, primary_key=True)
    org_id = db.Column(db.Integer, db.ForeignKey("organization.id", ondelete="CASCADE"), nullable=False)
    name = db.Column(db.String(30), nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)


class MemberGroupMember(db.Model):
    __tablename__ = "member_group_member"

    group_id = db.Column(db.Integer, db.ForeignKey("member_group.id", ondelete="CASCADE"), primary_key=True)
    volunteer_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="CASCADE"), primary_key=True,
                             index=True)
    added_at = db.Column(db.DateTime, nullable=False, default=utcnow)


# ---------------------------------------------------------------------------------- queries
def membership_of(volunteer_id: int, org_id: int) -> Membership | None:
    return Membership.query.filter_by(volunteer_id=volunteer_id, org_id=org_id).one_or_none()


def memberships_of(volunteer_id: int) -> list[Membership]:
    """我的组织: pending and approved memberships, then rejected applications."""
    rows = (Membership.query.filter(Membership.volunteer_id == volunteer_id,
                                    Membership.state.in_((PENDING, APPROVED, REJECTED)))
            .order_by(Membership.applied_at.desc()).all())
    order = {APPROVED: 0, PENDING: 1, REJECTED: 2}
    return sorted(rows, key=lambda m: order[m.state])


def member_list(org_id: int, *, state: str = APPROVED, keyword: str | None = None, page: int = 1,
                per_page: int = 20):
    """成员管理 / 审核新成员: the org's memberships in ``state``, searchable by name, number,
    phone or ID number (the last two matched whole, through their lookup hashes)."""
    query = (select(Membership).join(Volunteer, Volunteer.id == Membership.volunteer_id)
             .where(Membership.org_id == org_id, Membership.state == state))
    keyword = (keyword or "").strip()
    if keyword:
        escaped = keyword.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        digest = lookup_hash(keyword)
        query = query.where(or_(Volunteer.name.like(f"%{escaped}%", escape="\\"), Volunteer.number == keyword,
                                Volunteer.phone_hash == digest, Volunteer.id_number_hash == digest))
    query = query.order_by(Membership.applied_at.desc(), Membership.id.desc())
    return db.paginate(query, page=max(int(page or 1), 1), per_page=per_page, error_out=False)


def members_in_subtree(org: Organization, state: str = APPROVED):
    """``SELECT membership`` of this org and every org below it (statistics use it)."""
    return (select(Membership).join(Organization, Organization.id == Membership.org_id)
            .where(subtree_of(org), Membership.state == state))


def member_ids(org_id: int) -> list[int]:
    return list(db.session.scalars(select(Membership.volunteer_id)
                                   .where(Membership.org_id == org_id, Membership.state == APPROVED)
                                   .order_by(Membership.volunteer_id)))


# ------------------------------------------------------------------------------- membership
def join_org(volunteer: Volunteer, org_id: int, *, now) -> Membership:
    """申请加入: a pending application, unless the volunteer is in or waiting for 5 orgs already."""
    org = get_org(org_id)
    if org.status != ACTIVE:
        raise RuleViolation("org_not_open", "该组织尚未通过审核，暂不能申请加入。")
    for _attempt in range(MAX_ORGS * 2):
        existing = membership_of(volunteer.id, org.id)
        if existing is not None and existing.state == PENDING:
            raise RuleViolation("already_applied", "您已申请加入该组织，请等待管理员审核。", 409)
        if existing is not None and existing.state == APPROVED:
            raise RuleViolation("already_member", "您已是该组织的成员。", 409)
        used = set(db.session.scalars(select(Membership.slot).where(
            Membership.volunteer_id == volunteer.id, Membership.slot.is_not(None))))
        free = [s for s in range(1, MAX_ORGS + 1) if s not in used]
        if not free:
            raise RuleViolation("too_many_orgs",
                                f"每位志愿者最多加入{MAX_ORGS}个志愿组织（含待审核的申请）。", 409)
        try:
            with db.session.begin_nested():
                if existing is None:
                    existing = Membership(volunteer_id=volunteer.id, org_id=org.id)
                    db.session.add(existing)
                existing.state, existing.slot, existing.applied_at = PENDING, free[0], now
                existing.decided_at = existing.decided_by_id = existing.ended_at = None
            return existing
        except IntegrityError:
            continue  # a concurrent application took that slot (or this org): look again
    raise RuleViolation("busy", "操作过于频繁，请稍后再试。", 409)


def leave_org(volunteer: Volunteer, org_id: int, *, now) -> Membership:
    """退出组织 (or withdraw a pending application).  A volunteer stays in at least one org.

    The volunteer's row is locked first, so two leaves at once cannot both pass the check.
    """
    db.session.execute(select(Volunteer.id).where(Volunteer.id == volunteer.id).with_for_update())
    membership = membership_of(volunteer.id, org_id)
    if membership is None or membership.state not in LIVE:
        raise RuleViolation("not_member", "您不是该组织的成员。", 404)
    if membership.state == APPROVED:
        others = db.session.scalar(select(db.func.count()).select_from(Membership).where(
            Membership.volunteer_id == volunteer.id, Membership.state == APPROVED, Membership.id != membership.id))
        if not others:
            raise RuleViolation("last_org", "志愿者至少要加入一个志愿组织，不能退出唯一的组织。")
    was_member = membership.state == APPROVED
    # conditional on the state just read: an admin removing, approving or refusing at the same moment does
    # not lock the volunteer, so only one of the two changes wins and is counted
    if not won(update(Membership).where(Membership.id == membership.id, Membership.state == membership.state)
               .values(state=LEFT, slot=None, ended_at=now)):
        db.session.expire(membership)
        raise RuleViolation("membership_changed", "您在该组织的成员状态刚刚被管理员更改，请刷新后查看。", 409)
    db.session.expire(membership)
    _drop_from_groups(org_id, [volunteer.id])
    if was_member:
        rollup.membership_changed(volunteer.id, org_id, joined=False, registered_at=volunteer.created_at)
    return membership


def _decide(actor, org_id, volunteer_ids, state: str, *, now) -> int:
    org = get_org(org_id)
    permissions.require(actor, "manage_members", org, now=now)
    ids = sorted({int(v) for v in volunteer_ids})
    if not ids:
        raise RuleViolation("nothing_selected", "请先选择志愿者。")
    values = {"state": state, "decided_at": now, "decided_by_id": actor.id}
    if state == REJECTED:
        values["slot"] = None
    changed = db.session.execute(
        update(Membership).where(Membership.org_id == org.id, Membership.volunteer_id.in_(ids),
                                    Membership.state == PENDING)
        .values(**values).returning(Membership.volunteer_id, Membership.id)
        .execution_options(synchronize_session=False)).all()
    if not changed:
        raise RuleViolation("nothing_pending", "所选申请已被处理或不存在。", 409)
    if state == APPROVED:
        _count_members(org.id, [v for v, _m in changed], joined=True)
    db.session.expire_all()
    result = "通过" if state == APPROVED else "未通过"
    reason = "欢迎加入本组织" if state == APPROVED else "组织管理员未通过您的申请"
    for volunteer_id, membership_id in changed:
        notify(volunteer_id, "join_result", {"org": org.name, "result": result, "reason": reason},
               link=f"/m/orgs/{org.id}", cause=f"membership:{membership_id}",
               key=f"join_result:{membership_id}:{state}")
    return len(changed)


def approve_members(actor: Volunteer, org_id: int, volunteer_ids, *, now) -> int:
    """审核通过 (one or a batch): pending → approved; returns how many changed."""
    return _decide(actor, org_id, volunteer_ids, APPROVED, now=now)


def reject_members(actor: Volunteer, org_id: int, volunteer_ids, *, now) -> int:
    """拒绝 (one or a batch): pending → rejected, giving the slot back."""
    return _decide(actor, org_id, volunteer_ids, REJECTED, now=now)


def remove_members(actor: Volunteer, org_id: int, volunteer_ids, *, now) -> int:
    """移出本组织 (one or a batch): approved → removed, out of the org's groups too."""
    org = get_org(org_id)
    permissions.require(actor, "manage_members", org, now=now)
    ids = sorted({int(v) for v in volunteer_ids})
    if not ids:
        raise RuleViolation("nothing_selected", "请先选择志愿者。")
    removed = db.session.execute(
        update(Membership).where(Membership.org_id == org.id, Membership.volunteer_id.in_(ids),
                                    Membership.state == APPROVED)
        .values(state=REMOVED, slot=None, ended_at=now, decided_at=now, decided_by_id=actor.id)
        .returning(Membership.volunteer_id).execution_options(synchronize_session=False)).scalars().all()
    if not removed:
        raise RuleViolation("not_member", "所选志愿者不是本组织成员。", 409)
    _drop_from_groups(org.id, ids)
    _count_members(org.id, removed, joined=False)
    db.session.expire_all()
    return len(removed)


def _count_members(org_id: int, volunteer_ids, *, joined: bool) -> None:
    """The statistics follow approved memberships (in volunteer order, so batches lock alike)."""
    registered = dict(db.session.execute(select(Volunteer.id, Volunteer.created_at)
                                         .where(Volunteer.id.in_(list(volunteer_ids)))).all())
    for volunteer_id in sorted(registered):
        rollup.membership_changed(volunteer_id, org_id, joined=joined, registered_at=registered[volunteer_id])


def member_profile(actor: Volunteer, org_id: int, volunteer_id: int, *, now) -> Membership:
    """查看: an applicant's or member's membership row, for an admin of the org (or above)."""
    org = get_org(org_id)
    permissions.require(actor, "view_members", org, now=now)
    membership = membership_of(volunteer_id, org.id)
    if membership is None or membership.state not in LIVE:
        raise RuleViolation("not_member", "该志愿者不是本组织成员。", 404)
    return membership


# ------------------------------------------------------------------------------------ groups
def hours_by_volunteer(org_id: int, since: datetime | None) -> dict[int, float]:
    """Attendance hours per volunteer in ``org_id`` since ``since`` (UTC; None: ever).

    The hours of the org's members on any project, counted (公示中 or 已确认) as in 我的服务记录.
    """
    return counted_hours_by_volunteer(member_ids(org_id), since)


def builtin_group_ids(org_id: int, key: str, *, now, tz: str = "Asia/Shanghai") -> list[int]:
    """Members of a built-in group: computed from hours each time, never stored."""
    if key not in BUILTIN_GROUPS:
        raise RuleViolation("group_not_found", "分组不存在。", 404)
    members = member_ids(org_id)
    if key == "no_hours_ever":
        hours = hours_by_volunteer(org_id, None)
        return [v for v in members if not hours.get(v)]
    if key == "no_hours_this_year":
        zone = ZoneInfo(tz)
        local = now.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone)
        year_start = datetime(local.year, 1, 1, tzinfo=zone).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
        hours = hours_by_volunteer(org_id, year_start)
        return [v for v in members if not hours.get(v)]
    hours = hours_by_volunteer(org_id, now - timedelta(days=ACTIVE_WINDOW_DAYS))
    return [v for v in members if hours.get(v)]


def _group(actor, group_id, now) -> MemberGroup:
    group = db.session.get(MemberGroup, group_id)
    if group is None:
        raise RuleViolation("group_not_found", "分组不存在。", 404)
    permissions.require(actor, "manage_groups", get_org(group.org_id), now=now)
    return group


def groups_of(actor: Volunteer, org_id: int, *, now, tz: str = "Asia/Shanghai") -> dict:
    """成员分组: ``{"builtin": [(key, name, count)], "custom": [(group, count)]}``."""
    permissions.require(actor, "manage_groups", get_org(org_id), now=now)
    builtin = [(k, name, len(builtin_group_ids(org_id, k, now=now, tz=tz))) for k, name in BUILTIN_GROUPS.items()]
    counts = dict(db.session.execute(
        select(MemberGroupMember.group_id, db.func.count()).join(MemberGroup)
        .where(MemberGroup.org_id == org_id).group_by(MemberGroupMember.group_id)).all())
    custom = [(g, counts.get(g.id, 0)) for g in MemberGroup.query.filter_by(org_id=org_id).order_by(MemberGroup.id)]
    return {"builtin": builtin, "custom": custom}


def create_group(actor: Volunteer, org_id: int, name: str, *, now) -> MemberGroup:
    """新建分组."""
    org = get_org(org_id)
    permissions.require(actor, "manage_groups", org, now=now)
    name = (name or "").strip()
    if not 1 <= len(name) <= 20:
        raise RuleViolation("group_name_invalid", "分组名称应为1至20个字。")
    if name in BUILTIN_GROUPS.values():
        raise RuleViolation("group_name_taken", "不能使用默认分组的名称。")
    try:
        with db.session.begin_nested():
            group = MemberGroup(org_id=org.id, name=name, created_at=now)
            db.session.add(group)
    except IntegrityError:
        raise RuleViolation("group_name_taken", "已有同名的分组。", 409) from None
    return group


def delete_group(actor: Volunteer, group_id: int, *, now) -> None:
    """删除分组 (only custom groups; the built-in ones are not stored)."""
    group = _group(actor, group_id, now)
    MemberGroupMember.query.filter_by(group_id=group.id).delete(synchronize_session=False)
    db.session.delete(group)


def group_member_ids(actor: Volunteer, org_id: int, group, *, now, tz: str = "Asia/Shanghai") -> list[int]:
    """Members of ``group``: a built-in key (str) or a custom group id (int)."""
    if isinstance(group, str) and not group.isdigit():
        permissions.require(actor, "manage_groups", get_org(org_id), now=now)
        return builtin_group_ids(org_id, group, now=now, tz=tz)
    group = _group(actor, int(group), now)
    if group.org_id != org_id:
        raise RuleViolation("group_not_found", "分组不存在。", 404)
    return list(db.session.scalars(select(MemberGroupMember.volunteer_id)
                                   .where(MemberGroupMember.group_id == group.id)
                                   .order_by(MemberGroupMember.volunteer_id)))


def add_to_group(actor: Volunteer, group_id: int, volunteer_ids, *, now) -> int:
    """添加到分组: approved members of the org only; those already in it are skipped."""
    group = _group(actor, group_id, now)
    wanted = {int(v) for v in volunteer_ids}
    members = set(member_ids(group.org_id))
    if wanted - members:
        raise RuleViolation("not_member", "只能把本组织成员加入分组。")
    present = set(db.session.scalars(select(MemberGroupMember.volunteer_id).where(
        MemberGroupMember.group_id == group.id, MemberGroupMember.volunteer_id.in_(wanted))))
    new = sorted(wanted - present)
    db.session.add_all(MemberGroupMember(group_id=group.id, volunteer_id=v, added_at=now) for v in new)
    db.session.flush()
    return len(new)


def remove_from_group(actor: Volunteer, group_id: int, volunteer_ids, *, now) -> int:
    """移出本组 (the volunteer stays a member of the org)."""
    group = _group(actor, group_id, now)
    ids = [int(v) for v in volunteer_ids]
    return MemberGroupMember.query.filter(MemberGroupMember.group_id == group.id,
                                          MemberGroupMember.volunteer_id.in_(ids)).delete(synchronize_session=False)


def copy_group_members(actor: Volunteer, org_id: int, source, target_group_id: int, *, now,
                       tz: str = "Asia/Shanghai") -> int:
    """成员复制: every member of ``source`` (built-in key or group id) into a custom group."""
    target = _group(actor, target_group_id, now)
    if target.org_id != org_id:
        raise RuleViolation("group_not_found", "分组不存在。", 404)
    ids = group_member_ids(actor, org_id, source, now=now, tz=tz)
    return add_to_group(actor, target.id, ids, now=now) if ids else 0


def _drop_from_groups(org_id: int, volunteer_ids) -> None:
    db.session.execute(delete(MemberGroupMember).where(and_(
        MemberGroupMember.volunteer_id.in_(list(volunteer_ids)),
        MemberGroupMember.group_id.in_(select(MemberGroup.id).where(MemberGroup.org_id == org_id)))))

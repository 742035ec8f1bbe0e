"""一喊就来 求助人: the elderly people a practice station (实践站) registers, their paired volunteers
(结对志愿者) and the WeChat users (the elder, or a family member's phone) bound to them.

Manual part 4 §三.1: a station admin records the seeker (图4-17) and the paired volunteers; an admin of
the station's superior (上级实践所) approves; only approved seekers can call.  The *station* of a
seeker is the org whose admin registered it; its admins are the *station admins*.

Personal data (ID number, phones, emergency contact) is stored encrypted like a volunteer's and shown
whole only to the admins of the station and its ancestors, and — for one request — to the volunteer
who claimed it (``help_request.may_see_full``).
"""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from . import identity, lockout, permissions, personal_data, proven_wechat
from .base import RuleViolation, db, flush_or_roll_back, get_or_refuse, label_of, utcnow
from .organization import ACTIVE, OrgAdmin, Organization, admin_org_of, subtree_of
from .volunteer import Volunteer

PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"
STATES = (PENDING, APPROVED, REJECTED)
STATE_LABELS = {PENDING: "待审核", APPROVED: "已审核", REJECTED: "未通过"}


#: form field -> (label, max length, required)
FIELDS = {
    "name": ("姓名", 30, True),
    "id_number": ("身份证号", 18, True),
    "address": ("家庭地址", 200, True),
    "phone": ("联系电话", 20, True),
    "mobile": ("联系手机", 11, True),
    "emergency_name": ("紧急联系人", 30, False),
    "emergency_phone": ("紧急联系人手机", 11, False),
    "notes": ("求助人信息", 500, True),
}


class HelpSeeker(db.Model):
    """求助人 (图4-17).  ID number and phones encrypted; ``*_hash`` columns serve lookups."""

    __tablename__ = "help_seeker"
    __table_args__ = (
        db.CheckConstraint("state IN ('pending', 'approved', 'rejected')", name="state"),
        db.Index("ix_help_seeker_station_id_state", "station_id", "state"),
    )

    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(30), nullable=False)
    id_number_encrypted, id_number_hash, id_number_masked = personal_data.sealed_columns(32, unique=True)
    address = db.Column(db.String(200), nullable=False)
    phone_encrypted, phone_hash, phone_masked = personal_data.sealed_columns(20, unique=False)
    mobile_encrypted, mobile_hash, mobile_masked = personal_data.sealed_columns(20, unique=False)
    emergency_name = db.Column(db.String(30))
    emergency_phone_encrypted = db.Column(db.Text)
    emergency_phone_masked = db.Column(db.String(20))
    photo_path = db.Column(db.String(200))
    notes = db.Column(db.Text, nullable=False, default="")
    station_id = db.Column(db.Integer, db.ForeignKey("organization.id"), nullable=False)
    state = db.Column(db.String(10), nullable=False, default=PENDING)
    registered_by_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="SET NULL"))
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    updated_at = db.Column(db.DateTime)
    reviewed_by_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="SET NULL"))
    reviewed_at = db.Column(db.DateTime)
    calls = db.Column(db.Integer, nullable=False, default=0)  # bumped on every call: serialises a seeker's calls

    station = db.relationship(Organization)
    reviewed_by = db.relationship(Volunteer, foreign_keys=[reviewed_by_id])

    # -- personal data -----------------------------------------------------------------------
    id_number = personal_data.unsealed("id_number")
    phone = personal_data.unsealed("phone")
    mobile = personal_data.unsealed("mobile")

    @property
    def emergency_phone(self) -> str:
        return personal_data.decrypt(self.emergency_phone_encrypted) if self.emergency_phone_encrypted else ""

    @property
    def masked_name(self) -> str:
        return personal_data.mask_name(self.name)

    state_label = label_of("state", STATE_LABELS)

    @property
    def volunteers(self) -> list[Volunteer]:
        """The paired volunteers, in pairing order."""
        return (Volunteer.query.join(Pairing, Pairing.volunteer_id == Volunteer.id)
                .filter(Pairing.seeker_id == self.id).order_by(Pairing.id).all())

    @property
    def volunteer_ids(self) -> list[int]:
        return list(db.session.scalars(select(Pairing.volunteer_id).where(Pairing.seeker_id == self.id)
                                       .order_by(Pairing.id)))

    def _set(self, field: str, value: str) -> None:
        if field == "id_number":
            personal_data.seal(self, field, value, personal_data.mask_id)
        elif field in ("phone", "mobile"):
            personal_data.seal(self, field, value, personal_data.mask_phone)
        elif field == "emergency_phone":
            self.emergency_phone_encrypted = personal_data.encrypt(value) if value else None
            self.emergency_phone_masked = personal_data.mask_phone(value) if value else None
        else:
            setattr(self, field, value or (None if field == "emergency_name" else ""))


class Pairing(db.Model):
    """结对: one volunteer paired with one seeker."""

    __tablename__ = "help_pairing"
    __table_args__ = (db.UniqueConstraint("seeker_id", "volunteer_id"),)

    id = db.Column(db.Integer, primary_key=True)
    seeker_id = db.Column(db.Integer, db.ForeignKey("help_seeker.id", ondelete="CASCADE"), nullable=False)
    volunteer_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="CASCADE"), nullable=False,
                             index=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)


class SeekerBinding(db.Model):
    """The WeChat user (account, openid) who calls for a seeker; a seeker may have several phones."""

    __tablename__ = "help_seeker_binding"
    __table_args__ = (db.UniqueConstraint("account", "openid"),)

    id = db.Column(db.Integer, primary_key=True)
    account = db.Column(db.String(64), nullable=False)
    openid = db.Column(db.String(64), nullable=False)
    seeker_id = db.Column(db.Integer, db.ForeignKey("help_seeker.id", ondelete="CASCADE"), nullable=False,
                          index=True)
    bound_at = db.Column(db.DateTime, nullable=False, default=utcnow)


# ---------------------------------------------------------------------------------- fields
def check_contact_phone(phone: str) -> None:
    """联系电话: a fixed line (0513-85123456) or an 11-digit mobile."""
    if not identity.is_contact_phone(phone):
        raise RuleViolation("phone_invalid", "联系电话格式不正确（座机如0513-85123456，或11位手机号）。")


def check_fields(fields: dict, *, today: date) -> dict:
    """The rules of 图4-17 beyond each field alone (the pages check those): the ID number is a real
    one born by ``today`` (upper-cased), and an emergency phone comes with the contact's name."""
    out = dict(fields)
    if "id_number" in out:
        try:
            out["id_number"] = identity.check_mainland_id(out["id_number"], today=today)
        except RuleViolation as exc:  # the seeker form reports every ID problem under one code
            raise RuleViolation("id_invalid", exc.message) from exc
    if out.get("emergency_phone") and not out.get("emergency_name"):
        raise RuleViolation("emergency_name_required", "填写了紧急联系人手机，请同时填写紧急联系人姓名。")
    return out


def parse_volunteer_keys(text) -> list[str]:
    """“多个志愿者请用逗号分隔”: ID numbers or volunteer numbers, split on any comma or space."""
    if isinstance(text, (list, tuple)):
        text = ",".join(text)
    return [k.upper() for k in re.split(r"[,，、;；\s]+", text or "") if k]


def find_volunteers(keys) -> list[Volunteer]:
    """The volunteers named by ID number or volunteer number; every one must exist."""
    found, missing = [], []
    for key in keys:
        volunteer = (Volunteer.query.filter_by(number=key).one_or_none()
                     or Volunteer.query.filter_by(id_number_hash=personal_data.lookup_hash(key)).one_or_none())
        if volunteer is None:
            missing.append(key if len(key) < 8 else personal_data.mask_id(key))
        elif volunteer not in found:
            found.append(volunteer)
    if missing:
        raise RuleViolation("volunteer_not_found", f"以下志愿者不存在，请核对身份证号或志愿者编号：{'、'.join(missing)}。", 404)
    return found


# ---------------------------------------------------------------------------------- queries
def get_seeker(seeker_id) -> HelpSeeker:
    return get_or_refuse(HelpSeeker, seeker_id, "seeker_not_found", "求助人不存在。")


def _admin_org(actor) -> Organization:
    org = admin_org_of(actor.id if actor else None)
    if org is None or org.status != ACTIVE:
        raise RuleViolation("forbidden", "您不是已审核组织的管理员。", 403)
    return org


def is_station_admin(volunteer, seeker: HelpSeeker) -> bool:
    """Admin of the seeker's station or of an org above it (sees and manages the seeker)."""
    return permissions.can(volunteer, "manage_help_seekers", seeker.station)


def may_review(volunteer, seeker: HelpSeeker) -> bool:
    """An admin of an org above the station (上级实践所); a root station is approved by its own admins."""
    station = seeker.station
    if station.parent_id is None:
        return permissions.can(volunteer, "manage_help_seekers", station)
    return permissions.can(volunteer, "review_help_seeker", station)


def seekers_for_admin(actor, *, state: str | None = None, keyword: str | None = None) -> list[HelpSeeker]:
    """结对人列表 (图4-16): the seekers of the actor's org and every org below it."""
    org = _admin_org(actor)
    query = HelpSeeker.query.join(Organization, Organization.id == HelpSeeker.station_id).filter(subtree_of(org))
    if state:
        query = query.filter(HelpSeeker.state == state)
    keyword = (keyword or "").strip()
    if keyword:
        digest = personal_data.lookup_hash(keyword)
        escaped = keyword.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.filter(or_(HelpSeeker.name.like(f"%{escaped}%", escape="\\"),
                                 HelpSeeker.id_number_hash == digest, HelpSeeker.phone_hash == digest,
                                 HelpSeeker.mobile_hash == digest))
    return query.order_by(HelpSeeker.created_at.desc(), HelpSeeker.id.desc()).all()


def seekers_to_review(actor) -> list[HelpSeeker]:
    """Pending seekers this admin may approve: stations strictly below (or the root, for its admins)."""
    org = _admin_org(actor)
    query = (HelpSeeker.query.join(Organization, Organization.id == HelpSeeker.station_id)
             .filter(HelpSeeker.state == PENDING))
    if org.parent_id is None:
        query = query.filter(subtree_of(org))
    else:
        query = query.filter(subtree_of(org, include_self=False))
    return query.order_by(HelpSeeker.created_at, HelpSeeker.id).all()


def seeker_for(account: str, openid: str) -> HelpSeeker | None:
    binding = SeekerBinding.query.filter_by(account=account, openid=openid).one_or_none()
    return db.session.get(HelpSeeker, binding.seeker_id) if binding else None


# ---------------------------------------------------------------------------------- rules
def _set_pairings(seeker: HelpSeeker, volunteers: list[Volunteer], now) -> None:
    if not volunteers:
        raise RuleViolation("volunteers_required", "请至少填写一名结对志愿者。")
    wanted = {v.id for v in volunteers}
    current = {p.volunteer_id: p for p in Pairing.query.filter_by(seeker_id=seeker.id)}
    for vid, pairing in current.items():
        if vid not in wanted:
            db.session.delete(pairing)
    for volunteer in volunteers:
        if volunteer.id not in current:
            db.session.add(Pairing(seeker_id=seeker.id, volunteer_id=volunteer.id, created_at=now))


def add_seeker(actor: Volunteer, fields: dict, volunteer_keys, *, now, photo_path: str | None = None) -> HelpSeeker:
    """增加求助人: recorded by an admin of the station (the actor's org); waits for approval.

    ``fields`` hold the form's values, each already checked alone (the pages parse the form with their
    field spec)."""
    station = _admin_org(actor)
    permissions.require(actor, "manage_help_seekers", station, now=now)
    clean = check_fields(fields, today=now.date())
    if HelpSeeker.query.filter_by(id_number_hash=personal_data.lookup_hash(clean["id_number"])).first():
        raise RuleViolation("seeker_exists", "该身份证号的求助人已登记。", 409)
    volunteers = find_volunteers(parse_volunteer_keys(volunteer_keys))
    if not volunteers:
        raise RuleViolation("volunteers_required", "请至少填写一名结对志愿者。")
    seeker = HelpSeeker(station_id=station.id, state=PENDING, registered_by_id=actor.id, created_at=now,
                        photo_path=photo_path)
    for key, value in clean.items():
        seeker._set(key, value)
    db.session.add(seeker)
    try:
        db.session.flush()
    except IntegrityError as exc:
        db.session.rollback()
        raise RuleViolation("seeker_exists", "该身份证号的求助人已登记。", 409) from exc
    _set_pairings(seeker, volunteers, now)
    db.session.flush()
    return seeker


def edit_seeker(actor: Volunteer, seeker_id: int, fields: dict, *, now, volunteer_keys=None,
                photo_path: str | None = None) -> HelpSeeker:
    """修改: the station's admins (or those above) change the data and the paired volunteers.

    A rejected seeker that is edited goes back to waiting for approval."""
    seeker = get_seeker(seeker_id)
    if not is_station_admin(actor, seeker):
        raise RuleViolation("forbidden", "您没有管理该求助人的权限。", 403)
    clean = check_fields(fields, today=now.date())
    if "id_number" in clean:
        other = HelpSeeker.query.filter_by(id_number_hash=personal_data.lookup_hash(clean["id_number"])).first()
        if other is not None and other.id != seeker.id:
            raise RuleViolation("seeker_exists", "该身份证号的求助人已登记。", 409)
    for key, value in clean.items():
        seeker._set(key, value)
    if photo_path:
        seeker.photo_path = photo_path
    if volunteer_keys is not None:
        _set_pairings(seeker, find_volunteers(parse_volunteer_keys(volunteer_keys)), now)
    seeker.updated_at = now
    if seeker.state == REJECTED:
        seeker.state = PENDING
    db.session.flush()
    return seeker


def add_pairings(actor: Volunteer, seeker_id: int, volunteer_keys, *, now) -> int:
    """添加新的结对志愿者; the number added."""
    seeker = get_seeker(seeker_id)
    if not is_station_admin(actor, seeker):
        raise RuleViolation("forbidden", "您没有管理该求助人的权限。", 403)
    volunteers = find_volunteers(parse_volunteer_keys(volunteer_keys))
    if not volunteers:
        raise RuleViolation("volunteers_required", "请填写要结对的志愿者。")
    _set_pairings(seeker, list({v.id: v for v in seeker.volunteers + volunteers}.values()), now)
    db.session.flush()
    return len(seeker.volunteer_ids)


def remove_pairing(actor: Volunteer, seeker_id: int, volunteer_id: int, *, now) -> None:
    seeker = get_seeker(seeker_id)
    if not is_station_admin(actor, seeker):
        raise RuleViolation("forbidden", "您没有管理该求助人的权限。", 403)
    remaining = [v for v in seeker.volunteers if v.id != volunteer_id]
    _set_pairings(seeker, remaining, now)
    db.session.flush()


def review_seeker(actor: Volunteer, seeker_id: int, approve: bool, *, now) -> HelpSeeker:
    """审核 by the 上级实践所: pending → approved / rejected, decided once (conditional UPDATE)."""
    seeker = get_seeker(seeker_id)
    if not may_review(actor, seeker):
        raise RuleViolation("forbidden", "只有上级实践所的管理员可以审核该求助人。", 403)
    t = HelpSeeker.__table__
    result = db.session.execute(update(t).where(t.c.id == seeker.id, t.c.state == PENDING).values(
        state=APPROVED if approve else REJECTED, reviewed_by_id=actor.id, reviewed_at=now))
    if result.rowcount != 1:
        raise RuleViolation("already_reviewed", "该求助人已审核过了。", 409)
    db.session.refresh(seeker)
    return seeker


# ---------------------------------------------------------------------------------- binding
def _lock_keys(account: str, openid: str, id_number: str, own: bool) -> list[str]:
    wechat = f"seekerbindfail:{account}:{openid}"
    return [wechat] if own else [f"seekerbindfail:id:{personal_data.lookup_hash(id_number)}", wechat]


def _locked(minutes: int) -> RuleViolation:
    return RuleViolation("bind_locked", f"输错次数太多了，请过{minutes}分钟再试，或请社区工作人员帮忙。", 429)


def bind_seeker(account: str, openid: str, id_number: str, phone: str, *, now, store) -> HelpSeeker:
    """第一次使用先绑定身份证与手机 (图4-18): the ID number and the phone or mobile on record.

    Wrong tries lock as a volunteer's bind does (``models.lockout``): five from one WeChat lock that
    WeChat; five on one ID number lock it against every other WeChat, but never against a phone that
    was bound to the seeker before."""
    id_number = (id_number or "").strip().upper()
    phone = re.sub(r"\s", "", phone or "")
    if not id_number or not phone:
        raise RuleViolation("bind_fields", "请输入身份证号和手机号。")
    seeker = HelpSeeker.query.filter_by(id_number_hash=personal_data.lookup_hash(id_number)).one_or_none()
    own = seeker is not None and proven_wechat.how_own(account, openid, now, seeker_id=seeker.id) is not None
    attempt = lockout.attempt(store, _lock_keys(account, openid, id_number, own))
    if attempt.refused_minutes:
        raise _locked(attempt.refused_minutes)
    if seeker is None or personal_data.lookup_hash(phone) not in (seeker.phone_hash, seeker.mobile_hash):
        if attempt.lock_minutes:
            raise _locked(attempt.lock_minutes)
        raise RuleViolation("bind_wrong", "身份证号或手机号不对，请再核对一下。如果还没有登记，请联系社区实践站。", 401)
    lockout.succeeded(store, attempt)
    if seeker.state == REJECTED:
        raise RuleViolation("seeker_rejected", "您的资料没有通过审核，请联系社区实践站。", 403)
    SeekerBinding.query.filter_by(account=account, openid=openid).delete(synchronize_session=False)
    db.session.add(SeekerBinding(account=account, openid=openid, seeker_id=seeker.id, bound_at=now))
    if not flush_or_roll_back():
        raise RuleViolation("bind_conflict", "正在绑定，请稍后刷新页面。", 409)
    proven_wechat.note(account, openid, proven_wechat.BOUND, now, seeker_id=seeker.id)
    return seeker


def station_admin_ids(seeker: HelpSeeker) -> list[int]:
    """The admins of the seeker's station."""
    return list(db.session.scalars(select(OrgAdmin.volunteer_id).where(OrgAdmin.org_id == seeker.station_id)
                                   .order_by(OrgAdmin.id)))


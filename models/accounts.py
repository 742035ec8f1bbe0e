"""Volunteer accounts: registration (志愿者注册), binding (账号绑定与解绑), passwords.

Every rule here takes plain values and ``now``; the pages only read forms and render.
"""

from __future__ import annotations

import functools
import secrets
import string
from dataclasses import dataclass
from datetime import date

from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from . import identity, lockout, personal_data, proven_wechat, sms_code, volunteer_qr
from .base import RuleViolation, db, flush_or_roll_back
from .organization import is_active_admin, note_admin_change
from .volunteer import Binding, Volunteer, VolunteerNumber

NUMBER_LENGTH = 15


@dataclass
class Registration:
    """The fields of 图2-2 as typed by the person."""

    id_type: str
    id_number: str
    name: str
    gender: str
    password: str
    password_repeat: str
    phone: str
    sms_code: str
    birth_date: date | None = None
    guardian_name: str | None = None
    guardian_phone: str | None = None
    guardian_consent: bool = False


def volunteer_number(prefix: str) -> str:
    """The next 15-digit volunteer number: region prefix + a sequence that is never reused."""
    issued = VolunteerNumber()
    db.session.add(issued)
    db.session.flush()
    digits = NUMBER_LENGTH - len(prefix)
    if issued.id >= 10**digits:
        raise RuntimeError("volunteer number sequence exhausted for prefix " + prefix)
    return f"{prefix}{issued.id:0{digits}d}"


def _refuse_registered_phone(phone: str) -> None:
    if Volunteer.by_phone(phone) is not None:
        raise RuleViolation("phone_registered", "该手机号码已被注册，请更换号码或找回密码。", 409)


def request_register_code(phone: str, client_ip: str, now, *, store, daily_cap: int) -> tuple[str, str]:
    """注册 step 1: an SMS code for a phone not registered yet; (the checked phone, the code)."""
    phone = identity.check_phone(phone)
    _refuse_registered_phone(phone)
    return phone, sms_code.issue(phone, "register", client_ip, now, store=store, daily_cap=daily_cap)


def register(form: Registration, *, now, today: date, number_prefix: str) -> Volunteer:
    """Check every field, consume the SMS code and create the volunteer (no admin approval)."""
    person = identity.check_identity(form.id_type, (form.id_number or "").strip(), form.gender, form.birth_date,
                                     today=today)
    name = identity.check_name(form.name or "")
    identity.check_password(form.password or "", form.password_repeat)
    phone = identity.check_phone(form.phone)
    minor = identity.check_age(person.birth_date, today, form.guardian_name, form.guardian_phone,
                               form.guardian_consent)
    if Volunteer.by_id_number(person.number) is not None:
        raise RuleViolation("id_registered", "该证件号码已注册，请直接绑定或找回密码。", 409)
    _refuse_registered_phone(phone)
    sms_code.consume(phone, "register", form.sms_code, now)
    volunteer = Volunteer(number=volunteer_number(number_prefix), name=name, gender=person.gender,
                          birth_date=person.birth_date, id_type=person.id_type, qr_token=volunteer_qr.new_token(),
                          created_at=now)
    volunteer.set_id_number(person.number)
    volunteer.set_phone(phone)
    volunteer.set_password(form.password)
    if minor:
        volunteer.guardian_name = form.guardian_name
        volunteer.guardian_phone_encrypted = personal_data.encrypt(form.guardian_phone)
        volunteer.guardian_consent_at = now
    db.session.add(volunteer)
    try:
        db.session.flush()
    except IntegrityError as exc:  # two forms with the same ID or phone at the same moment
        db.session.rollback()
        raise RuleViolation("already_registered", "该证件号码或手机号码已注册。", 409) from exc
    return volunteer


# -- binding -------------------------------------------------------------------------------------

def _volunteer_key(id_number: str) -> str:
    return f"bindfail:id:{personal_data.lookup_hash(id_number)}"


def _wechat_key(account: str, openid: str) -> str:
    return f"bindfail:openid:{account}:{openid}"


def _lock_keys(account: str, openid: str, id_number: str, volunteer: Volunteer | None, now) -> list[str]:
    """What a try counts against: the ID number and the WeChat; only the WeChat for the volunteer's
    own (bound to them before); nothing for a WeChat that has just reset the password by SMS code."""
    own = proven_wechat.how_own(account, openid, now, volunteer_id=volunteer.id) if volunteer else None
    if own == proven_wechat.SMS_RESET:
        return []
    if own == proven_wechat.BOUND:
        return [_wechat_key(account, openid)]
    return [_volunteer_key(id_number), _wechat_key(account, openid)]


@functools.cache
def _nobodys_hash() -> str:
    """A hash made like every password's, checked when no volunteer has the ID number."""
    return generate_password_hash(secrets.token_urlsafe(16))


def _password_matches(volunteer: Volunteer | None, password: str) -> bool:
    """One hash check whether or not the ID number is registered: a wrong password costs the same."""
    matches = check_password_hash(volunteer.password_hash if volunteer else _nobodys_hash(), password)
    return matches and volunteer is not None


def _locked(minutes: int) -> RuleViolation:
    return RuleViolation("bind_locked", f"密码错误次数过多，绑定已锁定，请{minutes}分钟后再试。"
                                        "如是本人，可点“忘记密码”用短信验证码重置密码后立即绑定。", 429)


def bind(account: str, openid: str, id_number: str, password: str, *, now, store) -> Volunteer:
    """Bind (account, openid) to the volunteer; a volunteer bound elsewhere on this account moves here.

    Wrong passwords lock (``models.lockout``, counted in ``store`` so every process agrees): five from
    one WeChat lock that WeChat, five on one ID number lock it against every other WeChat — but never
    against the volunteer's own (bound to them before, or that has just reset the password by SMS).
    """
    id_number = (id_number or "").strip().upper()
    if not id_number or not password:
        raise RuleViolation("bind_fields", "请输入证件号码和密码。")
    volunteer = Volunteer.by_id_number(id_number)
    attempt = lockout.attempt(store, _lock_keys(account, openid, id_number, volunteer, now))
    if attempt.refused_minutes:
        raise _locked(attempt.refused_minutes)
    if not _password_matches(volunteer, password):
        if attempt.lock_minutes:
            raise _locked(attempt.lock_minutes)
        raise RuleViolation("bind_wrong", f"证件号码或密码不正确，还可尝试{attempt.left}次。", 401)
    lockout.succeeded(store, attempt)
    for old in Binding.query.filter(Binding.account == account,
                                    (Binding.openid == openid) | (Binding.volunteer_id == volunteer.id)):
        db.session.delete(old)  # row by row, so the binding-change events see the old openid
    db.session.flush()
    db.session.add(Binding(account=account, openid=openid, volunteer_id=volunteer.id, bound_at=now))
    if not flush_or_roll_back():
        raise RuleViolation("bind_conflict", "绑定正在进行，请稍后刷新页面。", 409)
    proven_wechat.note(account, openid, proven_wechat.BOUND, now, volunteer_id=volunteer.id)
    if is_active_admin(volunteer.id):
        note_admin_change(volunteer.id)  # the admin menu follows the admin to this WeChat
    return volunteer


def bind_new(account: str, openid: str, volunteer: Volunteer, now) -> None:
    """Registration on a WeChat page binds the new account to the current openid at once."""
    for old in Binding.query.filter_by(account=account, openid=openid):
        db.session.delete(old)
    db.session.flush()
    db.session.add(Binding(account=account, openid=openid, volunteer_id=volunteer.id, bound_at=now))
    db.session.flush()
    proven_wechat.note(account, openid, proven_wechat.BOUND, now, volunteer_id=volunteer.id)


def unbind(account: str, openid: str) -> Volunteer:
    binding = Binding.query.filter_by(account=account, openid=openid).one_or_none()
    if binding is None:
        raise RuleViolation("not_bound", "当前微信尚未绑定志愿者账号。", 404)
    volunteer = binding.volunteer
    db.session.delete(binding)
    return volunteer


# -- passwords -----------------------------------------------------------------------------------

RESET_CODE_WRONG = ("reset_code_wrong", "验证码不正确或已失效，请核对后重试或重新获取。")


def _matching(id_number: str, name: str) -> Volunteer | None:
    volunteer = Volunteer.by_id_number((id_number or "").strip().upper())
    if volunteer is None or volunteer.name != (name or "").strip():
        return None
    return volunteer


def request_reset_code(id_number: str, name: str, client_ip: str, now, *, store,
                       daily_cap: int) -> tuple[Volunteer, str] | None:
    """忘记密码, step 1: (the volunteer, the code to text them) when the ID number and the name match.

    ``None`` otherwise — and also when the phone may not get another code now (a minute, an hour or
    ``daily_cap`` a day): the page answers the same in every case, so it tells nobody whether a person
    is registered, and it never texts a phone more than the limits allow.
    """
    volunteer = _matching(id_number, name)
    if volunteer is None:
        return None
    try:
        code = sms_code.issue(volunteer.phone, "reset", client_ip, now, store=store, daily_cap=daily_cap)
    except RuleViolation:
        return None
    return volunteer, code


def reset_password(id_number: str, name: str, code: str, password: str, repeat: str, now, *,
                   account: str, openid: str) -> Volunteer:
    """忘记密码, step 2: the code and a new password chosen by the person (never "123456").

    Every failure of the code reads the same, for a person who exists or not.  The WeChat that reset
    the password by SMS code binds at once: for a while no bind lock applies to it (``_lock_keys``).
    """
    identity.check_password(password, repeat)
    volunteer = _matching(id_number, name)
    if volunteer is None:
        raise RuleViolation(*RESET_CODE_WRONG)
    try:
        sms_code.consume(volunteer.phone, "reset", code, now)
    except RuleViolation as exc:
        raise RuleViolation(*RESET_CODE_WRONG) from exc
    volunteer.set_password(password)
    proven_wechat.note(account, openid, proven_wechat.SMS_RESET, now, volunteer_id=volunteer.id)
    return volunteer


def change_password(volunteer: Volunteer, old: str, new: str, repeat: str) -> None:
    if not volunteer.check_password(old or ""):
        raise RuleViolation("old_password_wrong", "原密码不正确。", 401)
    identity.check_password(new, repeat)
    if new == old:
        raise RuleViolation("password_unchanged", "新密码不能与原密码相同。")
    volunteer.set_password(new)


def one_time_password(volunteer: Volunteer) -> str:
    """A random password to hand over once; it must be changed at the next bind or login."""
    alphabet = string.ascii_letters + string.digits
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(10))
        if not password.isdigit() and not password.isalpha():
            break
    volunteer.set_password(password, must_change=True)
    return password


PROFILE_FIELDS = {"education": 30, "native_place": 50, "political_status": 30, "ethnicity": 30,
                  "other_contacts": 200, "country": 50}


def update_profile(volunteer: Volunteer, values: dict) -> None:
    """修改资料: the free fields of 图2-5 (identity fields are fixed by the ID document)."""
    for field, limit in PROFILE_FIELDS.items():
        if field not in values:
            continue
        value = (values[field] or "").strip()
        if len(value) > limit:
            raise RuleViolation("profile_too_long", f"“{field}”不能超过{limit}个字。")
        setattr(volunteer, field, value or None)
    if "country" in values and not volunteer.country:
        volunteer.country = "中国"

"""Identity documents, names, phones and passwords: the checks of 志愿者注册 (manual 图2-2).

Mainland ID numbers are checked for length, birth date, region and check digit; the gender and the
birth date come from the number.  Passports and permits get format checks.

The region is the code of the place where the number was first issued, and it stays on the card for
life: a resident of 崇川区 born in 1944 carries 320602 (a code from 1983), one of the former 港闸区
carries 320611 (merged into 崇川区 in 2020), one of 海门 320684 or 320614.  So a region code is good
when it has *ever* existed — python-stdnum keeps the history — whatever the year of birth.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from stdnum import numdb
from stdnum.cn import ric

from .base import RuleViolation

MAINLAND_ID = "mainland_id"
PASSPORT = "passport"
HK_MACAO_TAIWAN_PERMIT = "permit"
ID_TYPES = {MAINLAND_ID: "内地居民身份证", PASSPORT: "护照", HK_MACAO_TAIWAN_PERMIT: "港澳台通行证"}

GENDERS = {"M": "男", "F": "女"}
PASSPORT_RE = re.compile(r"^(?:[EGDSP]\d{8}|[EG][A-Z]\d{7}|[A-Z0-9]{5,20})$")
PERMIT_RE = re.compile(r"^(?:[HM]\d{8}(?:\d{2})?|\d{8}|[A-Z]\d{8})$")
PHONE_RE = re.compile(r"^1[3-9]\d{9}$")
# A fixed line with or without its area code (0513-85123456, 85123456), an extension allowed (-12).
LANDLINE_RE = re.compile(r"^(?:0\d{2,3}-?)?[2-9]\d{6,7}(?:-\d{1,6})?$")
MAINLAND_ID_RE = re.compile(r"^\d{17}[\dX]$", re.ASCII)
#: No one alive was born earlier; an older year in an ID number is a typing error.
EARLIEST_BIRTH = date(1900, 1, 1)
MIN_AGE = 14
ADULT_AGE = 18
PASSWORD_MIN_LENGTH = 8


@dataclass(frozen=True)
class Identity:
    id_type: str
    number: str
    birth_date: date
    gender: str  # "M" / "F"


LABELS = {"id": "证件号码", "name": "姓名"}


def _no_spaces(value: str, what: str) -> str:
    if not value:
        raise RuleViolation(f"{what}_required", f"请填写{LABELS[what]}。")
    if re.search(r"\s", value):
        raise RuleViolation(f"{what}_spaces", f"{LABELS[what]}中不能有空格。")
    return value


def check_name(name: str) -> str:
    _no_spaces(name, "name")
    if len(name) > 30:
        raise RuleViolation("name_too_long", "姓名不能超过30个字。")
    if re.search(r"[0-9<>\"'&;]", name):
        raise RuleViolation("name_invalid", "姓名中含有不允许的字符。")
    return name


def check_identity(id_type: str, number: str, gender: str, birth_date: date | None, *, today: date) -> Identity:
    """The identity of the form, refused with a message that says what is wrong."""
    if id_type not in ID_TYPES:
        raise RuleViolation("id_type_invalid", "请选择证件类型。")
    _no_spaces(number, "id")
    number = number.upper()
    if gender not in GENDERS:
        raise RuleViolation("gender_required", "请选择性别。")
    if id_type == MAINLAND_ID:
        return _mainland(number, gender, birth_date, today)
    pattern = PASSPORT_RE if id_type == PASSPORT else PERMIT_RE
    if not pattern.match(number):
        raise RuleViolation("id_format", f"{ID_TYPES[id_type]}号码格式不正确。")
    if birth_date is None:
        raise RuleViolation("birth_date_required", "请填写出生日期。")
    return Identity(id_type, number, birth_date, gender)


def region_ever_existed(code: str) -> bool:
    """Whether the six digits have named a province, city or county at any time (python-stdnum's table).

    The table marks each county with the years it was in use (``[1991-2019]崇川区``); those years
    are ignored on purpose, see the module docstring.
    """
    return any(props.get("county") for _part, props in numdb.get("cn/loc").info(code))


def check_mainland_id(number: str, *, today: date) -> str:
    """A mainland ID number (length, birth date, region, check digit), upper-cased; else refused."""
    number = (number or "").strip().upper()
    if len(number) != 18:
        raise RuleViolation("id_length", "身份证号码应为18位。")
    if not MAINLAND_ID_RE.match(number):
        raise RuleViolation("id_format", "身份证号码格式不正确：前17位应为数字，最后一位为数字或X。")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError as exc:
        raise RuleViolation("id_birth_date", "身份证号码中的出生日期（第7至14位）不存在，请核对。") from exc
    if born > today:
        raise RuleViolation("id_birth_date", "身份证号码中的出生日期（第7至14位）晚于今天，请核对。")
    if born < EARLIEST_BIRTH:
        raise RuleViolation("id_birth_date", f"身份证号码中的出生年份早于{EARLIEST_BIRTH.year}年，请核对。")
    if not region_ever_existed(number[:6]):
        raise RuleViolation("id_region", "身份证号码前6位的地区代码不存在，请核对。")
    if number[17] != ric.calc_check_digit(number):
        raise RuleViolation("id_checksum", "身份证号码校验位不正确，请核对。")
    return number


def _mainland(number: str, gender: str, birth_date: date | None, today: date) -> Identity:
    number = check_mainland_id(number, today=today)
    born = ric.get_birth_date(number)
    sex = "M" if int(number[16]) % 2 == 1 else "F"
    if gender != sex:
        raise RuleViolation("gender_mismatch", "所选性别与身份证号码不一致。")
    if birth_date is not None and birth_date != born:
        raise RuleViolation("birth_date_mismatch", "出生日期与身份证号码不一致。")
    return Identity("mainland_id", number, born, sex)


def age_on(birth_date: date, today: date) -> int:
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))


def check_age(birth_date: date, today: date, guardian_name: str | None, guardian_phone: str | None,
              guardian_consent: bool) -> bool:
    """Under 14 refused; 14–17 need a guardian's name, phone and consent.  True for a minor."""
    age = age_on(birth_date, today)
    if age < MIN_AGE:
        raise RuleViolation("too_young", "未满14周岁不能注册为志愿者。")
    if age >= ADULT_AGE:
        return False
    if not guardian_name or not guardian_phone or not guardian_consent:
        raise RuleViolation("guardian_required", "未满18周岁的志愿者须填写监护人姓名、电话并勾选监护人同意。")
    check_name(guardian_name)
    check_phone(guardian_phone)
    return True


def check_phone(phone: str) -> str:
    phone = (phone or "").strip()
    if not PHONE_RE.match(phone):
        raise RuleViolation("phone_invalid", "请输入正确的11位手机号码。")
    return phone


def check_password(password: str, repeat: str | None = None) -> str:
    """At least 8 characters, not only digits or only letters."""
    if repeat is not None and password != repeat:
        raise RuleViolation("password_mismatch", "两次输入的密码不一致。")
    if len(password or "") < PASSWORD_MIN_LENGTH:
        raise RuleViolation("password_short", "密码至少8位。")
    if password.isdigit():
        raise RuleViolation("password_digits", "密码不能全是数字，请混合字母和数字。")
    if password.isalpha():
        raise RuleViolation("password_letters", "密码不能全是字母，请混合字母和数字。")
    return password


def is_contact_phone(text: str) -> bool:
    """A mobile number or a fixed line: what a contact phone (联系电话) may be."""
    return bool(PHONE_RE.match(text) or LANDLINE_RE.match(text))

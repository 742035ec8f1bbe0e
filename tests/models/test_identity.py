"""Registration checks as tables (python-stdnum does the check digits)."""

from datetime import date

import pytest

from models import RuleViolation, identity

TODAY = date(2026, 11, 29)


@pytest.mark.parametrize("number, gender, code", [
    ("32060219900101123X", "M", None),            # valid, check digit X, male
    ("32060219900101123x", "M", None),            # lower-case x accepted
    ("320602199001011248", "F", None),            # valid, female
    ("320602199001011248", "M", "gender_mismatch"),
    ("320602199001011233", "M", "id_checksum"),   # wrong check digit
    ("32060219900101123", "M", "id_length"),      # 17 digits
    ("3206021990010112345", "M", "id_length"),
    ("320602200002300012", "M", "id_component"),  # 30 February
    ("999999199001011238", "M", "id_component"),  # no such region
    ("3206021990 0101123X", "M", "id_spaces"),
    ("", "M", "id_required"),
    ("32060219900101123X", "", "gender_required"),
])
def test_mainland_id_numbers(number, gender, code):
    if code is None:
        person = identity.check_identity("mainland_id", number, gender, None)
        assert person.birth_date == date(1990, 1, 1) and person.number == number.upper()
    else:
        with pytest.raises(RuleViolation) as err:
            identity.check_identity("mainland_id", number, gender, None)
        assert err.value.code == code


def test_birth_date_given_must_agree_with_the_number():
    with pytest.raises(RuleViolation) as err:
        identity.check_identity("mainland_id", "32060219900101123X", "M", date(1990, 1, 2))
    assert err.value.code == "birth_date_mismatch"


@pytest.mark.parametrize("id_type, number, ok", [
    ("passport", "E12345678", True), ("passport", "E-1234567", False), ("passport", "AB12", False),
    ("passport", "X1234567890", True), ("permit", "H12345678", True), ("permit", "M1234567890", True),
    ("permit", "12345678", True), ("permit", "Z123", False), ("permit", "H1234 5678", False),
])
def test_passports_and_permits_get_format_checks(id_type, number, ok):
    if ok:
        assert identity.check_identity(id_type, number, "F", date(1990, 5, 5)).birth_date == date(1990, 5, 5)
    else:
        with pytest.raises(RuleViolation):
            identity.check_identity(id_type, number, "F", date(1990, 5, 5))


def test_passport_needs_a_birth_date():
    with pytest.raises(RuleViolation) as err:
        identity.check_identity("passport", "E12345678", "F", None)
    assert err.value.code == "birth_date_required"


@pytest.mark.parametrize("name, code", [("张亚林", None), ("张 亚林", "name_spaces"), ("", "name_required"),
                                        ("张亚林1", "name_invalid"), ("张" * 31, "name_too_long")])
def test_names(name, code):
    if code is None:
        assert identity.check_name(name) == name
    else:
        with pytest.raises(RuleViolation) as err:
            identity.check_name(name)
        assert err.value.code == code


@pytest.mark.parametrize("password, repeat, code", [
    ("abcd1234", "abcd1234", None), ("abc123", "abc123", "password_short"), ("12345678", "12345678", "password_digits"),
    ("abcdefgh", "abcdefgh", "password_letters"), ("abcd1234", "abcd12345", "password_mismatch"),
    ("密码密码密码12", "密码密码密码12", None),
])
def test_password_policy(password, repeat, code):
    if code is None:
        identity.check_password(password, repeat)
    else:
        with pytest.raises(RuleViolation) as err:
            identity.check_password(password, repeat)
        assert err.value.code == code


@pytest.mark.parametrize("birth, guardian, expected", [
    (date(2012, 11, 30), None, "too_young"),          # one day short of 14
    (date(2012, 11, 29), None, "guardian_required"),  # 14 today: needs a guardian
    (date(2012, 11, 29), ("李华", "13900000001", True), True),
    (date(2010, 6, 15), ("李华", "13900000001", False), "guardian_required"),  # no consent
    (date(2010, 6, 15), ("李华", "123", True), "phone_invalid"),
    (date(2008, 11, 29), None, False),                # 18 today: adult
])
def test_minors(birth, guardian, expected):
    name, phone, consent = guardian or (None, None, False)
    if isinstance(expected, bool):
        assert identity.check_age(birth, TODAY, name, phone, consent) is expected
    else:
        with pytest.raises(RuleViolation) as err:
            identity.check_age(birth, TODAY, name, phone, consent)
        assert err.value.code == expected


@pytest.mark.parametrize("phone, ok", [("13962805656", True), ("1396280565", False), ("23962805656", False),
                                       ("139 6280 5656", False), ("12962805656", False)])
def test_phones(phone, ok):
    if ok:
        assert identity.check_phone(phone) == phone
    else:
        with pytest.raises(RuleViolation):
            identity.check_phone(phone)

"""Registration checks as tables: ID numbers of Nantong residents, names, passwords, minors, phones."""

from datetime import date

import pytest
from stdnum.cn import ric

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
    ("320602200002300012", "M", "id_birth_date"),  # 30 February
    ("999999199001011238", "M", "id_region"),      # no such region
    ("3206021990 0101123X", "M", "id_spaces"),
    ("", "M", "id_required"),
    ("32060219900101123X", "", "gender_required"),
])
def test_mainland_id_numbers(number, gender, code):
    if code is None:
        person = identity.check_identity("mainland_id", number, gender, None, today=TODAY)
        assert person.birth_date == date(1990, 1, 1) and person.number == number.upper()
    else:
        with pytest.raises(RuleViolation) as err:
            identity.check_identity("mainland_id", number, gender, None, today=TODAY)
        assert err.value.code == code


def _number(first17: str) -> str:
    return first17 + ric.calc_check_digit(first17 + "0")


# Cards keep the code of the place of first issue for life, whatever the code's years of use.
@pytest.mark.parametrize("number, born, gender", [
    ("320602194403151021", date(1944, 3, 15), "F"),  # 崇川区, a code from 1983, for a woman born 1944
    ("320611194406222047", date(1944, 6, 22), "F"),  # 港闸区, merged into 崇川区 in 2020
    ("320602193001011013", date(1930, 1, 1), "M"),   # the oldest of the table, 崇川区
    (_number("32061319380909031"), date(1938, 9, 9), "M"),   # 崇川区 since 2020
    (_number("32061219410512062"), date(1941, 5, 12), "F"),  # 通州区, a code from 2009
    (_number("32068319470218077"), date(1947, 2, 18), "M"),  # 通州市, 1993–2009
    (_number("32062419490101088"), date(1949, 1, 1), "F"),   # 南通县, before 1993
    (_number("32062119521130015"), date(1952, 11, 30), "M"), # 海安县, until 2018
    (_number("32068519550707026"), date(1955, 7, 7), "F"),   # 海安市, from 2018
    (_number("32062319600229039"), date(1960, 2, 29), "M"),  # 如东县, a leap day
    (_number("32068119630815044"), date(1963, 8, 15), "F"),  # 启东市, from 1989
    (_number("32068219681001051"), date(1968, 10, 1), "M"),  # 如皋市, from 1991
    (_number("32062219720606064"), date(1972, 6, 6), "F"),   # 如皋县, before 1991
    (_number("32062519750320073"), date(1975, 3, 20), "M"),  # 海门县, before 1994
    ("320684198208084524", date(1982, 8, 8), "F"),   # 海门市, 1994–2020
    (_number("32061419821231099"), date(1982, 12, 31), "M"), # 海门区, from 2020
    (_number("32060019450101002"), date(1945, 1, 1), "F"),   # 南通市 itself
])
def test_residents_under_todays_and_abolished_codes_are_accepted(number, born, gender):
    person = identity.check_identity("mainland_id", number, gender, born, today=TODAY)
    assert (person.number, person.birth_date, person.gender) == (number, born, gender)
    assert identity.check_mainland_id(number, today=TODAY) == number


@pytest.mark.parametrize("number, code, words", [
    (_number("32060319440315102"), "id_region", "地区代码不存在"),   # 320603: 南通 has no such district
    (_number("32069919440315102"), "id_region", "地区代码不存在"),
    (_number("99999919440315102"), "id_region", "地区代码不存在"),
    (_number("00000019440315102"), "id_region", "地区代码不存在"),
    (_number("32060220261130102"), "id_birth_date", "晚于今天"),      # tomorrow
    (_number("32060220300101102"), "id_birth_date", "晚于今天"),
    (_number("32060218990101102"), "id_birth_date", "早于1900年"),
    (_number("32060219440230102"), "id_birth_date", "不存在"),        # 30 February
    (_number("32060219430229102"), "id_birth_date", "不存在"),        # 1943 was no leap year
    (_number("32060219441301102"), "id_birth_date", "不存在"),        # month 13
    (_number("32060219440100102"), "id_birth_date", "不存在"),        # day 0
    ("320602194403151022", "id_checksum", "校验位"),
    ("320611194406222040", "id_checksum", "校验位"),
    ("32060219440315102A", "id_format", "格式"),
    ("３２０６０２１９４４０３１５１０２１", "id_format", "格式"),     # full-width digits
    ("32060219440315102", "id_length", "18位"),
])
def test_ids_refused_each_with_its_reason(number, code, words):
    with pytest.raises(RuleViolation) as err:
        identity.check_mainland_id(number, today=TODAY)
    assert err.value.code == code and words in err.value.message and err.value.status == 400


def test_the_birth_date_of_today_is_not_in_the_future():
    assert identity.check_mainland_id(_number("32060220261129102"), today=TODAY)


def test_birth_date_given_must_agree_with_the_number():
    with pytest.raises(RuleViolation) as err:
        identity.check_identity("mainland_id", "32060219900101123X", "M", date(1990, 1, 2), today=TODAY)
    assert err.value.code == "birth_date_mismatch"


@pytest.mark.parametrize("id_type, number, ok", [
    ("passport", "E12345678", True), ("passport", "E-1234567", False), ("passport", "AB12", False),
    ("passport", "X1234567890", True), ("permit", "H12345678", True), ("permit", "M1234567890", True),
    ("permit", "12345678", True), ("permit", "Z123", False), ("permit", "H1234 5678", False),
])
def test_passports_and_permits_get_format_checks(id_type, number, ok):
    if ok:
        assert identity.check_identity(id_type, number, "F", date(1990, 5, 5), today=TODAY).birth_date == date(1990, 5, 5)
    else:
        with pytest.raises(RuleViolation):
            identity.check_identity(id_type, number, "F", date(1990, 5, 5), today=TODAY)


def test_passport_needs_a_birth_date():
    with pytest.raises(RuleViolation) as err:
        identity.check_identity("passport", "E12345678", "F", None, today=TODAY)
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

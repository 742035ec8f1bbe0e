"""Registration, SMS codes, binding with lockout, passwords — on both engines."""

from datetime import date, datetime, timedelta

import pytest

from models import (
    Binding,
    RuleViolation,
    Volunteer,
    accounts,
    db,
    personal_data,
    proven_wechat,
    sms_code,
    volunteer_qr,
)
from tests.support.people import id_number, make_volunteer, phone

NOW = datetime(2026, 11, 29, 2, 0, 0)
TODAY = date(2026, 11, 29)


def form(**over):
    values = dict(id_type="mainland_id", id_number=id_number("19900101", male=True), name="张亚林", gender="M",
                  password="secret123", password_repeat="secret123", phone=phone(), sms_code="")
    values.update(over)
    return accounts.Registration(**values)


_ips = iter(range(1, 10**6))


def issue(phone_number, purpose, client_ip, now, daily_cap=10):
    from flask import current_app

    return sms_code.issue(phone_number, purpose, client_ip, now, store=current_app.extensions["wx_store"],
                          daily_cap=daily_cap)


def register(f, now=NOW):
    f.sms_code = issue(f.phone, "register", f"10.0.{next(_ips)}.1", now)
    volunteer = accounts.register(f, now=now, today=TODAY, number_prefix="3206")
    db.session.commit()
    return volunteer


def test_registration_encrypts_and_numbers(any_app):
    with any_app.app.app_context():
        f = form()
        v = register(f)
        assert len(v.number) == 15 and v.number.startswith("3206") and v.number.isdigit()
        assert v.id_number == f.id_number and v.phone == f.phone
        row = db.session.execute(db.text("SELECT * FROM volunteer WHERE id = :i"), {"i": v.id}).mappings().one()
        dump = " ".join(str(x) for x in row.values())
        assert f.id_number not in dump and f.phone not in dump, "the database alone must not reveal them"
        assert row["id_number_masked"] == f.id_number[:4] + "*" * 10 + f.id_number[-4:]
        second = register(form())
        assert int(second.number) == int(v.number) + 1


def test_numbers_are_never_reused(any_app):
    with any_app.app.app_context():
        first = register(form())
        number = first.number
        db.session.delete(first)
        db.session.commit()
        assert register(form()).number != number


def test_same_id_or_phone_cannot_register_twice(any_app):
    with any_app.app.app_context():
        f = form()
        register(f)
        with pytest.raises(RuleViolation) as err:
            register(form(id_number=f.id_number))
        assert err.value.code == "id_registered"
        db.session.rollback()
        with pytest.raises(RuleViolation) as err:
            register(form(phone=f.phone), now=NOW + timedelta(minutes=2))
        assert err.value.code == "phone_registered" and "已被注册" in err.value.message


def test_minor_registration_stores_guardian(any_app):
    with any_app.app.app_context():
        f = form(id_number=id_number("20100615", male=False), gender="F", guardian_name="李华",
                 guardian_phone="13900000001", guardian_consent=True)
        v = register(f)
        assert v.guardian_name == "李华" and v.guardian_consent_at == NOW
        assert personal_data.decrypt(v.guardian_phone_encrypted) == "13900000001"


def test_sms_code_is_single_use_and_expires(any_app):
    with any_app.app.app_context():
        p = phone()
        code = issue(p, "register", "1.1.1.1", NOW)
        db.session.commit()
        with pytest.raises(RuleViolation) as err:
            sms_code.consume(p, "register", "000000" if code != "000000" else "111111", NOW)
        assert err.value.code == "sms_code_wrong"
        sms_code.consume(p, "register", code, NOW + timedelta(minutes=29))
        db.session.commit()
        with pytest.raises(RuleViolation):
            sms_code.consume(p, "register", code, NOW + timedelta(minutes=29))
        p2 = phone()
        code2 = issue(p2, "register", "1.1.1.2", NOW)
        db.session.commit()
        with pytest.raises(RuleViolation) as err:
            sms_code.consume(p2, "register", code2, NOW + timedelta(minutes=31))
        assert err.value.code == "sms_code_invalid"


def test_sms_rate_limits_per_phone_and_per_address(any_app):
    with any_app.app.app_context():
        p = phone()
        issue(p, "register", "2.2.2.2", NOW)
        db.session.commit()
        with pytest.raises(RuleViolation) as err:
            issue(p, "register", "3.3.3.3", NOW + timedelta(seconds=59))
        assert err.value.code == "sms_too_soon" and err.value.status == 429
        for minute in range(1, 5):
            issue(p, "register", f"4.4.4.{minute}", NOW + timedelta(minutes=minute * 2))
            db.session.commit()
        with pytest.raises(RuleViolation) as err:
            issue(p, "register", "5.5.5.5", NOW + timedelta(minutes=20))
        assert err.value.code == "sms_hourly_limit"
        issue(p, "register", "5.5.5.5", NOW + timedelta(minutes=61))  # the hour has passed
        # per client address: a different phone from the same address within a minute
        with pytest.raises(RuleViolation):
            issue(phone(), "register", "5.5.5.5", NOW + timedelta(minutes=61, seconds=30))


def test_bind_moves_between_openids_and_accounts_are_separate(any_app):
    with any_app.app.app_context():
        store = any_app.app.extensions["wx_store"]
        v = make_volunteer(password="pass1234")
        accounts.bind("demo", "o_first", v.id_number, "pass1234", now=NOW, store=store)
        db.session.commit()
        accounts.bind("county", "o_first_c", v.id_number, "pass1234", now=NOW, store=store)
        db.session.commit()
        accounts.bind("demo", "o_second", v.id_number, "pass1234", now=NOW, store=store)
        db.session.commit()
        assert Binding.volunteer_for("demo", "o_first") is None
        assert Binding.volunteer_for("demo", "o_second").id == v.id
        assert Binding.volunteer_for("county", "o_first_c").id == v.id


def _wrong(store, openid, number, times=1, account="demo"):
    codes = []
    for _ in range(times):
        with pytest.raises(RuleViolation) as err:
            accounts.bind(account, openid, number, "wrong-pass1", now=NOW, store=store)
        codes.append(err.value.code)
    return codes


def test_five_wrong_passwords_lock_binding_for_15_minutes(any_app):
    with any_app.app.app_context():
        store = any_app.app.extensions["wx_store"]
        v = make_volunteer(password="pass1234")
        assert _wrong(store, "o_lock", v.id_number, 5) == ["bind_wrong"] * 4 + ["bind_locked"]
        with pytest.raises(RuleViolation) as err:   # even the right password, from another openid
            accounts.bind("demo", "o_other", v.id_number, "pass1234", now=NOW, store=store)
        assert err.value.code == "bind_locked" and "15分钟" in err.value.message
        other = make_volunteer(password="pass1234")
        with pytest.raises(RuleViolation) as err:   # and the locked openid for another ID number
            accounts.bind("demo", "o_lock", other.id_number, "pass1234", now=NOW, store=store)
        assert err.value.code == "bind_locked"


def test_each_lock_on_an_id_number_lasts_twice_as_long(any_app):
    with any_app.app.app_context():
        store = any_app.app.extensions["wx_store"]
        v = make_volunteer(password="pass1234")
        key = accounts._volunteer_key(v.id_number)
        for round_, minutes in enumerate((15, 30, 60)):
            codes = [_wrong(store, f"o_guess_{round_}_{i}", v.id_number)[0] for i in range(5)]
            assert codes == ["bind_wrong"] * 4 + ["bind_locked"]
            assert store.ttl(f"{key}:locked") > (minutes - 1) * 60
            store.delete_many([f"{key}:locked", f"{key}:tries"])  # the lock has run out


def test_strangers_cannot_lock_the_volunteer_out_of_a_wechat_bound_before(any_app):
    with any_app.app.app_context():
        store = any_app.app.extensions["wx_store"]
        v = make_volunteer(name="顾秀英", password="guxiuying1", birth_date=date(1946, 3, 8))
        accounts.bind("demo", "o_gu_phone", v.id_number, "guxiuying1", now=NOW, store=store)
        db.session.commit()
        accounts.unbind("demo", "o_gu_phone")
        db.session.commit()
        for i in range(6):
            _wrong(store, f"o_stranger_{i}", v.id_number)
        with pytest.raises(RuleViolation) as err:
            accounts.bind("demo", "o_stranger_9", v.id_number, "guxiuying1", now=NOW, store=store)
        assert err.value.code == "bind_locked"
        assert accounts.bind("demo", "o_gu_phone", v.id_number, "guxiuying1", now=NOW, store=store).id == v.id


def test_a_password_just_reset_by_sms_binds_despite_the_lock(any_app):
    with any_app.app.app_context():
        store = any_app.app.extensions["wx_store"]
        v = make_volunteer(name="王小明", password="oldpass12")
        for i in range(5):
            _wrong(store, f"o_stranger_{i}", v.id_number)
        for openid in ("o_new_phone", "o_stranger_9"):
            with pytest.raises(RuleViolation) as err:
                accounts.bind("demo", openid, v.id_number, "oldpass12", now=NOW, store=store)
            assert err.value.code == "bind_locked"
        _, code = accounts.request_reset_code(v.id_number, "王小明", "9.9.9.9", NOW, store=store, daily_cap=5)
        db.session.commit()
        accounts.reset_password(v.id_number, "王小明", code, "newpass12", "newpass12", NOW, account="demo",
                                openid="o_new_phone")
        db.session.commit()
        with pytest.raises(RuleViolation) as err:   # a stranger is still locked out, even with the new password
            accounts.bind("demo", "o_stranger_9", v.id_number, "newpass12", now=NOW, store=store)
        assert err.value.code == "bind_locked"
        assert accounts.bind("demo", "o_new_phone", v.id_number, "newpass12", now=NOW, store=store).id == v.id
        assert proven_wechat.how_own("demo", "o_new_phone", NOW + timedelta(hours=2), volunteer_id=v.id) == "bound"


def test_the_trust_of_an_sms_reset_lasts_an_hour(any_app):
    with any_app.app.app_context():
        v = make_volunteer()
        proven_wechat.note("demo", "o_reset_only", proven_wechat.SMS_RESET, NOW, volunteer_id=v.id)
        db.session.commit()
        assert proven_wechat.how_own("demo", "o_reset_only", NOW + timedelta(minutes=59), volunteer_id=v.id) == "sms_reset"
        assert proven_wechat.how_own("demo", "o_reset_only", NOW + timedelta(minutes=61), volunteer_id=v.id) is None
        assert proven_wechat.how_own("county", "o_reset_only", NOW, volunteer_id=v.id) is None


def test_the_password_hash_runs_once_whether_or_not_the_id_number_is_registered(any_app, monkeypatch):
    """A wrong password for a registered ID costs what one for an unknown ID costs: one hash check."""
    calls = []
    real = accounts.check_password_hash

    def counted(digest, password):
        calls.append(digest)
        return real(digest, password)

    monkeypatch.setattr(accounts, "check_password_hash", counted)
    with any_app.app.app_context():
        store = any_app.app.extensions["wx_store"]
        v = make_volunteer(password="pass1234")
        _wrong(store, "o_probe_1", v.id_number)
        assert len(calls) == 1 and calls[0] == v.password_hash
        _wrong(store, "o_probe_2", id_number("19450307"))
        assert len(calls) == 2 and calls[1].split("$")[0] == v.password_hash.split("$")[0], "the same method and cost"


def test_password_reset_needs_name_code_and_a_new_password(any_app):
    with any_app.app.app_context():
        store = any_app.app.extensions["wx_store"]
        v = make_volunteer(name="王小明", password="oldpass12")
        _, code = accounts.request_reset_code(v.id_number, "王小明", "9.9.9.9", NOW, store=store, daily_cap=5)
        db.session.commit()
        with pytest.raises(RuleViolation) as err:
            accounts.reset_password(v.id_number, "王小明", code, "123456", "123456", NOW, account="demo",
                                    openid="o_reset")
        assert err.value.code == "password_short"
        accounts.reset_password(v.id_number, "王小明", code, "newpass12", "newpass12", NOW, account="demo",
                                openid="o_reset")
        db.session.commit()
        assert Volunteer.query.get(v.id).check_password("newpass12")


def test_password_reset_answers_the_same_whether_or_not_the_person_exists(any_app):
    with any_app.app.app_context():
        store = any_app.app.extensions["wx_store"]
        v = make_volunteer(name="王小明", password="oldpass12")
        assert accounts.request_reset_code(v.id_number, "王大明", "9.9.9.8", NOW, store=store, daily_cap=5) is None
        assert accounts.request_reset_code(id_number("19480512"), "王小明", "9.9.9.7", NOW, store=store,
                                           daily_cap=5) is None
        assert sms_code.SmsCode.query.count() == 0, "nothing is texted to anyone"
        refusals = []
        for number, name in ((v.id_number, "王小明"), (v.id_number, "王大明"), (id_number("19480512"), "王小明")):
            with pytest.raises(RuleViolation) as err:
                accounts.reset_password(number, name, "123456", "newpass12", "newpass12", NOW, account="demo",
                                        openid="o_reset")
            refusals.append((err.value.code, err.value.message, err.value.status))
        assert len(set(refusals)) == 1


def test_a_phone_gets_at_most_the_daily_cap_of_codes(any_app):
    """Within the per-minute and per-hour limits, a phone still gets no more than ``daily_cap`` a day."""
    with any_app.app.app_context():
        v = make_volunteer(name="王小明", password="oldpass12")
        store = any_app.app.extensions["wx_store"]
        sent = []
        for hour in range(6):
            sent.append(accounts.request_reset_code(v.id_number, "王小明", f"9.9.8.{hour}", NOW + timedelta(hours=hour),
                                                    store=store, daily_cap=3))
            db.session.commit()
        assert [bool(s) for s in sent] == [True] * 3 + [False] * 3
        with pytest.raises(RuleViolation) as err:
            issue(phone(), "register", "9.9.7.1", NOW, daily_cap=0)
        assert err.value.code == "sms_daily_limit" and err.value.status == 429


def test_one_time_password_must_be_changed(any_app):
    with any_app.app.app_context():
        v = make_volunteer()
        otp = accounts.one_time_password(v)
        assert v.password_must_change and v.check_password(otp) and len(otp) == 10
        accounts.change_password(v, otp, "brandnew1", "brandnew1")
        assert not v.password_must_change
        with pytest.raises(RuleViolation) as err:
            accounts.change_password(v, "nope", "another12", "another12")
        assert err.value.code == "old_password_wrong"


def test_qr_payload_round_trip_and_regeneration(any_app):
    with any_app.app.app_context():
        v = make_volunteer()
        old = volunteer_qr.payload(v)
        assert v.number not in old and v.id_number not in old
        assert volunteer_qr.volunteer_for(old).id == v.id
        assert volunteer_qr.volunteer_for("JHZY-V1:" + "x" * 24) is None
        assert volunteer_qr.volunteer_for(v.number) is None, "a volunteer number is not a QR payload"
        new = volunteer_qr.regenerate(v)
        db.session.commit()
        assert volunteer_qr.volunteer_for(old) is None and volunteer_qr.volunteer_for(new).id == v.id


def test_masks():
    assert personal_data.mask_id("32060219900101123X") == "3206**********123X"
    assert personal_data.mask_phone("13962805656") == "139****5656"
    assert personal_data.mask_name("张亚林") == "张*林" and personal_data.mask_name("张三") == "张*"

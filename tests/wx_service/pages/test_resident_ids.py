"""Elders' ID numbers through every page that takes one: registration, binding, password reset, the
help-seeker form and its binding, temporary admins of a project.

Two residents born in 1944: one of 崇川区 (320602, a code first used in 1983) and one of the former
港闸区 (320611, merged into 崇川区 in 2020).  Their cards carry those codes for life.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from models import Binding, ProjectTempAdmin, Volunteer, db, utcnow
from models import help_seeker as hs
from tests.support.help import build_help, seeker_fields
from tests.support.orgs import build_tree
from tests.support.people import bind, csrf_token, resident, sign_in
from tests.support.projects import fields

ELDERS = {"崇川 320602": ("19440315", "320602"), "港闸 320611": ("19440622", "320611")}


@pytest.fixture(params=list(ELDERS))
def elder(request):
    birth, region = ELDERS[request.param]
    return resident(birth, region)


def register(handle, elder, openid: str):
    """志愿者注册 as the elder would fill it in; the response."""
    client = sign_in(handle.client(), openid)
    token = csrf_token(client, "/m/register?account=demo")
    sent = client.post("/m/api/sms-code?account=demo", json={"phone": elder.phone}, headers={"X-CSRFToken": token})
    assert sent.status_code == 200, sent.get_json()
    code = re.search(r"验证码是(\d{6})", handle.app.extensions["wx_sms"].last_to(elder.phone)).group(1)
    return client.post("/m/register?account=demo", data=dict(
        csrf_token=token, id_type="mainland_id", id_number=elder.id_number, name=elder.name, gender=elder.gender,
        password="jiangbin1944", password_repeat="jiangbin1944", phone=elder.phone, sms_code=code))


def test_an_elder_registers_with_the_code_on_the_card(any_app, elder):
    res = register(any_app, elder, "o_elder_reg")
    assert res.status_code == 302, re.findall(r"weui-toptips[^>]*>([^<]+)", res.get_data(as_text=True))
    with any_app.app.app_context():
        volunteer = Volunteer.by_id_number(elder.id_number)
        assert (volunteer.name, volunteer.birth_date, volunteer.gender) == (elder.name, elder.birth_date,
                                                                            elder.gender)
        assert Binding.volunteer_for("demo", "o_elder_reg").id == volunteer.id


def test_the_registered_elder_binds_another_wechat(any_app, elder):
    assert register(any_app, elder, "o_elder_first").status_code == 302
    client = sign_in(any_app.client(), "o_elder_grandson")
    res = client.post("/m/bind?account=demo", data={"csrf_token": csrf_token(client, "/m/bind?account=demo"),
                                                    "id_number": elder.id_number, "password": "jiangbin1944"})
    assert res.status_code == 302
    with any_app.app.app_context():
        assert Binding.volunteer_for("demo", "o_elder_grandson").id == Volunteer.by_id_number(elder.id_number).id


def test_the_registered_elder_resets_the_password(any_app, elder, monkeypatch):
    assert register(any_app, elder, "o_elder_forgot").status_code == 302
    monkeypatch.setitem(any_app.app.config, "CLOCK_NOW", utcnow() + timedelta(minutes=2))  # a new SMS code may go
    client = sign_in(any_app.client(), "o_elder_forgot")
    token = csrf_token(client, "/m/password/forgot?account=demo")
    asked = client.post("/m/password/forgot?account=demo", data={"csrf_token": token, "step": "identify",
                                                                 "id_number": elder.id_number, "name": elder.name})
    assert asked.status_code == 200
    code = re.search(r"验证码是(\d{6})", any_app.app.extensions["wx_sms"].last_to(elder.phone)).group(1)
    reset = client.post("/m/password/forgot?account=demo", data={
        "csrf_token": token, "step": "reset", "id_number": elder.id_number, "name": elder.name, "sms_code": code,
        "password": "haohe2024", "password_repeat": "haohe2024"})
    assert reset.status_code == 302
    with any_app.app.app_context():
        assert Volunteer.by_id_number(elder.id_number).check_password("haohe2024")


def test_a_station_records_the_elder_as_a_help_seeker_who_then_binds(any_app, elder):
    with any_app.app.app_context():
        ids = build_help(1, seeker_openid=None)
        bind(db.session.get(Volunteer, ids["admins"]["street"]), "o_admin_street")
    street = sign_in(any_app.client(), "o_admin_street")
    form = seeker_fields(name=elder.name, id_number=elder.id_number, address=elder.address, mobile=elder.phone)
    made = street.post("/m/admin/seekers/new", data={**form, "csrf_token": csrf_token(street, "/m/admin/seekers/new"),
                                                     "volunteers": ids["numbers"][0]})
    assert made.status_code == 302, made.get_data(as_text=True)[-800:]
    with any_app.app.app_context():
        seeker = hs.HelpSeeker.query.filter_by(name=elder.name).one()
        assert seeker.id_number == elder.id_number
        hs.review_seeker(db.session.get(Volunteer, ids["admins"]["district"]), seeker.id, True, now=utcnow())
        db.session.commit()
    family = sign_in(any_app.client(), "o_elder_phone")
    bound = family.post("/m/help/bind?account=demo", data={"csrf_token": csrf_token(family, "/m/help?account=demo"),
                                                           "id_number": elder.id_number, "phone": elder.phone})
    assert bound.status_code == 302


def test_the_registered_elder_is_named_temporary_admin_of_a_project(any_app, elder):
    assert register(any_app, elder, "o_elder_temp").status_code == 302
    with any_app.app.app_context():
        _, admins = build_tree(now=utcnow())
        bind(admins["street"], "o_admin_street")
    admin = sign_in(any_app.client(), "o_admin_street")
    today = (utcnow() + timedelta(hours=8)).date()
    form = fields(name="和平桥社区重阳敬老活动", signup_start=today.isoformat(),
                  signup_end=(today + timedelta(days=6)).isoformat(), start_date=(today + timedelta(days=7)).isoformat(),
                  end_date=(today + timedelta(days=8)).isoformat(), temp_admin_id_numbers=elder.id_number,
                  service_targets="社会公众")
    res = admin.post("/m/admin/publish", data={**form, "csrf_token": csrf_token(admin, "/m/admin/publish")})
    assert res.status_code == 302, re.findall(r"weui-toptips[^>]*>([^<]+)", res.get_data(as_text=True))
    with any_app.app.app_context():
        temp = ProjectTempAdmin.query.one()
        assert temp.volunteer_id == Volunteer.by_id_number(elder.id_number).id

"""Exposure: whole ID numbers and phones reach only the people who need them, and pages say how to keep them.

The project edit page used to carry every temporary admin's whole ID number in its form, for every admin
above the project's org to read; it now keeps them by volunteer id and shows them masked.  The same class
is crawled for admins: every GET page of the URL map, opened by the root org's admin and by a station admin
over the seeded demo city (with temporary admins on its projects), shows no other person's whole ID number
or phone.  Then the headers: no framing by other sites, no MIME sniffing, ``no-store`` on the mobile pages,
and a JSON 401 for the pages' JSON calls without a session.
"""

from __future__ import annotations

import itertools
import re
from datetime import date

import pytest
from werkzeug.datastructures import MultiDict

from models import Binding, OrgAdmin, Volunteer, db, project_rules, utcnow
from models import project as pr
from tests.reliability.test_masking import get_paths, secrets_not_of
from tests.support.orgs import bind_admins, build_tree, make_volunteer
from tests.support.people import bind, csrf_token, id_number, sign_in, text
from tests.support.projects import typed
from tests.wx_service.pages.test_project_pages import live_fields
from wx_service.dev.demo import seed_demo

_phones = itertools.count(1)


def elder(name: str, born: date, gender: str = "M"):
    """A retired volunteer of Chongchuan district, with an ID number that matches the birth date."""
    volunteer = make_volunteer(name)
    volunteer.gender, volunteer.birth_date = gender, born
    volunteer.set_id_number(id_number(born.strftime("%Y%m%d"), male=gender == "M"))
    volunteer.set_phone(f"1381316{next(_phones):04d}")
    db.session.commit()
    return volunteer


@pytest.fixture
def project_with_helpers(app_lite):
    """A district station's project with two temporary admins; the root org's admin opens its edit page."""
    with app_lite.app.app_context():
        orgs, admins = build_tree(now=utcnow())
        bind_admins(admins)
        district = db.session.get(Volunteer, db.session.scalar(
            db.select(OrgAdmin.volunteer_id).where(OrgAdmin.org_id == orgs["district"].id)))
        gu, lu = elder("顾建华", date(1949, 3, 12)), elder("陆美珍", date(1952, 10, 1), "F")
        zhu = elder("朱德兴", date(1947, 6, 30))
        project = project_rules.publish_project(district, typed(live_fields(temp_admin_id_numbers=f"{gu.id_number};{lu.id_number}")),
                                     now=utcnow())
        db.session.commit()
        people = {v.name: (v.id, v.id_number, v.id_number_masked) for v in (gu, lu, zhu)}
        yield app_lite, project.id, people


def test_the_edit_page_shows_temporary_admins_masked_and_keeps_them_by_volunteer_id(project_with_helpers):
    handle, project_id, people = project_with_helpers
    client = sign_in(handle.client(), "o-root")
    page = f"/m/admin/projects/{project_id}/edit"
    html = text(client.get(page))
    for name in ("顾建华", "陆美珍"):
        vid, whole, masked = people[name]
        assert whole not in html, f"{name}'s whole ID number is on the edit page"
        assert masked in html
        assert re.search(rf'name="temp_admin_vid" value="{vid}" checked', html)

    # keep 顾建华, drop 陆美珍, add 朱德兴 by his ID number; an id that is not a temporary admin adds no one
    form = {**live_fields(name="滨江公园清洁", service_targets="社会公众"), "csrf_token": csrf_token(client, page),
            "temp_admin_id_numbers": people["朱德兴"][1]}
    form_data = MultiDict([*form.items(), ("temp_admin_vid", str(people["顾建华"][0])), ("temp_admin_vid", "1")])
    res = client.post(page, data=form_data)
    assert res.status_code == 302, re.sub(r"\s+", " ", text(res))[300:800]
    with handle.app.app_context():
        assert db.session.get(pr.Project, project_id).temp_admin_ids == sorted([people["顾建华"][0],
                                                                              people["朱德兴"][0]])
    again = text(client.get(page))
    assert people["朱德兴"][1] not in again and people["朱德兴"][2] in again


def test_a_refused_edit_does_not_echo_the_typed_id_number(project_with_helpers):
    handle, project_id, people = project_with_helpers
    client = sign_in(handle.client(), "o-root")
    page = f"/m/admin/projects/{project_id}/edit"
    res = client.post(page, data={"csrf_token": csrf_token(client, page), "recruit_count": "-3",
                                  "temp_admin_id_numbers": people["朱德兴"][1]})
    assert 400 <= res.status_code < 500
    assert people["朱德兴"][1] not in text(res)
    res = client.post(page, data={"csrf_token": csrf_token(client, page), "temp_admin_id_numbers": "320602194706309999"})
    assert "320602194706309999" not in text(res)


def test_admins_never_see_other_peoples_whole_id_numbers_or_phones(app_lite):
    with app_lite.app.app_context():
        seed_demo()
        helpers = [elder("顾建华", date(1949, 3, 12)), elder("陆美珍", date(1952, 10, 1), "F")]
        for project in pr.Project.query:
            project_rules._set_temp_admins(project, [v.id for v in helpers])
        db.session.commit()
        viewers = {openid: Binding.volunteer_for("demo", openid).id for openid in ("o_demo_admin", "o_demo_station")}
        hidden = {openid: secrets_not_of(vid) for openid, vid in viewers.items()}
    for openid, secrets in hidden.items():
        client = sign_in(app_lite.client(), openid)
        pages = {}
        for path in get_paths(app_lite.app, ids=range(1, 8)):
            res = client.get(path + "?account=demo")
            if res.status_code == 200 and res.mimetype == "text/html":
                pages[path] = res.get_data(as_text=True)
        if openid == "o_demo_admin":
            assert any("/edit" in path for path in pages), "the crawl should reach a project's edit page"
        for path, html in pages.items():
            for what, value in secrets.items():
                assert value not in html, f"{path} shows the whole {what} to {openid}"


# ------------------------------------------------------------------------------------ headers
def test_every_answer_refuses_framing_by_other_sites_and_sniffing(app_lite):
    client = app_lite.client()
    for path in ("/m/", "/healthz", "/m/jssdk-config?url=http://x/", "/static/app.css", "/m/no-such-page"):
        res = client.get(path)
        assert res.headers["X-Content-Type-Options"] == "nosniff", path
        assert res.headers["X-Frame-Options"] == "SAMEORIGIN", path
        assert "frame-ancestors 'self'" in res.headers["Content-Security-Policy"], path


def test_pages_with_personal_data_are_not_stored(app_lite):
    with app_lite.app.app_context():
        bind(elder("顾建华", date(1949, 3, 12)), "o-gu")
    client = sign_in(app_lite.client(), "o-gu")
    for path in ("/m/me", "/m/", "/m/me/qrcode"):
        res = client.get(path)
        assert res.status_code == 200, path
        assert res.headers["Cache-Control"] == "no-store", path


def test_the_json_api_without_a_session_answers_a_json_401(app_lite):
    client = app_lite.client()
    for method, path in (("GET", "/m/api/help/status"), ("POST", "/m/api/help/voice"),
                         ("POST", "/m/api/checkin/1/punch"), ("POST", "/m/api/sms-code"),
                         ("GET", "/m/api/checkin/1/distance?latitude=32&longitude=120")):
        res = client.open(path, method=method, json={})
        assert res.status_code == 401, path
        assert res.is_json and set(res.get_json()) == {"code", "message"}, path
        assert "Location" not in res.headers


def test_the_callback_and_healthz_are_untouched(app_lite):
    assert app_lite.client().get("/healthz").status_code == 200
    assert app_lite.client().get("/wechat/demo?signature=x&timestamp=1&nonce=1&echostr=e").status_code == 403

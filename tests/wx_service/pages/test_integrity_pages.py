"""Integrity pages through the Flask test client on both engines, the clock stopped: the on-site code's
picture decodes to a code the check-in JSON takes (and the requirement's switch), the personal QR that
changes each minute, the desk's scan (the card's code only for 单签), the offline JSON, flags and late
punches on 时长清单, no-shows on the signup review, the audit page (level 1–2 admins only)."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import zxingcpp
from PIL import Image

from models import AdminAction, Binding, Organization, Volunteer, db, volunteer_qr
from models import attendance as att
from models.integrity import codes as code_rules
from tests.support import codes
from tests.support.people import sign_in
from tests.support.projects import TODAY
from tests.wx_service.pages import test_attendance_pages as attendance_pages
from tests.wx_service.pages.test_attendance_pages import SITE, at, punch, token_of

city = attendance_pages.city  # the same city: two projects of the district, three accepted volunteers


def decode(png: bytes) -> str:
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert found
    return found[0].text


def test_on_site_code_picture_punch_and_requirement(city):
    handle, ids = city
    app = handle.app
    handle.app.config["CLOCK_NOW"] = at(9, 10)
    admin, volunteer = sign_in(handle.client(), "o-admin"), sign_in(handle.client(), "o-v0")
    page = admin.get(f"/m/admin/projects/{ids['double']}/onsite-code?account=demo")
    assert page.status_code == 200 and "每30秒更新一次" in page.get_data(as_text=True)
    assert volunteer.get(f"/m/admin/projects/{ids['double']}/onsite-code.png?account=demo").status_code == 403
    shown = decode(admin.get(f"/m/admin/projects/{ids['double']}/onsite-code.png?account=demo").data)
    state = admin.get(f"/m/api/admin/projects/{ids['double']}/onsite-code?account=demo").get_json()
    assert 1 <= state["refresh_in"] <= 30
    # required for 双签: without the code the punch is refused with what to do
    token = token_of(admin, f"/m/admin/projects/{ids['double']}/onsite-code?account=demo")
    switched = admin.post(f"/m/admin/projects/{ids['double']}/onsite-code/require?account=demo",
                          data={"csrf_token": token, "required": "1"})
    assert switched.status_code == 302
    refused_single = admin.post(f"/m/admin/projects/{ids['single']}/onsite-code/require?account=demo",
                                data={"csrf_token": token, "required": "1"}, follow_redirects=True)
    assert "只有签到/签退（双签）项目" in refused_single.get_data(as_text=True)
    vtoken = token_of(volunteer, f"/m/checkin/{ids['double']}?account=demo")
    bare = punch(volunteer, ids["double"], vtoken, "sign_in", SITE)
    assert bare.status_code == 409 and bare.get_json()["code"] == "onsite_code_required"
    ok = volunteer.post(f"/m/api/checkin/{ids['double']}/punch?account=demo",
                        json={"action": "sign_in", "onsite_code": shown, "fix_age": 4.2, **SITE},
                        headers={"X-CSRFToken": vtoken})
    assert ok.status_code == 200, ok.get_json()
    with app.app_context():
        row = att.Punch.query.join(att.Cycle).filter(att.Cycle.project_id == ids["double"]).one()
        assert (row.fix_age_s, row.onsite_code_at is not None) == (4.2, True)
        assert db.session.get(att.Cycle, row.cycle_id).project.require_onsite_code is True


def test_personal_qr_changes_each_minute_and_the_desk_takes_the_card_for_single_only(city):
    handle, ids = city
    handle.app.config["CLOCK_NOW"] = at(10, 0)
    volunteer, admin = sign_in(handle.client(), "o-v1"), sign_in(handle.client(), "o-admin")
    first = decode(volunteer.get("/m/me/qrcode.png?account=demo").data)
    handle.app.config["CLOCK_NOW"] = at(10, 1)
    second = decode(volunteer.get("/m/me/qrcode.png?account=demo").data)
    card = decode(volunteer.get("/m/me/qrcode/card.png?account=demo").data)
    assert first != second and first.startswith("JHZY-D1:") and card.startswith("JHZY-V1:")
    assert 1 <= volunteer.get("/m/api/me/qrcode?account=demo").get_json()["refresh_in"] <= 60
    assert "截图无效" in volunteer.get("/m/me/qrcode?account=demo").get_data(as_text=True)
    token = token_of(admin, f"/m/admin/desk/{ids['single']}?account=demo")

    def desk_scan(project, payload):
        return admin.post(f"/m/api/admin/desk/{project}/scan?account=demo", json={"payload": payload},
                          headers={"X-CSRFToken": token})

    handle.app.config["CLOCK_NOW"] = at(10, 2)  # the 10:00 picture is a screenshot by now
    stale = desk_scan(ids["single"], first)
    assert stale.status_code == 409 and stale.get_json()["code"] == "qr_stale"
    assert desk_scan(ids["double"], card).get_json()["code"] == "card_single_only"
    found = desk_scan(ids["single"], card).get_json()
    assert found["ok"] and found["name"] == "志**1" and found["action"] == "single" and "phone" in found
    photo = admin.get(found["avatar"])
    assert photo.status_code == 302 and photo.location.endswith("avatar.svg"), "no photo yet: the placeholder"
    assert volunteer.get(found["avatar"]).status_code == 403, "only the project's admins see it"
    done = admin.post(f"/m/admin/desk/{ids['single']}/punch?account=demo",
                      data={"csrf_token": token, "token": found["token"], "action": "single"}, follow_redirects=True)
    assert "服务台打卡成功" in done.get_data(as_text=True)
    forged = admin.post(f"/m/admin/desk/{ids['single']}/punch?account=demo",
                        data={"csrf_token": token, "token": "x", "action": "single"}, follow_redirects=True)
    assert "确认已过期" in forged.get_data(as_text=True)
    with handle.app.app_context():
        action = AdminAction.query.filter_by(volunteer_id=ids["people"][1]).one()
        assert (action.action, action.channel, action.actor_id) == ("desk_punch", "page", ids["admin"])
        assert action.user_agent != "" and action.ip == "127.0.0.1"
        assert volunteer_qr.volunteer_for(card).id == ids["people"][1]


def test_offline_json_flags_and_late_punches_on_the_hours_list(city):
    handle, ids = city
    handle.app.config["CLOCK_NOW"] = at(10, 20)
    v0, v2, admin = sign_in(handle.client(), "o-v0"), sign_in(handle.client(), "o-v2"), sign_in(handle.client(), "o-admin")
    url = f"/m/api/checkin/{ids['single']}/offline?account=demo"
    token = token_of(v0, f"/m/checkin/{ids['single']}?account=demo")
    recorded = (at(10, 5) - code_rules.EPOCH).total_seconds() * 1000  # the page's Date.now() then
    body = {"action": "single", "recorded_at": recorded, "ref": "page-ref-1", "fix_age": 30, **SITE}
    first = v0.post(url, json=body, headers={"X-CSRFToken": token})
    assert first.status_code == 200 and "已标记为延迟上传" in first.get_json()["message"], first.get_json()
    again = v0.post(url, json=body, headers={"X-CSRFToken": token})
    assert again.get_json()["repeat"] is True
    for bad, code in [({**body, "recorded_at": "yesterday", "ref": "page-ref-2"}, "offline_time_invalid"),
                      ({**body, "recorded_at": [1], "ref": "page-ref-3"}, "bad_request"),
                      ({**body, "ref": "x"}, "offline_ref_invalid")]:
        res = v0.post(url, json=bad, headers={"X-CSRFToken": token})
        assert res.status_code == 400 and res.get_json()["code"] == code
    # a second volunteer posts exactly the same coordinates: flagged on the project's 时长清单
    token2 = token_of(v2, f"/m/checkin/{ids['single']}?account=demo")
    assert punch(v2, ids["single"], token2, "single", SITE).status_code == 200
    html = admin.get(f"/m/admin/projects/{ids['single']}/attendance?account=demo").get_data(as_text=True)
    assert "位置异常" in html and "坐标完全相同" in html and "离线补传" in html and "延迟上传" in html
    with handle.app.app_context():
        late = att.Punch.query.filter(att.Punch.received_at.is_not(None)).one()
        assert (late.at, late.received_at, late.fix_age_s) == (at(10, 5), at(10, 20), 30)


def test_no_shows_on_the_signup_review_and_my_hours(city):
    handle, ids = city
    handle.app.config["CLOCK_NOW"] = at(12, 0, TODAY + timedelta(days=4))  # both activities have ended
    admin, volunteer = sign_in(handle.client(), "o-admin"), sign_in(handle.client(), "o-v0")
    listing = admin.get(f"/m/admin/signups/{ids['single']}?account=demo&tab=accepted").get_data(as_text=True)
    assert listing.count("爽约2次 / 录取2次（100%）") == 3
    detail = admin.get(f"/m/admin/signups/{ids['single']}/volunteers/{ids['people'][0]}?account=demo")
    assert "爽约记录" in detail.get_data(as_text=True)
    assert "爽约2次 / 录取2次" in volunteer.get("/m/me/hours?account=demo").get_data(as_text=True)


def test_the_audit_page_is_for_level_one_and_two_admins(city):
    handle, ids = city
    app = handle.app
    handle.app.config["CLOCK_NOW"] = at(10, 0)
    admin = sign_in(handle.client(), "o-admin")
    with app.app_context():
        payload = codes.personal(app, db.session.get(Volunteer, ids["people"][2]), at(10, 0))
    token = token_of(admin, f"/m/admin/projects/{ids['single']}/attendance?account=demo")
    assert admin.post(f"/m/api/admin/projects/{ids['single']}/scan?account=demo", json={"payload": payload},
                      headers={"X-CSRFToken": token}).status_code == 200
    page = admin.get("/m/admin/audit?account=demo")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "扫码辅助签到" in html and "IP 127.0.0.1" in html and "各组织爽约情况" in html
    assert "时长操作审计" in admin.get("/m/me?account=demo").get_data(as_text=True)
    assert sign_in(handle.client(), "o-v0").get("/m/admin/audit?account=demo").status_code == 403
    with handle.app.app_context():  # an admin below the district (a street's) is an admin, but reads no audit
        street = next(o for o in Organization.query.filter_by(level=3).order_by(Organization.id) if o.admins)
        db.session.add(Binding(account="demo", openid="o-street-admin", volunteer_id=street.admins[0].id))
        db.session.commit()
    street_admin = sign_in(handle.client(), "o-street-admin")
    assert street_admin.get("/m/admin/audit?account=demo").status_code == 403
    assert "时长操作审计" not in street_admin.get("/m/me?account=demo").get_data(as_text=True)


@pytest.fixture
def pg_city(app_pg):
    yield from attendance_pages.city.__wrapped__(app_pg)


def test_copies_of_one_offline_punch_sent_at_once_record_it_once(pg_city):
    """A phone back online may send its queue twice at once (two tabs, a retry): one punch, the rest repeats
    (on PostgreSQL, where requests write at once; SQLite takes one writer at a time)."""
    import threading

    handle, ids = pg_city
    handle.app.config["CLOCK_NOW"] = at(10, 20)
    v0 = sign_in(handle.client(), "o-v0")
    url = f"/m/api/checkin/{ids['single']}/offline?account=demo"
    token = token_of(v0, f"/m/checkin/{ids['single']}?account=demo")
    recorded = (at(10, 5) - code_rules.EPOCH).total_seconds() * 1000
    body = {"action": "single", "recorded_at": recorded, "ref": "page-ref-rush", "fix_age": 30, **SITE}
    copies = 8
    barrier, answers = threading.Barrier(copies), []

    def send():
        barrier.wait(30)
        answers.append(v0.post(url, json=body, headers={"X-CSRFToken": token}))

    threads = [threading.Thread(target=send) for _ in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(answers) == copies and {a.status_code for a in answers} == {200}, [a.get_json() for a in answers]
    assert sorted(bool(a.get_json().get("repeat")) for a in answers) == [False] + [True] * (copies - 1)
    with handle.app.app_context():
        assert att.Punch.query.filter(att.Punch.client_ref.like("%page-ref-rush")).count() == 1

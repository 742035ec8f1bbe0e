"""考勤 through the Flask test client and signed callbacks, the app's clock stopped (``CLOCK_NOW``):
打卡 JSON, the scan-assist callback with real QR payloads, 补签 with its photo job, objections,
服务记录 / 积分 pages, and the clean-up CLI."""

from __future__ import annotations

import base64
import re
from datetime import datetime, timedelta

import pytest
import requests

from models import Binding, Volunteer, db, project_rules, volunteer_qr
from models import attendance as att
from models import points as points_ledger
from models import project as pr
from models import signup as su
from tests.support.orgs import NOW, build_tree, make_volunteer
from tests.support.people import sign_in
from tests.support.projects import TODAY, fields, typed
from tests.support.wechat import message_xml, post

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
SITE = {"latitude": 32.0100, "longitude": 120.8600, "accuracy": 20}
FAR = {"latitude": 32.0150, "longitude": 120.8600, "accuracy": 35}


def at(hh, mm=0, day=TODAY) -> datetime:
    return pr.to_utc(day, datetime.min.time().replace(hour=hh, minute=mm))


def live(**overrides) -> dict:
    return fields(start_date=TODAY.isoformat(), end_date=(TODAY + timedelta(days=1)).isoformat(),
                  signup_end=(TODAY + timedelta(days=1)).isoformat(), needs_review="0", **overrides)


def single(**overrides) -> dict:
    return live(checkin_mode="single", preset_hours="2", punch_radius="", checkout_mode="", **overrides)


@pytest.fixture
def city(any_app):
    app = any_app.app
    with app.app_context():
        orgs, admins = build_tree()
        db.session.add(Binding(account="demo", openid="o-admin", volunteer_id=admins["district"].id))
        db.session.add(Binding(account="demo", openid="o-sibling", volunteer_id=admins["sibling_district"].id))
        double = project_rules.publish_project(admins["district"], typed(live()), now=NOW)
        one = project_rules.publish_project(admins["district"], typed(single(name="文明交通劝导志愿服务", short_name="文明劝导")), now=NOW)
        people = [make_volunteer(f"志愿者{n}", account="demo", openid=f"o-v{n}") for n in range(3)]
        for person in people:
            su.sign_up(person, double.id, now=NOW)
            su.sign_up(person, one.id, now=NOW)
        db.session.commit()
        ids = {"double": double.id, "single": one.id, "people": [p.id for p in people],
               "payloads": [volunteer_qr.payload(p) for p in people], "admin": admins["district"].id}
    any_app.drain_jobs()  # SQLite: let the signup notifications' delivery finish before the test writes
    app.config["CLOCK_NOW"] = at(10, 0)
    yield any_app, ids
    app.config.pop("CLOCK_NOW", None)


def token_of(client, path):
    html = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf-token" content="([^"]+)"', html) or re.search(r'name="csrf_token" value="([^"]+)"',
                                                                                  html)
    assert found, path
    return found.group(1)


def punch(client, project_id, token, action, position):
    return client.post(f"/m/api/checkin/{project_id}/punch?account=demo", json={"action": action, **position},
                       headers={"X-CSRFToken": token, "Accept": "application/json"})


# -------------------------------------------------------------------------------- 打卡
def test_checkin_pages_and_punches(city):
    handle, ids = city
    client = sign_in(handle.client(), "o-v0")
    listing = client.get("/m/checkin?account=demo").get_data(as_text=True)
    assert "滨江公园环境保护志愿服务活动" in listing and "文明交通劝导志愿服务" in listing
    page = client.get(f"/m/checkin/{ids['double']}?account=demo").get_data(as_text=True)
    assert 'id="punch-button"' in page and "签到" in page and "type: 'gcj02'" in page and "getLocation" in page
    token = token_of(client, f"/m/checkin/{ids['double']}?account=demo")
    answer = client.get(f"/m/api/checkin/{ids['double']}/distance?account=demo&latitude=32.015&longitude=120.86"
                        "&accuracy=35")
    # read-only: no cookie sent back, so an answer arriving after a punch's cannot drop the punch's flash
    assert "Set-Cookie" not in answer.headers
    distance = answer.get_json()
    assert distance["distance"] == 554 and distance["radius"] == 200 and distance["within"] is False
    far = punch(client, ids["double"], token, "sign_in", FAR)
    assert far.status_code == 409 and far.get_json()["code"] == "too_far" and "554米" in far.get_json()["message"]
    assert punch(client, ids["double"], "bad", "sign_in", SITE).status_code == 400  # CSRF
    ok = punch(client, ids["double"], token, "sign_in", SITE)
    assert ok.status_code == 200 and ok.get_json()["state"] == "open"
    handle.app.config["CLOCK_NOW"] = at(10, 20)
    early = punch(client, ids["double"], token, "sign_out", SITE)
    assert early.status_code == 409 and "10:30" in early.get_json()["message"]
    handle.app.config["CLOCK_NOW"] = at(10, 40)
    out = punch(client, ids["double"], token, "sign_out", SITE)
    assert out.get_json()["hours"] == "1.00"
    assert punch(client, ids["single"], token, "single", {}).get_json()["hours"] == "2.00"  # position not needed
    again = punch(client, ids["single"], token, "single", {})
    assert again.status_code == 409 and "已经打过卡" in again.get_json()["message"]
    assert punch(client, ids["double"], token, "jump", SITE).status_code == 400
    assert punch(client, ids["double"], token, "sign_in", {"latitude": "abc", "longitude": "1"}).status_code == 400
    hours = client.get("/m/me/hours?account=demo").get_data(as_text=True)
    assert "3.00</b> 小时<br>累计 · 2 次活动" in hours and "公示中" in hours
    points = client.get("/m/me/points?account=demo").get_data(as_text=True)
    assert "每天登录积分" in points and "参与活动积分" in points and "2.00" in points  # 1 login + 1 h 双签
    publicity = sign_in(handle.client(), "o-stranger").get(f"/m/projects/{ids['double']}/publicity?account=demo")
    body = publicity.get_data(as_text=True)
    assert publicity.status_code == 200 and "志**0" in body and "1.00" in body and "我有异议" not in body


def test_daily_login_point_once_a_day(city):
    handle, ids = city
    client = sign_in(handle.client(), "o-v1")
    for _ in range(3):
        client.get("/m/me?account=demo")
    other_browser = sign_in(handle.client(), "o-v1")
    other_browser.get("/m/me/points?account=demo")
    handle.app.config["CLOCK_NOW"] = at(10, 0, TODAY + timedelta(days=1))
    client.get("/m/me?account=demo")
    with handle.app.app_context():
        entries = points_ledger.PointEntry.query.filter_by(volunteer_id=ids["people"][1], reason=points_ledger.R_LOGIN).all()
        assert sorted(e.day for e in entries) == [TODAY, TODAY + timedelta(days=1)]


# ------------------------------------------------------------------------- scan assist (chat)
def scan_xml(openid, payload):
    return message_xml(openid, "event", {"Event": "scancode_waitmsg", "EventKey": "SCAN_CHECKIN"}).replace(
        "</xml>", f"<ScanCodeInfo><ScanType><![CDATA[qrcode]]></ScanType><ScanResult><![CDATA[{payload}]]>"
                  "</ScanResult></ScanCodeInfo></xml>")


def reply_text(response) -> str:
    return re.search(r"<Content><!\[CDATA\[(.*?)\]\]></Content>", response.get_data(as_text=True), re.S).group(1)


def test_scan_assist_in_chat(city):
    handle, ids = city
    client = handle.client()
    config = handle.config
    ok = reply_text(post(client, config, "demo", scan_xml("o-admin", ids["payloads"][0])))
    assert "志**0" in ok and "签到成功" in ok and "2.00" in ok
    again = reply_text(post(client, config, "demo", scan_xml("o-admin", ids["payloads"][0])))
    assert "未成功" in again and "已经打过卡" in again
    assert "仅限" in reply_text(post(client, config, "demo", scan_xml("o-v2", ids["payloads"][1])))
    assert "未被录取" in reply_text(post(client, config, "demo", scan_xml("o-sibling", ids["payloads"][1]))) or \
        "没有正在进行" in reply_text(post(client, config, "demo", scan_xml("o-sibling", ids["payloads"][1])))
    assert "无法识别" in reply_text(post(client, config, "demo", scan_xml("o-admin", "https://example.com/x")))
    assert "绑定" in reply_text(post(client, config, "demo", scan_xml("o-unbound", ids["payloads"][1])))
    handle.app.config["CLOCK_NOW"] = at(12, 0)
    assert "没有正在进行" in reply_text(post(client, config, "demo", scan_xml("o-admin", ids["payloads"][1])))
    with handle.app.app_context():
        cycle = att.Cycle.query.filter_by(project_id=ids["single"], volunteer_id=ids["people"][0]).one()
        assert cycle.source == att.SOURCE_SCAN and cycle.hours == 2


def test_scan_assist_with_several_projects_asks_which(city):
    handle, ids = city
    with handle.app.app_context():
        admin = db.session.get(Volunteer, ids["admin"])
        second = project_rules.publish_project(admin, typed(single(name="第二个单签活动", short_name="第二单签")), now=NOW)
        su.sign_up(db.session.get(Volunteer, ids["people"][1]), second.id, now=NOW)
        db.session.commit()
        second_id = second.id
    answer = reply_text(post(handle.client(), handle.config, "demo", scan_xml("o-admin", ids["payloads"][1])))
    assert "请选择" in answer and "1. " in answer and "2. " in answer
    links = re.findall(r'href="([^"]+)"', answer)
    target = next(link for link in links if f"/m/admin/scan/{second_id}?" in link).replace("&amp;", "&")
    path = target.split("127.0.0.1", 1)[1].split("/", 1)[1]
    # the admin taps the link in chat with no session: OAuth (which adds and strips code/state) comes first
    browser = requests.Session()
    browser.cookies.set("sandbox_openid", "o-admin", domain="127.0.0.1", path="/")
    page = browser.get(target)
    assert [r.status_code for r in page.history] == [302, 302, 302], "service → authorize → return → link"
    assert page.status_code == 200 and "志**1" in page.text, page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    scanned = re.search(r'name="scanned" value="([^"]+)"', page.text).group(1)
    done = browser.post(page.url, data={"csrf_token": token, "scanned": scanned}, allow_redirects=False)
    assert done.status_code == 302
    # the link is the admin's own: another admin cannot use it
    assert sign_in(handle.client(), "o-sibling").get("/" + path).status_code == 410
    with handle.app.app_context():
        assert att.Cycle.query.filter_by(project_id=second_id, volunteer_id=ids["people"][1]).count() == 1


def test_scan_on_the_admin_page_and_locate(city):
    handle, ids = city
    admin = sign_in(handle.client(), "o-admin")
    page = admin.get(f"/m/admin/projects/{ids['single']}/attendance?account=demo")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="scan"' in html and "scanQRCode" in html and "chooseImage" in html
    token = token_of(admin, f"/m/admin/projects/{ids['single']}/attendance?account=demo")
    res = admin.post(f"/m/api/admin/projects/{ids['single']}/scan?account=demo", json={"payload": ids["payloads"][2]},
                     headers={"X-CSRFToken": token})
    assert res.status_code == 200 and "志**2" in res.get_json()["message"]
    bad = admin.post(f"/m/api/admin/projects/{ids['double']}/scan?account=demo", json={"payload": ids["payloads"][2]},
                     headers={"X-CSRFToken": token})
    assert bad.status_code == 409 and bad.get_json()["code"] == "scan_single_only"
    located = admin.post(f"/m/api/admin/projects/{ids['double']}/locate?account=demo", json=FAR,
                         headers={"X-CSRFToken": token})
    assert located.status_code == 200 and "精度约35米" in located.get_json()["message"]
    assert "32.015000" in admin.get(f"/m/admin/projects/{ids['double']}/attendance?account=demo").get_data(as_text=True)
    volunteer = sign_in(handle.client(), "o-v0")
    assert volunteer.get(f"/m/admin/projects/{ids['double']}/attendance?account=demo").status_code == 403
    refused = volunteer.post(f"/m/api/admin/projects/{ids['double']}/locate?account=demo", json=FAR,
                             headers={"X-CSRFToken": token_of(volunteer, f"/m/checkin/{ids['double']}?account=demo")})
    assert refused.status_code == 403
    # the second site counts for sign-in
    vtoken = token_of(volunteer, f"/m/checkin/{ids['double']}?account=demo")
    assert punch(volunteer, ids["double"], vtoken, "sign_in", FAR).status_code == 200


# ---------------------------------------------------------------------------------- 补签
def test_makeup_end_to_end_with_photo_job(city):
    handle, ids = city
    media = handle.sandbox.add_media(PNG, "image/png", jssdk=True, appid="wxdemo0000000001")
    handle.app.config["CLOCK_NOW"] = at(12, 30)
    volunteer = sign_in(handle.client(), "o-v0")
    form_path = f"/m/checkin/{ids['double']}/makeup?account=demo"
    form = volunteer.get(form_path).get_data(as_text=True)
    assert "chooseImage" in form and "uploadImage" in form and TODAY.isoformat() in form
    token = token_of(volunteer, form_path)
    data = {"csrf_token": token, "day": TODAY.isoformat(), "kind": "both", "sign_in": "09:00", "sign_out": "10:10",
            "reason": "手机没电，未能打卡", "media_id": ""}
    missing = volunteer.post(form_path, data=data)
    assert missing.status_code == 400 and "现场照片" in missing.get_data(as_text=True)
    sent = volunteer.post(form_path, data={**data, "media_id": media})
    assert sent.status_code == 302
    handle.drain_jobs()  # SQLite: the in-process job ran; PostgreSQL: the job waits in Redis — run it here
    with handle.app.app_context():
        from jobs.media import fetch_media

        fetch_media(att.MakeupRequest.query.one().photo_id)
    twice = volunteer.post(form_path, data={**data, "media_id": media})
    assert twice.status_code == 409 and "只能提交一次" in twice.get_data(as_text=True)
    with handle.app.app_context():
        made = att.MakeupRequest.query.one()
        assert made.photo_state == att.PHOTO_STORED
        makeup_id = made.id
    mine = volunteer.get("/m/me/makeups?account=demo").get_data(as_text=True)
    assert "待审核" in mine
    assert volunteer.get(f"/m/makeups/{makeup_id}/photo?account=demo").data.startswith(b"\x89PNG")  # re-encoded
    assert sign_in(handle.client(), "o-v1").get(f"/m/makeups/{makeup_id}/photo?account=demo").status_code == 404
    admin = sign_in(handle.client(), "o-admin")
    assert "志**0" in admin.get("/m/admin/makeups?account=demo").get_data(as_text=True)
    assert admin.get(f"/m/makeups/{makeup_id}/photo?account=demo").data.startswith(b"\x89PNG"), "the reviewer sees the photo"
    assert handle.sandbox.calls_to("cgi-bin/media/get") and not handle.sandbox.calls_to("cgi-bin/media/get/jssdk")
    assert sign_in(handle.client(), "o-sibling").get(f"/m/admin/makeups/{makeup_id}?account=demo").status_code == 403
    detail = f"/m/admin/makeups/{makeup_id}?account=demo"
    atoken = token_of(admin, detail)
    no_reason = admin.post(f"/m/admin/makeups/{makeup_id}?account=demo", data={"csrf_token": atoken, "op": "reject"})
    assert no_reason.status_code == 302
    assert "必须说明原因" in admin.get(detail).get_data(as_text=True)
    assert admin.post(f"/m/admin/makeups/{makeup_id}?account=demo",
                      data={"csrf_token": atoken, "op": "approve"}).status_code == 302
    assert "已通过" in volunteer.get(f"/m/me/makeups/{makeup_id}?account=demo").get_data(as_text=True)
    publicity = volunteer.get(f"/m/projects/{ids['double']}/publicity?account=demo").get_data(as_text=True)
    assert "1.50" in publicity
    with handle.app.app_context():
        from models import Notification

        assert Notification.query.filter_by(kind="makeup_result", volunteer_id=ids["people"][0]).count() == 1


# ----------------------------------------------------------------------------- 异议
def test_objection_upheld_removes_hours_and_points(city):
    handle, ids = city
    owner = sign_in(handle.client(), "o-v0")
    token = token_of(owner, f"/m/checkin/{ids['double']}?account=demo")
    punch(owner, ids["double"], token, "sign_in", SITE)
    handle.app.config["CLOCK_NOW"] = at(11, 0)
    punch(owner, ids["double"], token, "sign_out", SITE)
    with handle.app.app_context():
        cycle_id = att.Cycle.query.filter_by(volunteer_id=ids["people"][0]).one().id
        assert points_ledger.balance(ids["people"][0]) == 2  # one login point, one hour of 双签
    objector = sign_in(handle.client(), "o-v1")
    path = f"/m/publicity/{cycle_id}/object?account=demo"
    otoken = token_of(objector, path)
    short = objector.post(path, data={"csrf_token": otoken, "reason": "不对"})
    assert short.status_code == 400
    assert objector.post(path, data={"csrf_token": otoken, "reason": "他九点半就离开了现场"}).status_code == 302
    assert "待处理" in objector.get("/m/me/objections?account=demo").get_data(as_text=True)
    admin = sign_in(handle.client(), "o-admin")
    listing = admin.get("/m/admin/objections?account=demo").get_data(as_text=True)
    assert "他九点半就离开了现场" in listing
    objection_id = re.search(r"/m/admin/objections/(\d+)", listing).group(1)
    atoken = token_of(admin, "/m/admin/objections?account=demo")
    sibling = sign_in(handle.client(), "o-sibling")
    assert "没有待处理的异议" in sibling.get("/m/admin/objections?account=demo").get_data(as_text=True)
    refused = sibling.post(f"/m/admin/objections/{objection_id}?account=demo", follow_redirects=True, data={
        "csrf_token": token_of(sibling, "/m/me/profile?account=demo"), "op": "uphold"})
    assert "只有发布活动的组织管理员" in refused.get_data(as_text=True)
    with handle.app.app_context():
        assert db.session.get(att.Cycle, cycle_id).state == att.RECORDED  # the sibling was refused
    admin.post(f"/m/admin/objections/{objection_id}?account=demo", data={"csrf_token": atoken, "op": "uphold",
                                                                        "reply": "核实属实"})
    assert "异议成立" in objector.get("/m/me/objections?account=demo").get_data(as_text=True)
    points = owner.get("/m/me/points?account=demo").get_data(as_text=True)
    assert "时长取消扣回积分" in points and "-1.00" in points
    hours = owner.get("/m/me/hours?account=demo").get_data(as_text=True)
    assert "已取消" in hours and "0.00</b> 小时<br>累计" in hours
    with handle.app.app_context():
        assert points_ledger.balance(ids["people"][0]) == 1


def test_account_pages_list_the_attendance_links(city):
    handle, _ids = city
    page = sign_in(handle.client(), "o-admin").get("/m/me?account=demo").get_data(as_text=True)
    for label in ("服务记录", "我的积分", "我的补签申请", "我的异议", "补签审核", "时长异议"):
        assert label in page
    assert sign_in(handle.client(), "o-v0").get("/m/me/makeups/999999?account=demo").status_code == 404


# --------------------------------------------------------------------------------- clean-up
def test_cleanup_job_and_restore_command(city):
    handle, ids = city
    from jobs.attendance import remove_stale_attendance

    with handle.app.app_context():
        end = db.session.get(pr.Project, ids["double"]).ends_at
        assert remove_stale_attendance(end + timedelta(days=7, minutes=1))["projects"] == 2
    runner = handle.app.test_cli_runner()
    listed = runner.invoke(args=["attendance", "removals"])
    assert f"project {ids['double']}" in listed.output
    restored = runner.invoke(args=["attendance", "restore", "project", str(ids["double"]), "--by", "ops"])
    assert restored.exit_code == 0 and "restored to approved" in restored.output
    assert runner.invoke(args=["attendance", "restore", "project", str(ids["double"])]).exit_code != 0
    with handle.app.app_context():
        assert db.session.get(pr.Project, ids["double"]).status == pr.APPROVED

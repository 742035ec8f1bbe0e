"""新时代文明实践 pages end to end through the Flask test client and the sandbox: a need submitted with an
SMS code, 上报 and handled (the submitter told in 消息中心 and by template message); plan → order → 派单 →
接单 (a 双签 project naming the place) → 评单; bad input on every public form (a Chinese message, a 4xx,
nothing stored); the menu buttons; statistics and the Excel export; and 50 concurrent orders for a plan
with 10 sessions on PostgreSQL."""

from __future__ import annotations

import io
import re
import threading
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook

from models import Notification, db
from models.practice import plans as plan_rules
from models.practice.tables import Need, Order, Plan, PracticeLog
from tests.support import wechat
from tests.support.orgs import NOW, build_tree
from tests.support.people import csrf_token as token
from tests.support.people import post_form as post
from tests.support.practice import PLAN_FIELDS, build_places, practice_city
from tests.support.settings import override
from tests.wx_service.pages.test_wish_pages import client_for, text

DEMO = "wxdemo0000000001"
NEED = {"title": "小区需要防诈骗讲座", "name": "张亚林", "region": "崇川区", "content": "老人多，最近常接到诈骗电话。"}


@pytest.fixture
def city(app_lite):
    yield from practice_city(app_lite)


def sms_code(handle, client, phone: str) -> str:
    response = client.post("/m/api/practice/need-code?account=demo", json={"phone": phone},
                           headers={"X-CSRFToken": token(client, "/m/practice/needs/new?account=demo")})
    assert response.status_code == 200, text(response)
    return re.search(r"验证码是(\d{6})", handle.app.extensions["wx_sms"].last_to(phone)).group(1)


def submit_need(handle, client, place, phone="13912345678", **changes):
    code = sms_code(handle, client, phone)
    return post(client, "/m/practice/needs/new?account=demo",
                {**NEED, "place_id": place, "phone": phone, "sms_code": code, **changes})


def test_need_reported_then_handled_tells_the_submitter(city, monkeypatch):
    handle, ids = city
    demo = handle.app.config["WX_SETTINGS"].accounts["demo"]
    override(handle.app, monkeypatch, "accounts.demo", templates={**demo.templates, "practice_need_update": "TPL_NEED"})
    from tests.support.notifications import make_volunteer

    with handle.app.app_context():
        make_volunteer("张亚林", {"demo": "o-resident"})
    handle.sandbox.follow(DEMO, "o-resident")
    resident = client_for(handle, "o-resident")
    response = submit_need(handle, resident, ids["places"]["station"])
    assert response.status_code == 302, text(response)
    need_id = int(re.search(r"/m/practice/needs/(\d+)", response.location).group(1))
    assert "小区需要防诈骗讲座" in text(resident.get("/m/practice/needs/mine?account=demo"))

    station = client_for(handle, "o-community")
    page = f"/m/admin/practice/needs/{need_id}?account=demo"
    listing = text(station.get("/m/admin/practice/needs?account=demo"))
    assert "139****5678" in listing and "13912345678" not in listing
    whole = post(station, f"/m/admin/practice/needs/{need_id}/phone?account=demo", {}, page)
    assert "13912345678" in text(whole)
    assert post(station, f"/m/admin/practice/needs/{need_id}/classify?account=demo",
                {"kind": "common", "category": "理论宣讲"}, page).status_code == 302
    assert post(station, f"/m/admin/practice/needs/{need_id}/report?account=demo", {"note": "本站无讲师"},
                page).status_code == 302
    assert station.get(page).status_code == 403  # it left the station's queue
    institute = client_for(handle, "o-street")
    assert post(institute, f"/m/admin/practice/needs/{need_id}/handle?account=demo", {"note": "已安排民警上门宣讲"},
                page).status_code == 302
    assert handle.drain_jobs()
    detail = text(resident.get(f"/m/practice/needs/{need_id}?account=demo"))
    assert "已处理" in detail and "已安排民警上门宣讲" in detail and "已上报" in detail
    sent = handle.sandbox.templates_to("o-resident", DEMO)
    assert [s["data"]["phrase2"]["value"] for s in sent] == ["已上报", "已处理"]
    with handle.app.app_context():
        actions = [r.action for r in PracticeLog.query.filter_by(subject="need").order_by(PracticeLog.id)]
        assert actions == ["submitted", "phone_viewed", "classified", "reported", "handled"]
        inbox = Notification.query.filter_by(kind="practice_need_update").count()
    assert inbox == 2
    assert "已处理" in text(resident.get("/m/me/inbox?account=demo"))
    other = client_for(handle, "o-stranger")
    assert other.get(f"/m/practice/needs/{need_id}?account=demo").status_code == 403


def test_a_resident_without_a_volunteer_account_gets_the_template_message_when_following(city, monkeypatch):
    """No binding: told by template message as the follower OAuth named (no 消息中心); one who does not
    follow gets nothing and nothing breaks."""
    handle, ids = city
    demo = handle.app.config["WX_SETTINGS"].accounts["demo"]
    override(handle.app, monkeypatch, "accounts.demo", templates={**demo.templates, "practice_need_update": "TPL_NEED"})
    handle.sandbox.follow(DEMO, "o-unbound-follower")
    needs = {}
    for openid, phone in (("o-unbound-follower", "13912345601"), ("o-passer-by", "13912345602")):
        handle.app.config["CLOCK_NOW"] += timedelta(minutes=2)  # one SMS code a minute from one address
        response = submit_need(handle, client_for(handle, openid), ids["places"]["station"], phone=phone)
        assert response.status_code == 302, text(response)
        needs[openid] = int(re.search(r"/m/practice/needs/(\d+)", response.location).group(1))
    station = client_for(handle, "o-community")
    for need_id in needs.values():
        page = f"/m/admin/practice/needs/{need_id}?account=demo"
        assert post(station, f"/m/admin/practice/needs/{need_id}/handle?account=demo", {"note": "已联系社区民警"},
                    page).status_code == 302
    assert handle.drain_jobs()
    sent = handle.sandbox.templates_to("o-unbound-follower", DEMO)
    assert [(s["template_id"], s["data"]["phrase2"]["value"]) for s in sent] == [("TPL_NEED", "已处理")]
    assert f"/m/practice/needs/{needs['o-unbound-follower']}" in sent[0]["url"]
    assert handle.sandbox.templates_to("o-passer-by", DEMO) == []
    with handle.app.app_context():
        rows = {r.openid: r for r in Notification.query.filter_by(kind="practice_need_update")}
        assert set(rows) == {"o-unbound-follower", "o-passer-by"}
        assert all(r.volunteer_id is None for r in rows.values())
        assert rows["o-unbound-follower"].state == "sent" and rows["o-passer-by"].state != "pending"


@pytest.mark.parametrize("changes, message", [
    ({"title": ""}, "请填写需求标题"),
    ({"title": "短"}, "需求标题应为2至50个字"),
    ({"name": ""}, "请填写您的姓名"),
    ({"region": "苏州市"}, "请选择所在地区"),
    ({"content": ""}, "请填写服务需求"),
    ({"place_id": "abc"}, "请选择实践阵地"),
    ({"place_id": "99999"}, "实践阵地不存在"),
    ({"sms_code": "000000"}, "验证码不正确"),
    ({"on_behalf": "1"}, "代录需求需要先绑定志愿者账号"),
])
def test_need_form_refuses_bad_input_and_stores_nothing(city, changes, message):
    handle, ids = city
    client = client_for(handle, "o-someone")
    response = submit_need(handle, client, ids["places"]["station"], **changes)
    assert 400 <= response.status_code < 500 and message in text(response)
    with handle.app.app_context():
        assert Need.query.count() == 0


def test_need_code_refuses_a_bad_phone_as_json(city):
    handle, _ids = city
    client = client_for(handle, "o-someone")
    response = client.post("/m/api/practice/need-code?account=demo", json={"phone": "12345"},
                           headers={"X-CSRFToken": token(client, "/m/practice/needs/new?account=demo")})
    assert response.status_code == 400 and response.json["code"] == "phone_invalid"
    assert "11位手机号码" in response.json["message"]


def practice_project_form(**changes):
    day = (NOW + timedelta(days=1)).date().isoformat()
    form = {"name": "家庭教育讲座进社区", "short_name": "家教讲座", "recruit_count": "5", "scope": "all",
            "needs_review": "0", "category": "文明实践", "topic": "新时代文明实践", "region": "崇川区",
            "place": "百花社区活动室", "latitude": "32.021", "longitude": "120.871", "description": "讲座",
            "signup_start": NOW.date().isoformat(), "signup_end": day, "start_date": day, "end_date": day,
            "daily_start": "09:00", "daily_end": "11:00", "checkin_mode": "double", "punch_radius": "500",
            "checkout_mode": "central", "contact_name": "王老师", "contact_phone": "13900000000"}
    form.update(changes)
    return form


def test_plan_order_dispatch_accept_rate(city, monkeypatch):
    handle, ids = city
    institute = client_for(handle, "o-street")
    response = post(institute, "/m/admin/practice/plans/new?account=demo",
                    {**{k: str(v) for k, v in PLAN_FIELDS.items()}, "place_id": ids["places"]["institute"],
                     "accepts_orders": "1"})
    assert response.status_code == 302, text(response)
    with handle.app.app_context():
        plan_id = Plan.query.one().id
    resident = client_for(handle, "o-orderer")
    listing = text(resident.get("/m/practice/plans?account=demo&region=崇川区&category=教育服务"))
    assert "家庭教育讲学志愿服务" in listing and "剩余10场" in listing
    response = post(resident, f"/m/practice/plans/{plan_id}?account=demo",
                    {"name": "赵点单", "phone": "13900000009", "wish": "想给孩子听家庭教育讲座"})
    assert response.status_code == 302, text(response)
    order_id = int(re.search(r"/m/practice/orders/(\d+)", response.location).group(1))

    page = f"/m/admin/practice/orders/{order_id}?account=demo"
    response = post(institute, f"/m/admin/practice/orders/{order_id}/dispatch?account=demo",
                    {"team_org_id": ids["orgs"]["community"], "note": "请百花社区安排讲师"}, page)
    assert response.status_code == 302
    community = client_for(handle, "o-community")
    assert "接单：发布服务项目" in text(community.get(page))
    publish = f"/m/admin/publish?order={order_id}&account=demo"
    single = post(community, publish, practice_project_form(checkin_mode="single", preset_hours="1"))
    assert single.status_code == 400 and "必须使用双签" in text(single)
    response = post(community, publish, practice_project_form())
    assert response.status_code == 302, text(response)
    project_id = int(re.search(r"/m/projects/(\d+)", response.location).group(1))
    project_page = text(community.get(f"/m/projects/{project_id}?account=demo"))  # pending review: its org sees it
    assert "活动场所：百花社区新时代文明实践站" in project_page and f"服务群众点单 #{order_id}" in project_page
    order_page = text(resident.get(f"/m/practice/orders/{order_id}?account=demo"))
    assert "已接单" in order_page and "家庭教育讲座进社区" in order_page

    handle.app.config["CLOCK_NOW"] = NOW + timedelta(days=3)  # the activity is over
    assert post(community, f"/m/admin/practice/orders/{order_id}/rating?account=demo", {}, page).status_code == 302
    bad = post(resident, f"/m/practice/orders/{order_id}?account=demo", {"stars": "9"})
    assert bad.status_code == 400 and "1至5颗星" in text(bad)
    assert post(client_for(handle, "o-stranger"), f"/m/practice/orders/{order_id}?account=demo",
                {"stars": "5"}, "/m/practice/needs/new?account=demo").status_code == 403
    response = post(resident, f"/m/practice/orders/{order_id}?account=demo", {"stars": "1", "comment": "讲师没来"})
    assert response.status_code == 302
    with handle.app.app_context():
        order = db.session.get(Order, order_id)
        assert (order.state, order.stars) == ("rated", 1)
        low = Notification.query.filter_by(kind="practice_low_rating").all()
        assert [n.volunteer_id for n in low] == [ids["admins"]["district"]]  # the institute's parent: the centre


@pytest.mark.parametrize("changes, message", [
    ({"name": ""}, "请填写姓名"), ({"phone": "123"}, "11位手机号码"), ({"wish": "短"}, "点单内容应为2至500个字"),
])
def test_order_form_refuses_bad_input_and_keeps_the_session(city, changes, message):
    handle, ids = city
    with handle.app.app_context():
        orgs_admin = db.session.get(__import__("models").Volunteer, ids["admins"]["street"])
        plan = plan_rules.publish(orgs_admin, ids["places"]["institute"], PLAN_FIELDS, today=date(2026, 3, 1), now=NOW)
        db.session.commit()
        plan_id = plan.id
    client = client_for(handle, "o-x")
    response = post(client, f"/m/practice/plans/{plan_id}?account=demo",
                    {"name": "赵点单", "phone": "13900000009", "wish": "想听讲座", **changes})
    assert response.status_code == 400 and message in text(response)
    with handle.app.app_context():
        assert Order.query.count() == 0 and db.session.get(Plan, plan_id).ordered_count == 0


def test_places_near_me_and_the_centre_home(city):
    handle, ids = city
    client = client_for(handle, "o-x")
    near = text(client.get("/m/practice/places?account=demo&lat=32.0201&lng=120.8701"))
    assert near.index("和平桥街道新时代文明实践所") < near.index("海门区新时代文明实践中心") and "米" in near
    home = text(client.get(f"/m/practice/centres/{ids['places']['centre']}?account=demo"))
    assert "和平桥街道新时代文明实践所" in home and "活动菜单" in home
    assert client.get("/m/practice/places/99999?account=demo").status_code == 404
    assert "需求征集" in text(client.get("/m/practice?account=demo"))


def test_place_edit_by_level(city):
    handle, ids = city
    page = f"/m/admin/practice/places/{ids['places']['institute']}/edit?account=demo"
    street = client_for(handle, "o-street")
    assert post(street, page, {"name": "和平桥街道新时代文明实践所", "intro": "新的介绍"}).status_code == 302
    assert "新的介绍" in text(street.get(f"/m/practice/places/{ids['places']['institute']}?account=demo"))
    community = client_for(handle, "o-community")
    assert community.get(page).status_code == 403
    bad = post(street, page, {"name": "和平桥街道新时代文明实践所", "latitude": "abc"})
    assert bad.status_code == 400 and "场所位置不正确" in text(bad)


def test_menu_buttons_answer_with_the_pages(city):
    handle, _ids = city
    from menus import keys

    client = handle.client()
    for key, path in ((keys.DEMAND, "practice/needs/new"), (keys.ORDER, "practice/plans")):
        reply = text(wechat.post(client, handle.config, "demo", wechat.event_xml("o-x", "CLICK", key)))
        assert path in reply and "暂未在本平台开放" not in reply


def test_targets_stats_chart_and_excel(city):
    handle, ids = city
    root = client_for(handle, "o-root")
    page = f"/m/admin/practice/targets?account=demo&place={ids['places']['station']}&year=2026"
    form = {f"m{m}": "3" for m in range(1, 13)} | {"place": ids["places"]["station"], "year": "2026"}
    assert post(root, page, form).status_code == 302
    bad = post(root, page, form | {"m2": "-1"})
    assert bad.status_code == 400 and "2月指标" in text(bad)
    assert client_for(handle, "o-street").get(page).status_code == 403
    stats = text(client_for(handle, "o-district").get("/m/admin/practice/stats?account=demo&from=2026-01&to=2026-03"))
    assert "<svg" in stats and "百花社区新时代文明实践站" in stats and 'class="planned">9<' in stats
    export = client_for(handle, "o-district").get("/m/admin/practice/stats?account=demo&from=2026-01&to=2026-03"
                                                   "&format=xlsx")
    assert export.status_code == 200 and export.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(export.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1] == ("序号", "场所", "地区", "类别", "计划数", "完成数", "完成比率", "参与人数")
    assert {r[1]: r[4] for r in rows[2:]}["崇川区新时代文明实践中心"] == 9  # the station's targets rolled up


def test_fifty_concurrent_orders_for_ten_sessions(app_pg):
    """50 residents order the same plan at once through real concurrent requests: exactly 10 win."""
    handle = app_pg
    handle.app.config["CLOCK_NOW"] = NOW + timedelta(hours=1)
    try:
        with handle.app.app_context():
            orgs, admins = build_tree()
            tree = build_places(orgs, admins, NOW)
            plan = plan_rules.publish(admins["street"], tree["institute"].id, PLAN_FIELDS, today=date(2026, 3, 1),
                                      now=NOW)
            db.session.commit()
            plan_id = plan.id
        path = f"/m/practice/plans/{plan_id}?account=demo"
        clients = [client_for(handle, f"o-racer-{i}") for i in range(50)]
        tokens = [token(c, path) for c in clients]
        barrier = threading.Barrier(50)
        statuses: list[int] = []

        def order(i: int) -> None:
            barrier.wait(30)
            response = clients[i].post(path, data={"csrf_token": tokens[i], "name": f"居民{i}",
                                                   "phone": f"139{i:08d}", "wish": "想听家庭教育讲座"})
            statuses.append(response.status_code)

        threads = [threading.Thread(target=order, args=(i,)) for i in range(50)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert sorted(statuses) == [302] * 10 + [409] * 40
        with handle.app.app_context():
            assert db.session.get(Plan, plan_id).ordered_count == 10
            assert Order.query.filter_by(plan_id=plan_id).count() == 10
    finally:
        handle.app.config.pop("CLOCK_NOW", None)


def test_home_tiles_open_the_practice_pages(city):
    handle, _ids = city
    client = client_for(handle, "o-x")
    home = text(client.get("/m/?account=demo"))
    for label, path in (("群众点单", "/m/practice/plans"), ("文明实践", "/m/practice")):
        href = re.search(rf'href="({re.escape(path)}\?account=demo)"><svg[^>]*><use[^>]*></use></svg><span>{label}<',
                         home)
        assert href, label
        assert client.get(href.group(1)).status_code == 200

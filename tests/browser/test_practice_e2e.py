"""新时代文明实践 from the phone in a real browser: 需求征集 (nearest place by the JS-SDK position, an SMS code
asked from the page, the need submitted and shown) and 群众点单 (a plan ordered, one session taken)."""

from __future__ import annotations

import re

from tests.browser.conftest import screenshot
from tests.browser.test_wishes_e2e import phone_of
from tests.support.orgs import NOW, build_tree
from tests.support.practice import PLAN_FIELDS, build_places
from tests.support.sandbox_phone import fill_in


def _city(app):
    from datetime import date

    from models import db
    from models.practice import plans

    with app.app.app_context():
        orgs, admins = build_tree()
        tree = build_places(orgs, admins, NOW)
        plans.publish(admins["street"], tree["institute"].id, {**PLAN_FIELDS, "valid_until": date(2099, 12, 31)},
                      today=date(2026, 3, 1), now=NOW)
        db.session.commit()


def test_need_from_the_phone(phone, browser):
    app = phone.app
    _city(app)
    with phone_of(browser, app, "o_e2e_resident") as resident:
        resident.add_init_script("window.__wxStandin = {location: {latitude: 32.0201, longitude: 120.8701}};")
        resident.goto(app.base_url + "/m/practice?account=demo")
        resident.click("a.tile-need")
        resident.goto(app.base_url + "/m/practice/places?account=demo")
        resident.click("#locate")
        resident.wait_for_url(re.compile(r"lat=32\.0201"), timeout=40_000)  # the JS-SDK stand-in is slow on a busy machine
        first = resident.locator(".place-row").first
        assert "和平桥街道新时代文明实践所" in first.inner_text() and "米" in first.inner_text()
        first.locator("a", has_text="提需求").click()
        form = resident.locator("form.need-form")
        assert form.locator("select[name=place_id] option:checked").inner_text() == "和平桥街道新时代文明实践所"
        fill_in(form, title="小区需要防诈骗讲座", name="张亚林")
        form.locator("select[name=region]").select_option("崇川区")
        fill_in(form, phone="13912345678")
        resident.click("#send_code")
        resident.locator("#sms_tip", has_text="验证码已发送").wait_for()
        code = re.search(r"验证码是(\d{6})", app.app.extensions["wx_sms"].last_to("13912345678")).group(1)
        fill_in(form, sms_code=code, content="老人多，最近常接到诈骗电话，希望来讲一讲。")
        screenshot(resident, "practice-need")
        form.locator("button[type=submit]").click()
        resident.locator(".need-state", has_text="待处理").wait_for()
        assert "和平桥街道新时代文明实践所" in resident.content()


def test_order_from_the_phone(phone, browser):
    app = phone.app
    _city(app)
    with phone_of(browser, app, "o_e2e_orderer") as resident:
        resident.goto(app.base_url + "/m/practice?account=demo")
        resident.click("a.tile-order")
        resident.locator("select[name=category]").select_option("教育服务")
        resident.locator("a.plan-item", has_text="家庭教育讲学志愿服务").click()
        form = resident.locator("form.order-form")
        fill_in(form, name="赵点单", phone="13900000009", wish="想给孩子听家庭教育讲座")
        screenshot(resident, "practice-order")
        form.locator("button[type=submit]").click()
        resident.locator(".order-state", has_text="待处理").wait_for()
        resident.goto(app.base_url + "/m/practice/plans?account=demo")
        assert "剩余9场" in resident.locator("a.plan-item").first.inner_text()

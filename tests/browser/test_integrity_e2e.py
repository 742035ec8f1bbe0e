"""Integrity in a real browser (WeChat UA, phone viewport, the JS-SDK stand-in): the rotating on-site code
read off the admin's screen and scanned with ``wx.scanQRCode`` (and a stale screenshot of it refused), desk
mode for a volunteer without a smartphone, and an offline punch replayed after reconnection."""

from __future__ import annotations

import io
from datetime import UTC, timedelta

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import TimeoutError as PageTimeout

from models import Binding, db, project_rules
from models import attendance as att
from models import signup as su
from tests.browser.conftest import screenshot
from tests.browser.test_attendance_e2e import at
from tests.browser.test_wishes_e2e import phone_of, phones
from tests.support.orgs import NOW, build_tree, make_volunteer
from tests.support.projects import TODAY, fields, typed
from tests.support.sandbox_phone import city_on

NEAR = {"latitude": 32.0101, "longitude": 120.8600, "accuracy": 15}


def setup_city(app):
    with app.app_context():
        _orgs, admins = build_tree()
        db.session.add(Binding(account="demo", openid="o-int-admin", volunteer_id=admins["district"].id))
        days = dict(start_date=TODAY.isoformat(), end_date=(TODAY + timedelta(days=1)).isoformat(),
                    signup_end=(TODAY + timedelta(days=1)).isoformat(), needs_review="0")
        double = project_rules.publish_project(admins["district"], typed(fields(**days)), now=NOW)
        single = project_rules.publish_project(admins["district"], typed(fields(
            name="文明交通劝导志愿服务", short_name="文明劝导", checkin_mode="single", preset_hours="2", punch_radius="",
            checkout_mode="", **days)), now=NOW)
        people = [make_volunteer(name, account="demo", openid=f"o-int-{n}") for n, name in enumerate(["周行远", "吴晓梅"])]
        elder = make_volunteer("钱阿婆")  # no smartphone: no binding at all
        for person_ in (*people, elder):
            su.sign_up(person_, double.id, now=NOW)
            su.sign_up(person_, single.id, now=NOW)
        db.session.commit()
        return {"double": double.id, "single": single.id, "people": [p.id for p in people], "elder": elder.id,
                "elder_phone": elder.phone, "elder_masked": elder.masked_name}


def decode_on_screen(page, selector) -> str:
    """What a phone camera pointed at the admin's screen reads."""
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(page.locator(selector).screenshot())))
    assert found, "the code on the screen decodes"
    return found[0].text


def wait_for_punch(page) -> None:
    """签到成功 on the page; if it does not come, the failure says what the page showed instead."""
    try:
        page.locator(".flash", has_text="签到成功").wait_for()
    except PageTimeout:
        shown = page.evaluate("""() => ({
            text: [...document.querySelectorAll('#punch-result, #punch-distance, #jssdk-notice, .flash')]
                .map(e => (e.id || e.className) + ': ' + e.textContent.trim()),
            calls: (window.__wxStandin && window.__wxStandin.calls || []).map(c => c.name)})""")
        raise AssertionError(f"no 签到成功 on {page.url}: {shown}") from None


@pytest.fixture
def city(phone):
    yield from city_on(phone, setup_city)


def test_on_site_code_scanned_from_the_admins_screen_and_a_stale_screenshot(city, browser):
    handle, app, ids = city
    app.config["CLOCK_NOW"] = at(9, 10)
    with phones(browser, handle) as open_phone:
        admin, volunteer, friend = open_phone("o-int-admin"), open_phone("o-int-0"), open_phone("o-int-1")
        base = handle.base_url
        admin.goto(base + f"/m/admin/projects/{ids['double']}/attendance?account=demo")
        admin.click("text=现场签到码")
        admin.click("#toggle-required")
        admin.locator(".flash", has_text="双签须扫现场签到码").wait_for()
        assert admin.locator(".onsite-required").inner_text() == "已要求"
        admin.locator("#onsite-code").wait_for()
        shown = decode_on_screen(admin, "#onsite-code")
        assert shown.startswith("JHZY-C1:")
        screenshot(admin, "integrity-onsite-code")
        # the volunteer taps 签到: the page opens the scanner (WeChat's scanQRCode) and punches with the code
        for scanner in (volunteer, friend):
            scanner.context.add_init_script(f"window.__wxStandin = {{location: {NEAR}, scanResult: {shown!r}}};")
        volunteer.goto(base + f"/m/checkin/{ids['double']}?account=demo")
        volunteer.locator(".onsite-required").wait_for()
        volunteer.click("#punch-button")
        wait_for_punch(volunteer)
        # a friend at home gets a screenshot of it two minutes later: refused, with the reason
        app.config["CLOCK_NOW"] = at(9, 12)
        friend.goto(base + f"/m/checkin/{ids['double']}?account=demo")
        friend.click("#punch-button")
        refusal = friend.locator("#punch-result.error")
        refusal.wait_for()
        scans = friend.evaluate("window.__wxStandin.calls.filter(c => c.name == 'scanQRCode').map(c => c.args.needResult)")
        assert scans == [1], "the page asked the scanner for the result"
        assert "已过期" in refusal.inner_text() and "截图无效" in refusal.inner_text()
        screenshot(friend, "integrity-stale-screenshot")
        with app.app_context():
            cycles = att.Cycle.query.filter_by(project_id=ids["double"]).all()
            assert [(c.volunteer_id, c.state) for c in cycles] == [(ids["people"][0], att.OPEN)]
            punch = att.Punch.query.filter_by(cycle_id=cycles[0].id).one()
            assert punch.onsite_code_at is not None and punch.accuracy == 15


def test_desk_mode_for_a_volunteer_without_a_smartphone(city, browser):
    handle, app, ids = city
    app.config["CLOCK_NOW"] = at(9, 30)
    with phone_of(browser, handle, "o-int-admin") as desk:
        desk.goto(handle.base_url + "/m/me?account=demo")
        desk.click("a.desk-link")
        desk.locator(".desk-projects a", has_text="文明交通劝导").click()
        desk.fill("#desk-q", ids["elder_phone"])
        desk.click("#desk-find")
        found = desk.locator(".desk-found")
        found.wait_for()
        text = desk.locator("body").inner_text()
        assert ids["elder_masked"] in text and ids["elder_phone"] not in text, "masked results only"
        assert "核对本人相貌" in text
        screenshot(desk, "integrity-desk-found")
        desk.locator(".desk-confirm").click()
        desk.locator(".flash", has_text="服务台打卡成功").wait_for()
        assert "计2.00小时" in desk.locator(".flash").inner_text()
        # found again: nothing more to do today
        desk.fill("#desk-q", ids["elder_phone"])
        desk.click("#desk-find")
        desk.locator(".notice", has_text="今日已打卡").wait_for()
        with app.app_context():
            cycle = att.Cycle.query.filter_by(project_id=ids["single"], volunteer_id=ids["elder"]).one()
            admin_id = Binding.volunteer_for("demo", "o-int-admin").id
            punch = att.Punch.query.filter_by(cycle_id=cycle.id).one()
            assert (cycle.source, punch.source, punch.by_id) == (att.SOURCE_DESK, att.SOURCE_DESK, admin_id)
            assert Binding.query.filter_by(volunteer_id=ids["elder"]).count() == 0


def test_an_offline_punch_is_kept_and_sent_when_back_online(city, browser):
    handle, app, ids = city
    app.config["CLOCK_NOW"] = at(9, 40)
    with phone_of(browser, handle, "o-int-1") as page:
        ctx = page.context
        ctx.add_init_script(f"window.__wxStandin = {{location: {NEAR}}};")
        page.clock.install(time=at(9, 20).replace(tzinfo=UTC))  # the phone's clock: no signal since 9:20
        page.goto(handle.base_url + f"/m/checkin/{ids['single']}?account=demo")
        page.locator("#punch-distance", has_text="米").wait_for()
        ctx.set_offline(True)
        page.click("#punch-button")
        page.locator("#punch-result", has_text="已保存在手机上").wait_for()
        assert page.evaluate(f"JSON.parse(localStorage.getItem('wx_offline_punches_{ids['people'][1]}')).length") == 1
        assert "1 次离线打卡等待上传" in page.locator("#offline-queue").inner_text()
        screenshot(page, "integrity-offline-kept")
        with app.app_context():
            assert att.Cycle.query.filter_by(project_id=ids["single"]).count() == 0
        # twenty minutes later the signal is back (the server's clock says 9:40)
        ctx.set_offline(False)
        page.locator("#punch-result", has_text="离线打卡已补传").wait_for()
        assert page.evaluate(f"JSON.parse(localStorage.getItem('wx_offline_punches_{ids['people'][1]}') || '[]').length") == 0
        with app.app_context():
            cycle = att.Cycle.query.filter_by(project_id=ids["single"], volunteer_id=ids["people"][1]).one()
            punch = att.Punch.query.filter_by(cycle_id=cycle.id).one()
            assert punch.received_at == at(9, 40) and at(9, 20) <= punch.at < at(9, 21)
            assert cycle.signed_in_at == punch.at and cycle.hours == 2

"""A page that needs the JS-SDK says so when it cannot have it — above all the elder's 一喊就来 button.

Three ways it fails in the field: the script does not load (no ``wx``), wx.config is refused
(wx.error), and nothing answers at all (the page's own 10 s limit, run on Playwright's clock).
"""

from __future__ import annotations

import json

from models import db
from tests.browser.conftest import screenshot
from tests.browser.test_attendance_e2e import at
from tests.browser.test_wishes_e2e import phone_of
from tests.support.help import build_help
from tests.support.orgs import build_tree
from tests.support.projects import running_today


def _elder_page(browser, handle):
    with handle.app.app_context():
        build_help(1, seeker_openid="o_e2e_elder_nowx")
    return phone_of(browser, handle, "o_e2e_elder_nowx")


def _calls(page, name):
    return page.evaluate(f"(window.__wxStandin ? window.__wxStandin.calls : []).filter(c => c.name == '{name}').length")


def test_the_elders_button_says_so_when_the_jssdk_script_does_not_load(phone, browser):
    with _elder_page(browser, phone.app) as page:
        page.route("**/sandbox/static/jweixin.js", lambda route: route.abort())
        page.goto(phone.app.base_url + "/m/help?account=demo")
        page.locator("#help-status", has_text="微信功能没有加载成功").wait_for()
        assert "暂时不能用" in page.locator("#help-mic").inner_text()
        assert page.locator(".jssdk-notice").is_visible()
        assert "help-status_error" in page.locator("#help-status").get_attribute("class")
        screenshot(page, "help-no-jssdk")
        page.locator("#help-mic").dispatch_event("pointerdown")  # pressed anyway: told again, nothing breaks
        page.locator("#help-sub", has_text="请家人或志愿者帮忙").wait_for()


def test_the_elders_button_says_so_when_wx_config_is_refused(phone, browser):
    def forged(route):
        answer = json.loads(route.fetch().text())
        answer["signature"] = "0" * 40
        route.fulfill(json=answer)

    with _elder_page(browser, phone.app) as page:
        page.route("**/m/jssdk-config*", forged)
        page.goto(phone.app.base_url + "/m/help?account=demo")
        page.locator("#help-status", has_text="微信功能初始化失败").wait_for()
        assert "invalid signature" in page.locator("#help-status").inner_text()
        assert _calls(page, "startRecord") == 0


def test_the_checkin_page_says_so_when_wechat_never_answers(phone, browser):
    handle = phone.app
    with handle.app.app_context():
        _orgs, admins = build_tree()
        project_id = running_today(admins["district"], "季红梅", "o-e2e-nowx")[0].id
        db.session.commit()
    with phone_of(browser, handle, "o-e2e-nowx") as page:
        page.clock.install()
        page.route("**/sandbox/phone/api/jssdk-verify", lambda route: None)  # never answered
        page.goto(handle.base_url + f"/m/checkin/{project_id}?account=demo")
        page.locator("#punch-distance", has_text="正在获取您的位置").wait_for()
        page.clock.run_for(11_000)
        page.locator("#punch-distance", has_text="微信功能长时间没有准备好").wait_for()
        page.click("#punch-button")
        page.locator("#punch-result.error", has_text="微信功能长时间没有准备好").wait_for()
        assert _calls(page, "getLocation") == 0


def test_a_tap_made_before_the_jssdk_is_ready_runs_once_it_is(phone, browser):
    """签到 tapped while wx.config is still out (a slow network): the page says it will go on, and does —
    one punch, however many taps."""
    handle = phone.app
    with handle.app.app_context():
        _orgs, admins = build_tree()
        project_id = running_today(admins["district"], "顾早到", "o-e2e-early")[0].id
        db.session.commit()
    held = []
    with handle.clock_at(at(9, 10)), phone_of(browser, handle, "o-e2e-early") as page:
        page.context.add_init_script("window.__wxStandin = {location: {latitude: 32.0101, longitude: 120.8600, accuracy: 15}};")
        page.route("**/sandbox/phone/api/jssdk-verify", lambda route: held.append(route))  # wx.config waits until we let it go
        page.goto(handle.base_url + f"/m/checkin/{project_id}?account=demo")
        page.locator("#punch-button").wait_for()
        for _ in range(3):
            page.click("#punch-button")
        page.locator("#punch-result", has_text="准备好后会自动继续").wait_for()
        assert _calls(page, "getLocation") == 0
        assert held, "wx.config asked the sandbox"
        for route in held:
            route.continue_()
        page.locator(".flash", has_text="签到成功").wait_for(timeout=30000)
        with handle.app.app_context():
            from models.attendance.tables import Punch
            assert Punch.query.count() == 1

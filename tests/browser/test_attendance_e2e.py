"""打卡签到 and 补签 in a real browser with the JS-SDK stand-in giving positions (gcj02) and photos;
the app's clock is stopped and moved by the test (``CLOCK_NOW``)."""

from __future__ import annotations

from datetime import datetime

import pytest

from models import Binding, db
from models import attendance as att
from models import hours as service_hours
from models import project as pr
from tests.browser.conftest import screenshot
from tests.browser.test_wishes_e2e import phone_of, phones
from tests.support.orgs import build_tree
from tests.support.projects import TODAY, running_today
from tests.support.sandbox_phone import city_on

FAR = '{"latitude": 32.0150, "longitude": 120.8600, "accuracy": 35}'
NEAR = '{"latitude": 32.0101, "longitude": 120.8600, "accuracy": 15}'
# Where the phone is, kept across page loads in sessionStorage (the init script runs on every load).
WHERE = "window.__wxStandin = {location: JSON.parse(sessionStorage.getItem('where') || '" + FAR + "')};"


def at(hh, mm=0, day=TODAY) -> datetime:
    return pr.to_utc(day, datetime.min.time().replace(hour=hh, minute=mm))


def setup_city(app):
    with app.app_context():
        _orgs, admins = build_tree()
        db.session.add(Binding(account="demo", openid="o-e2e-admin", volunteer_id=admins["district"].id))
        project, walker = running_today(admins["district"], "周行远", "o-e2e-walker")
        db.session.commit()
        return project.id, walker.id


@pytest.fixture
def city(phone):
    yield from city_on(phone, setup_city)


def test_too_far_then_closer_sign_in_sign_out_and_publicity(city, browser):
    handle, app, (project_id, walker_id) = city
    app.config["CLOCK_NOW"] = at(9, 10)
    with phone_of(browser, handle, "o-e2e-walker") as page:
        page.context.add_init_script(WHERE)
        base = handle.base_url
        page.goto(base + "/m/checkin?account=demo")
        page.locator("a.checkin-project", has_text="滨江公园").click()
        page.locator("#punch-distance", has_text="554 米").wait_for()
        page.click("#punch-button")
        refusal = page.locator("#punch-result.error")
        refusal.wait_for()
        text = refusal.inner_text()
        assert "约554米" in text and "超出打卡范围（200米）354米" in text and "精度约35米" in text
        screenshot(page, "attendance-too-far")
        asked = page.evaluate("window.__wxStandin.calls.filter(c => c.name == 'getLocation')"
                              ".map(c => JSON.stringify(c.args))")
        assert asked and all("gcj02" in a for a in asked)
        # the volunteer walks closer; the same page asks again
        page.evaluate(f"sessionStorage.setItem('where', '{NEAR}'); window.__wxStandin.location = {NEAR};")
        page.click("#punch-button")
        page.locator(".flash", has_text="签到成功").wait_for()
        assert page.locator("#punch-button").inner_text().strip() == "签退"
        # forty minutes later
        app.config["CLOCK_NOW"] = at(9, 50)
        page.reload()
        page.click("#punch-button")
        page.locator(".flash", has_text="签退成功").wait_for()
        assert "1.00 小时" in page.locator(".flash").inner_text()
        screenshot(page, "attendance-signed-out")
        page.click("a.publicity-link")
        row = page.locator(".publicity-row").first
        row.wait_for()
        assert "周*远" in row.inner_text() and "1.00" in row.inner_text()
        screenshot(page, "attendance-publicity")
        with app.app_context():
            cycle = att.Cycle.query.filter_by(volunteer_id=walker_id).one()
            punches = att.Punch.query.filter_by(cycle_id=cycle.id).order_by(att.Punch.id).all()
            assert [p.kind for p in punches] == ["in", "out"] and punches[0].accuracy == 15
            assert abs(punches[0].latitude - 32.0101) < 1e-9  # gcj02 as sent, not converted


def test_makeup_with_a_photo_then_approved(city, browser):
    handle, app, (project_id, walker_id) = city
    app.config["CLOCK_NOW"] = at(12, 30)
    with phones(browser, handle) as open_phone:
        page = open_phone("o-e2e-walker", auto_image=True)
        base = handle.base_url
        page.goto(base + f"/m/checkin/{project_id}/makeup?account=demo")
        form = page.locator("form.makeup-form")
        form.locator("select[name=kind]").select_option("both")
        form.locator("input[name=sign_in]").fill("09:05")
        form.locator("input[name=sign_out]").fill("10:20")
        form.locator("textarea[name=reason]").fill("手机没电，未能打卡")
        form.locator("button[type=submit]").click()  # no photo yet: refused on the page
        page.locator("#photo-tip", has_text="请上传活动现场照片").wait_for()
        page.click("#choose-photo")
        page.locator("#photo-count b", has_text="1").wait_for()
        screenshot(page, "attendance-makeup-form")
        form.locator("button[type=submit]").click()
        page.locator(".flash", has_text="补签申请已提交").wait_for()
        assert "待审核" in page.locator(".makeup-state").inner_text()
        handle.drain_jobs()
        admin = open_phone("o-e2e-admin")
        admin.goto(base + "/m/admin/makeups?account=demo")
        admin.locator("a.admin-makeup", has_text="周*远").click()
        admin.locator(".makeup-photo img").wait_for()
        admin.locator("form.makeup-approve-form button").click()
        admin.locator(".flash", has_text="已通过").wait_for()
        page.goto(base + f"/m/projects/{project_id}/publicity?account=demo")
        assert "1.50" in page.locator(".publicity-row").first.inner_text()
        with app.app_context():
            assert service_hours.total_hours(walker_id) == 1.5

"""随手拍 from the phone: an accepted volunteer of a running project takes a photo (JS-SDK chooseImage/
uploadImage stand-in), the media pipeline stores it, the project admin approves it and 文明万象 shows it."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.browser.conftest import screenshot
from tests.browser.test_wishes_e2e import phones
from tests.support.orgs import NOW, build_tree, make_volunteer
from tests.support.projects import publish


def test_a_photo_from_the_phone_reaches_the_wall(phone, browser):
    app = phone.app
    with app.app.app_context():
        from models import Binding, db
        from models.signup import sign_up

        _orgs, admins = build_tree()
        db.session.add(Binding(account="demo", openid="o_e2e_photo_admin", volunteer_id=admins["district"].id))
        project = publish(admins["district"], needs_review="0")
        taker = make_volunteer("拍照人", account="demo", openid="o_e2e_photo")
        sign_up(taker, project.id, now=NOW)
        db.session.commit()
        project_id = project.id
        running = datetime.combine(project.start_date, project.daily_start) - timedelta(hours=8, minutes=-30)
    with app.clock_at(running), phones(browser, app) as open_phone:
        page = open_phone("o_e2e_photo", auto_image=True)
        page.goto(f"{app.base_url}/m/projects/{project_id}?account=demo")
        page.locator("a.photo-link").click()
        page.click("#choose-photo")
        page.locator("#photo-count b", has_text="1").wait_for()
        calls = [c["name"] for c in page.evaluate("window.__wxStandin.calls")]
        assert "chooseImage" in calls and "uploadImage" in calls
        page.locator("#photo-submit").click()
        page.locator(".flash", has_text="已上传 1 张照片").wait_for()
        assert app.drain_jobs()
        screenshot(page, "photos-album")

        admin = open_phone("o_e2e_photo_admin")
        admin.goto(f"{app.base_url}/m/admin/projects/{project_id}/photos?account=demo")
        admin.locator("button.photo-approve").click()
        admin.locator(".flash", has_text="已审核 1 张照片").wait_for()

        page.goto(f"{app.base_url}/m/photos?account=demo")
        image = page.locator(".photo-card img")
        image.wait_for()
        assert image.evaluate("img => img.complete && img.naturalWidth > 0")
        assert "崇川区志愿者协会" in page.locator(".photo-card").inner_text()
        screenshot(page, "photos-wall")

"""场所图片 and 风采 from the phone: a place's admin takes the outside view and two inside photos with the
JS-SDK (chooseImage/uploadImage stand-in, two pickers of the one photo macro on one page), the media
pipeline stores them, and a resident sees them on the centre's 微主页 and its 风采 page."""

from __future__ import annotations

from tests.browser.conftest import screenshot
from tests.browser.test_wishes_e2e import phones
from tests.support.orgs import NOW, build_tree
from tests.support.practice import build_places


def test_place_photos_from_the_phone_reach_the_gallery(phone, browser):
    app = phone.app
    with app.app.app_context():
        from models import Binding, db

        orgs, admins = build_tree()
        tree = build_places(orgs, admins, NOW)
        db.session.add(Binding(account="demo", openid="o_e2e_centre_admin", volunteer_id=admins["district"].id))
        db.session.commit()
        centre = tree["centre"].id
    with phones(browser, app) as open_phone:
        admin = open_phone("o_e2e_centre_admin", auto_image=True)
        admin.goto(f"{app.base_url}/m/practice/places/{centre}?account=demo")
        admin.locator("a.place-photos-link").click()
        admin.wait_for_url("**/photos?account=demo")
        admin.wait_for_function("window.wxSdk && wxSdk.problem() === ''", timeout=40_000)  # a busy machine
        admin.click("#choose-outside")
        admin.locator("#outside-count b", has_text="1").wait_for()
        admin.click("#choose-photo")
        admin.locator("#photo-count b", has_text="1").wait_for()
        admin.click("#choose-photo")
        admin.locator("#photo-count b", has_text="2").wait_for()
        calls = [c["name"] for c in admin.evaluate("window.__wxStandin.calls")]
        assert calls.count("uploadImage") == 3
        admin.locator("#place-photos-submit").click()
        admin.locator(".flash", has_text="场所图片已保存").wait_for()
        assert app.drain_jobs()
        admin.reload()
        assert admin.locator(".place-photo-state", has_text="已展示").count() == 3

        resident = open_phone("o_e2e_gallery_resident")
        resident.goto(f"{app.base_url}/m/practice/centres/{centre}?account=demo")
        cards = resident.locator(".centre-gallery .gallery-card img")
        cards.first.wait_for()
        assert cards.count() == 3
        resident.locator("a.gallery-more").click()
        shown = resident.locator(".gallery-card img")
        shown.first.wait_for()
        assert shown.count() == 3
        resident.wait_for_function("[...document.querySelectorAll('.gallery-card img')]"
                                   ".every(img => img.complete && img.naturalWidth > 0)")
        assert "阵地风貌" in resident.locator(".gallery-card").first.inner_text()
        screenshot(resident, "practice-gallery")

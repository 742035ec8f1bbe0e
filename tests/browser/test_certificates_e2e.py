"""From 我的活动 to a saved certificate image in a real browser: 已完成 → 证书打印 → the certificate page, its
PNG (what a long-press saves in WeChat) saved and opened, and the QR's verification page in a stranger's browser."""

from __future__ import annotations

import base64
import io
from datetime import timedelta

from PIL import Image

from models import db
from tests.browser.conftest import ARTIFACTS, screenshot
from tests.browser.test_wishes_e2e import phone_of
from tests.support.projects import TODAY
from tests.support.records import at, served


def test_from_my_activities_to_a_saved_certificate_image(phone, browser):
    handle = phone.app
    app = handle.app
    with app.app_context():
        served(account="demo", openid="o-e2e-cert")
        db.session.commit()
    handle.drain_jobs()
    app.config["CLOCK_NOW"] = at(12, 0, TODAY + timedelta(days=2))
    with phone_of(browser, handle, "o-e2e-cert") as page:
        page.goto(handle.base_url + "/m/me?account=demo")
        page.get_by_text("我的活动", exact=True).click()
        page.get_by_text("已完成").click()
        item = page.locator(".my-activity", has_text="文明交通劝导志愿服务")
        item.get_by_role("button", name="证书打印").click()
        page.locator(".certificate-number").wait_for()
        number = page.locator(".certificate-number").inner_text().strip()
        assert page.locator(".certificate-status").inner_text().strip() == "有效"
        assert "长按" in page.locator(".long-press").inner_text()
        image = page.locator("img.certificate-image")
        image.scroll_into_view_if_needed()
        page.wait_for_function("document.querySelector('img.certificate-image').naturalWidth > 0")
        assert image.evaluate("i => i.naturalWidth") == 1080
        style = image.evaluate("i => [getComputedStyle(i).pointerEvents, getComputedStyle(i).webkitTouchCallout]")
        assert style[0] != "none" and style[1] != "none"  # nothing stops WeChat's long-press menu
        screenshot(page, "certificate-page")
        # what 保存图片 stores: the image's own bytes
        data = image.evaluate("""async i => {
            const bytes = new Uint8Array(await (await fetch(i.src)).arrayBuffer());
            let text = ''; bytes.forEach(b => text += String.fromCharCode(b)); return btoa(text); }""")
        ARTIFACTS.mkdir(exist_ok=True)
        saved = ARTIFACTS / "certificate-saved.png"
        saved.write_bytes(base64.b64decode(data))
        with Image.open(io.BytesIO(saved.read_bytes())) as opened:
            assert opened.format == "PNG" and opened.width == 1080
        verify = page.get_by_text("查看核验页面").get_attribute("href")
        assert verify.endswith(number)
    stranger = browser.new_context(locale="zh-CN")
    try:
        check = stranger.new_page()
        check.goto(verify)
        assert "证明有效" in check.locator(".verify-result").inner_text()
        assert "李*芳" in check.locator(".verify-facts").inner_text()
        screenshot(check, "certificate-verified")
    finally:
        stranger.close()

"""The sandbox phone registers a new volunteer, then sees its QR code."""

import re

from tests.browser.conftest import screenshot
from tests.support.sandbox_phone import fill_identity, follow_and_tap_bind


def test_register_then_see_the_qr_code(phone):
    app = phone.app
    frame = follow_and_tap_bind(phone, "o_e2e_register")
    frame.locator("text=注册志愿者").click()
    form = frame.locator("form.register-form")
    form.wait_for()
    fill_identity(form, birth="19880808", name="林晓", password="volunteer8")
    form.locator("input[name=phone]").fill("13812345678")
    form.locator("#send_code").click()
    frame.locator("#sms_tip", has_text="验证码已发送").wait_for()
    code = re.search(r"验证码是(\d{6})", app.app.extensions["wx_sms"].last_to("13812345678")).group(1)
    form.locator("input[name=sms_code]").fill(code)
    form.locator("button[type=submit]").click()
    frame.locator("img.volunteer-qrcode").wait_for()
    assert "注册成功" in frame.locator("body").inner_text()
    width = frame.locator("img.volunteer-qrcode").evaluate(
        "img => img.complete && img.naturalWidth ? img.naturalWidth"
        " : new Promise(done => img.addEventListener('load', () => done(img.naturalWidth)))")
    assert width > 100, "the QR image was served and decoded by the browser"
    screenshot(phone, "accounts-qrcode")

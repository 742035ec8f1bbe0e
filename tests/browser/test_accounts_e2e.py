"""The sandbox phone registers a new volunteer, then sees its QR code."""

import re

from tests.browser.conftest import screenshot
from tests.support.people import id_number


def test_register_then_see_the_qr_code(phone):
    app = phone.app
    phone.goto(app.base_url + "/sandbox/phone")
    phone.fill("#openid", "o_e2e_register")
    phone.click("#follow")
    phone.wait_for_selector("text=欢迎关注江海志愿")
    phone.click("#menu >> text=志愿者")
    phone.click("#menu >> text=账号绑定")
    frame = phone.frame_locator("#webview-frame")
    frame.locator("text=注册志愿者").click()
    form = frame.locator("form.register-form")
    form.wait_for()
    form.locator("select[name=id_type]").select_option("mainland_id")
    form.locator("input[name=id_number]").fill(id_number("19880808", male=False))
    form.locator("input[name=name]").fill("林晓")
    form.locator("input[name=gender][value=F]").check()
    form.locator("input[name=password]").fill("volunteer8")
    form.locator("input[name=password_repeat]").fill("volunteer8")
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

"""The sandbox phone follows the account, taps 账号绑定 and lands on the bind page through OAuth."""

from tests.browser.conftest import screenshot


def test_follow_tap_bind_lands_on_the_bind_page(phone):
    app = phone.app
    phone.goto(app.base_url + "/sandbox/phone")
    phone.fill("#openid", "o_e2e_follow")
    phone.click("#follow")
    phone.wait_for_selector("text=欢迎关注江海志愿")
    phone.click("#menu >> text=志愿者")
    phone.click("#menu >> text=账号绑定")
    frame = phone.frame_locator("#webview-frame")
    frame.locator("form.bind-form").wait_for()
    assert frame.locator("h1.page__title").inner_text() == "账号绑定"
    screenshot(phone, "foundation-bind-page")
    oauth = app.sandbox.calls_to("sns/oauth2/access_token")
    assert len(oauth) == 1, "the page was reached through WeChat OAuth, code traded once"

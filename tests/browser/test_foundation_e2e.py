"""The sandbox phone follows the account, taps 账号绑定 and lands on the bind page through OAuth."""

from tests.browser.conftest import screenshot
from tests.support.sandbox_phone import follow_and_tap_bind


def test_follow_tap_bind_lands_on_the_bind_page(phone):
    app = phone.app
    frame = follow_and_tap_bind(phone, "o_e2e_follow")
    frame.locator("form.bind-form").wait_for()
    assert frame.locator("h1.page__title").inner_text() == "账号绑定"
    screenshot(phone, "foundation-bind-page")
    oauth = app.sandbox.calls_to("sns/oauth2/access_token")
    assert len(oauth) == 1, "the page was reached through WeChat OAuth, code traded once"

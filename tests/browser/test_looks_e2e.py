"""What people see, in headless Chromium: elder pages at WeChat's larger font sizes, links and favicon,
the SMS button, the unbind confirmation and the staff's answer page of 联系我们.

WeChat applies the reader's font size (关怀模式) to its WebView; here the browser's default font size is
raised to 1.5× (CDP ``Page.setFontSizes``), which scales exactly the text sized relative to it — text in
px would stay put and fail the "text scales" check.  Android's WebView text zoom, which scales px text as
well, is played by ``TEXT_ZOOM``: layouts must hold under both.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from tests.browser.conftest import ARTIFACTS, screenshot
from tests.browser.test_wishes_e2e import phone_of
from tests.support.help import build_help
from tests.support.orgs import build_tree, make_volunteer
from tests.support.sandbox_phone import fill_identity

DEFAULT_SIZE, FIXED_SIZE = 16, 13
ELDER = "o_looks_xu_guifang"  # 徐桂芳, born 1942, 一喊就来 seeker and wish publisher
FAMILY = "o_looks_family"  # her daughter's phone, not bound to anything yet

TEXT_METRICS = """() => {
  const items = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, text = node.textContent.trim();
    if (!text) continue;
    const el = node.parentElement;
    if (el.closest('script, style, noscript')) continue;
    const range = document.createRange(); range.selectNodeContents(node);
    const r = range.getBoundingClientRect();
    if (!r.width || !r.height || getComputedStyle(el).visibility === 'hidden') continue;
    items.push({text: text.slice(0, 24), size: parseFloat(getComputedStyle(el).fontSize), left: r.left,
                right: r.right});
  }
  for (const el of document.querySelectorAll('input:not([type=hidden]):not([type=radio]):not([type=checkbox]),'
                                              + ' select, textarea')) {
    const r = el.getBoundingClientRect();
    if (!r.width) continue;
    items.push({text: '<' + el.tagName.toLowerCase() + ' ' + (el.name || '') + '>',
                size: parseFloat(getComputedStyle(el).fontSize), left: r.left, right: r.right});
  }
  return {items: items, scrollWidth: document.documentElement.scrollWidth, width: window.innerWidth};
}"""


TEXT_ZOOM = """factor => {  // Android WebView's text zoom: every computed font size times the factor, px included
  const all = [...document.querySelectorAll('body, body *')];
  const sizes = all.map(el => parseFloat(getComputedStyle(el).fontSize));
  all.forEach((el, i) => el.style.setProperty('font-size', (sizes[i] * factor) + 'px', 'important'));
}"""


def open_at_scale(page, url: str, scale: float) -> None:
    """Open ``url`` with the reader's default text size at ``scale``×.  The setting belongs to the page's
    renderer, which a navigation to another site replaces: set it once the page is there, then reload."""
    page.goto(url)
    if scale != 1.0:
        cdp = page.context.new_cdp_session(page)
        cdp.send("Page.enable")
        cdp.send("Page.setFontSizes", {"fontSizes": {"standard": round(DEFAULT_SIZE * scale),
                                                     "fixed": round(FIXED_SIZE * scale)}})
        page.reload()
    page.wait_for_load_state("load")


@pytest.fixture
def elder_pages(phone):
    """The pages an elder opens, with the data they show: (openid, path) pairs."""
    app = phone.app
    with app.app.app_context():
        from models import Volunteer, db, wish_rules
        from tests.support.wishes import wish_typed

        ids = build_help(1, seeker_openid=ELDER)
        district_admin = db.session.get(Volunteer, ids["admins"]["district"])
        now = datetime.utcnow()
        wish = wish_rules.publish("demo", ELDER, wish_typed({
            "name": "徐桂芳", "district": "崇川区", "street": "和平桥街道", "age": "84", "gender": "F",
            "phone": "0513-85067321", "address": "崇川区和平桥街道桃坞路26号302室",
            "situation": "独居，老伴去世多年，子女在外地工作", "content": "想请人帮忙换一下厨房的灯泡，再陪我说说话"}),
            now=now)
        db.session.commit()
        wish_rules.approve(district_admin, wish.id, now=now)
        db.session.commit()
        wish_id = wish.id
    return app, [
        (ELDER, "/m/?account=demo"), (FAMILY, "/m/?account=demo"),
        (ELDER, "/m/help?account=demo"), (FAMILY, "/m/help?account=demo"),
        (ELDER, "/m/wishes?account=demo"), (ELDER, "/m/wishes/new?account=demo"),
        (ELDER, f"/m/wishes/{wish_id}?account=demo"), (ELDER, "/m/wishes/mine?account=demo"),
    ]


def _screen(page, name: str) -> None:
    """The visible screen only: a full-page screenshot re-applies the device metrics, and with them the
    default font size, so it would show the page at 1×."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def _metrics(browser, app, openid: str, path: str, scale: float, zoom: float = 1.0) -> dict:
    with phone_of(browser, app, openid) as page:
        open_at_scale(page, app.base_url + path, scale)
        if zoom != 1.0:
            page.evaluate(TEXT_ZOOM, zoom)
        assert "/m/" in page.url, f"{path} did not open: {page.url}"
        if scale != 1.0:
            _screen(page, "looks-" + re.sub(r"\W+", "-", f"{openid}{path.split('?')[0]}").strip("-") + "-150")
        return page.evaluate(TEXT_METRICS)


def test_elder_pages_have_17px_text_that_follows_the_font_size_and_never_overflows(elder_pages, browser):
    app, pages = elder_pages
    for openid, path in pages:
        normal = _metrics(browser, app, openid, path, 1.0)
        small = [(i["text"], i["size"]) for i in normal["items"] if i["size"] < 17]
        assert not small, f"{path} as {openid}: text under 17 px: {small}"

        large = _metrics(browser, app, openid, path, 1.5)
        assert len(large["items"]) == len(normal["items"]), path
        unscaled = [(a["text"], a["size"], b["size"]) for a, b in zip(normal["items"], large["items"], strict=True)
                    if b["size"] < a["size"] * 1.45]
        assert not unscaled, f"{path}: text that does not follow the font-size setting: {unscaled}"
        zoomed = _metrics(browser, app, openid, path, 1.0, zoom=1.5)  # Android's text zoom scales px too
        for name, seen in (("1.5× default size", large), ("1.5× text zoom", zoomed)):
            assert seen["scrollWidth"] <= seen["width"], f"{path} at {name}: the page scrolls sideways"
            outside = [i["text"] for i in seen["items"] if i["right"] > seen["width"] + 1 or i["left"] < -1]
            assert not outside, f"{path} at {name}: text outside the screen: {outside}"


def test_pages_allow_pinch_zoom_and_carry_the_favicon_and_weui_link_colour(phone, browser):
    app = phone.app
    with phone_of(browser, app, FAMILY) as page:
        page.goto(app.base_url + "/m/bind?account=demo")
        viewport = page.locator("meta[name=viewport]").get_attribute("content")
        assert "user-scalable=no" not in viewport.replace(" ", "") and "maximum-scale" not in viewport
        colours = page.eval_on_selector_all("a:not(.weui-btn):not(.weui-cell)",
                                            "links => links.map(a => getComputedStyle(a).color)")
        assert colours and set(colours) == {"rgb(87, 107, 149)"}, colours  # WeUI's link colour, not #0000ee
        icon = page.locator("link[rel=icon]").get_attribute("href")
        answer = page.request.get(app.base_url + icon)
        assert answer.ok and answer.headers["content-type"].startswith("image/svg+xml")
        assert page.evaluate("getComputedStyle(document.documentElement).webkitTextSizeAdjust") != "none"


def test_the_sms_button_counts_down_and_a_wrong_code_stays_typed(phone, browser):
    app = phone.app
    with phone_of(browser, app, "o_looks_register") as page:
        page.clock.install()
        page.goto(app.base_url + "/m/register?account=demo")
        # Paused: the countdown moves only by run_for, however slow the machine is between the steps.
        page.clock.pause_at(datetime.now() + timedelta(seconds=5))
        form = page.locator("form.register-form")
        form.locator("input[name=phone]").fill("13962871234")
        button = form.locator("#send_code")
        button.click()
        page.locator("#sms_tip", has_text="验证码已发送").wait_for()
        assert button.is_disabled() and button.inner_text() == "60 秒后重新获取"
        assert page.locator("#sms_tip").evaluate("e => getComputedStyle(e).color") == "rgb(6, 174, 86)"
        page.clock.run_for(59_000)
        assert button.is_disabled() and button.inner_text() == "1 秒后重新获取"
        page.clock.run_for(1_000)
        assert button.is_enabled() and button.inner_text() == "重新获取"
        button.click()  # within the minute the server refuses a second code: the button is free at once
        page.locator("#sms_tip.text-error").wait_for()
        assert button.is_enabled() and page.locator("#sms_tip").evaluate(
            "e => getComputedStyle(e).color") == "rgb(198, 40, 40)"

        fill_identity(form, birth="19580312", name="曹美华", password="haimen1958a")
        form.locator("input[name=sms_code]").fill("000000")
        form.locator("button[type=submit]").click()
        page.locator(".form-error").wait_for()
        assert page.locator("input[name=sms_code]").input_value() == "000000"
        assert page.locator(".form-error").evaluate("e => getComputedStyle(e).color") == "rgb(198, 40, 40)"


def test_unbinding_asks_first(phone, browser):
    app = phone.app
    with app.app.app_context():
        make_volunteer("钱志刚", account="demo", openid="o_looks_qian")
        from models import db

        db.session.commit()
    def bound() -> int:
        with app.app.app_context():
            from models import Binding

            return Binding.query.filter_by(account="demo", openid="o_looks_qian").count()

    with phone_of(browser, app, "o_looks_qian") as page:
        page.goto(app.base_url + "/m/bind?account=demo")
        dialog = page.locator("#unbind-confirm")
        page.locator("form.unbind-form button[type=submit]").click()
        dialog.locator(".weui-dialog").wait_for(state="visible")
        assert "确定解除绑定吗" in dialog.inner_text()
        screenshot(page, "looks-unbind-confirm")
        dialog.locator(".unbind-cancel").click()
        dialog.locator(".weui-dialog").wait_for(state="hidden")
        assert bound() == 1
        page.locator("form.unbind-form button[type=submit]").click()
        dialog.locator(".unbind-yes").click()
        page.locator(".flash", has_text="已解除绑定").wait_for()
        assert bound() == 0


def test_staff_answer_a_message_from_the_contact_page(phone, browser):
    app = phone.app
    with app.app.app_context():
        from models import Binding, Follower, contact, db

        _orgs, admins = build_tree()
        db.session.add(Binding(account="demo", openid="o_looks_staff", volunteer_id=admins["root"].id))
        follower = Follower(account="demo", openid=ELDER, following=True, last_seen_at=datetime.utcnow())
        contact.record_message(follower, "我想参加重阳节的活动，怎么报名？", datetime.utcnow())
        db.session.commit()
    app.sandbox.follow("wxdemo0000000001", ELDER)
    with phone_of(browser, app, "o_looks_staff") as page:
        open_at_scale(page, app.base_url + "/m/admin/contact?account=demo", 1.5)
        page.locator("a.contact-row", has_text="重阳节").click()
        page.locator("textarea[name=content]").fill("您好，重阳节活动在首页“做志愿”里报名，名额还有 20 个。")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        _screen(page, "looks-contact-answer")
        page.locator("form.contact-answer button[type=submit]").click()
        page.locator(".flash", has_text="回复已发送").wait_for()
        assert page.locator(".contact-entry_out", has_text="名额还有 20 个").is_visible()
        [sent] = app.sandbox.custom_messages
        assert sent["touser"] == ELDER and "名额还有 20 个" in sent["text"]["content"]


def test_the_elders_button_says_a_failure_in_red_not_in_the_green_of_success(phone, browser):
    from tests.browser.test_help_e2e import _hold

    app = phone.app
    with app.app.app_context():
        build_help(1, seeker_openid=ELDER)
    with phone_of(browser, app, ELDER) as page:
        page.goto(app.base_url + "/m/help?account=demo")
        page.wait_for_function("window.wx && window.__wxStandin.calls.some(c => c.name === 'onVoiceRecordEnd')")
        _hold(page, "#help-mic", 250)  # too short: discarded, with a hint
        status = page.locator("#help-status", has_text="说话时间太短")
        status.wait_for()
        assert status.evaluate("e => getComputedStyle(e).color") == "rgb(198, 40, 40)"





def test_labels_do_not_wrap_inside_a_word_at_large_text(phone, browser):
    """Under Android's text zoom (px text grows too) a label keeps to one line, a tile label too."""
    app = phone.app
    lines = """els => els.map(el => {
      const range = document.createRange(); range.selectNodeContents(el);
      const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
      return [el.textContent.trim(), tops.size];
    })"""
    for path, selector in (("/m/register?account=demo", ".weui-label"), ("/m/wishes/new?account=demo", ".weui-label"),
                           ("/m/?account=demo", ".grid-menu__item span:last-child")):
        with phone_of(browser, app, FAMILY) as page:
            page.goto(app.base_url + path)
            page.evaluate(TEXT_ZOOM, 1.5)
            labels = page.eval_on_selector_all(selector, lines)
            assert labels and all(n == 1 for _text, n in labels), (path, labels)

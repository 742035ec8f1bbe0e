"""The sandbox phone, the first screen a newcomer sees: sub-menus open and close as in WeChat and never
cover the input row; a reply's <a href> is a link, anything else in it stays text."""

from __future__ import annotations

import time

from tests.browser.conftest import screenshot


def _open_phone(page, openid):
    page.goto(page.app.base_url + "/sandbox/phone")
    page.fill("#openid", openid)
    page.dispatch_event("#openid", "change")
    page.wait_for_load_state("networkidle")
    page.locator("#menu > .top > button", has_text="个人中心").wait_for()


def _top(page, name):
    return page.locator("#menu > .top > button", has_text=name)


def _sub(page, name):
    return page.locator("#menu > .top", has_text=name).locator("> .sub")


def test_sub_menus_close_and_stay_above_the_input_row(phone):
    _open_phone(phone, "o_phone_menus")
    sub = _sub(phone, "个人中心")
    assert not sub.is_visible()
    _top(phone, "个人中心").click()
    assert sub.is_visible()
    sub_bottom, row_top = phone.evaluate(
        "[...document.querySelectorAll('#menu .sub')].filter(s => !s.hidden)"
        ".map(s => s.getBoundingClientRect().bottom).concat([document.querySelector('.input-row')"
        ".getBoundingClientRect().top])")
    assert 0 < sub_bottom <= row_top
    _top(phone, "个人中心").click()  # the same button again closes it
    assert not sub.is_visible()

    _top(phone, "志愿者").click()
    other = _sub(phone, "志愿者")
    assert other.is_visible()
    _top(phone, "个人中心").click()  # another top button: only its own is open
    assert sub.is_visible() and not other.is_visible()
    phone.click("#chat")                                     # a tap elsewhere closes it
    assert not sub.is_visible()
    phone.fill("#text", "你好")                               # the input row is reachable
    _top(phone, "个人中心").click()
    sub.locator("button", has_text="联系我们").click()      # choosing an item closes it too
    assert not sub.is_visible()
    phone.locator("#chat .msg.system", has_text="点击菜单").wait_for()
    screenshot(phone, "sandbox-phone-menus")


def test_the_input_rows_buttons_keep_their_labels_on_one_line(phone):
    """发送 must not break into 发 / 送 on a narrow phone."""
    _open_phone(phone, "o_phone_row")
    heights = phone.evaluate(
        "[...document.querySelectorAll('.input-row button')].map(b => [b.textContent.trim(),"
        " b.getBoundingClientRect().height, parseFloat(getComputedStyle(b).lineHeight) ||"
        " parseFloat(getComputedStyle(b).fontSize) * 1.5])")
    assert heights
    for label, height, line in heights:
        assert height < 2 * line, (label, height, line)


def test_reply_links_are_links_and_everything_else_is_text(phone):
    handle = phone.app
    appid = handle.config["accounts"]["demo"]["app_id"]
    _open_phone(phone, "o_phone_links")
    phone.click("#follow")
    bind = phone.locator("#chat a", has_text="绑定志愿者账号")
    bind.wait_for()
    assert bind.get_attribute("href").startswith(handle.base_url + "/m/bind")
    assert "<a href" not in phone.locator("#chat").inner_text()

    hostile = ('看<a href="javascript:alert(1)">这里</a>和<img src=x onerror="window.__pwned=1">，'
               "<a href='https://www.ntjhzy.cn/notice'>通知</a> 或 http://www.nantong.gov.cn/")
    state = handle.sandbox
    with state.lock:
        state.custom_messages.append({"appid": appid, "touser": "o_phone_links", "msgtype": "text",
                                      "text": {"content": hostile}, "time": time.time()})
    phone.locator("#chat a", has_text="通知").wait_for()
    chat = phone.locator("#chat")
    assert [a.get_attribute("href") for a in chat.locator("a").all()][-2:] == [
        "https://www.ntjhzy.cn/notice", "http://www.nantong.gov.cn/"]
    assert chat.locator("img").count() == 0 and chat.locator("a", has_text="这里").count() == 0
    assert '<a href="javascript:alert(1)">这里</a>' in chat.inner_text()
    assert '<img src=x onerror="window.__pwned=1">' in chat.inner_text()
    assert phone.evaluate("window.__pwned === undefined")


def test_switching_to_another_openid_closes_the_page_the_last_person_had_open(phone):
    """The admin's 报名审核 page must not stay on screen for the volunteer who takes the phone next."""
    _open_phone(phone, "o_phone_first")
    _top(phone, "个人中心").click()
    _sub(phone, "个人中心").locator("button", has_text="个人中心").click()
    phone.locator("#webview").wait_for(state="visible")
    phone.fill("#openid", "o_phone_second")
    phone.dispatch_event("#openid", "change")
    assert phone.locator("#webview").is_hidden()
    assert phone.evaluate("document.getElementById('webview-frame').getAttribute('src')") == "about:blank"
    _top(phone, "志愿者").click()  # the menu is reachable again
    assert _sub(phone, "志愿者").is_visible()


def test_the_next_person_on_the_phone_is_signed_in_as_themselves(phone):
    """One browser plays several phones: after a switch the pages know the new openid, not the last one's."""
    _open_phone(phone, "o_phone_alice")
    _top(phone, "个人中心").click()
    _sub(phone, "个人中心").locator("button", has_text="个人中心").click()
    phone.frame_locator("#webview-frame").locator("body").wait_for()
    first = phone.evaluate("fetch('/m/jssdk-config?url=' + encodeURIComponent(location.href)).then(r => r.status)")
    assert first == 200
    phone.fill("#openid", "o_phone_bob")
    with phone.expect_response(lambda r: "phone/api/new-person" in r.url):
        phone.dispatch_event("#openid", "change")
    cookies = {c["name"]: c["value"] for c in phone.context.cookies()}
    assert cookies.get("sandbox_openid") == "o_phone_bob"
    # the service's session of the last person is gone: a page that needs a person goes through OAuth again
    response = phone.context.request.get(phone.app.base_url + "/m/me?account=demo", max_redirects=0)
    assert response.status == 302 and "oauth2/authorize" in response.headers["location"]

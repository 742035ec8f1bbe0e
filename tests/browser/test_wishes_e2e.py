"""微心愿 in a real browser: a non-volunteer publishes, an admin approves, a volunteer claims with a plan
and completes with a photo (JS-SDK chooseImage/uploadImage stand-in), the publisher confirms."""

from __future__ import annotations

from contextlib import contextmanager

from tests.browser.conftest import PHONE, WECHAT_UA, screenshot
from tests.support.orgs import build_tree, make_volunteer
from tests.support.people import bind
from tests.support.sandbox_phone import fill_in


def person(browser, app, openid: str, auto_image: bool = False):
    """A phone of its own for ``openid``: the sandbox's OAuth page answers at once for it."""
    context = browser.new_context(user_agent=WECHAT_UA, viewport=PHONE, is_mobile=True, has_touch=True,
                                  locale="zh-CN")
    context.set_default_timeout(15000)
    context.add_cookies([{"name": "sandbox_openid", "value": openid, "url": app.base_url}])
    if auto_image:
        context.add_init_script("window.__wxStandin = {autoImage: true};")
    return context, context.new_page()


@contextmanager
def phone_of(browser, app, openid: str, auto_image: bool = False):
    """``person``'s page for ``openid``; its phone is closed after the block, whatever happened in it."""
    context, page = person(browser, app, openid, auto_image)
    try:
        yield page
    finally:
        context.close()


@contextmanager
def phones(browser, app):
    """Hands out a phone per person, ``open_phone(openid, auto_image=False)`` → its page (see ``person``);
    every phone is closed after the block, whatever happened in it."""
    contexts = []

    def open_phone(openid: str, auto_image: bool = False):
        context, page = person(browser, app, openid, auto_image)
        contexts.append(context)
        return page

    try:
        yield open_phone
    finally:
        for context in contexts:
            context.close()


def test_publish_approve_claim_complete_confirm(phone, browser):
    app = phone.app
    with app.app.app_context():
        from models import db

        _orgs, admins = build_tree()
        bind(admins["district"], "o_e2e_admin")
        make_volunteer("李助人", account="demo", openid="o_e2e_helper")
        db.session.commit()
    base = app.base_url
    with phones(browser, app) as open_phone:
        # 1. someone who is no volunteer publishes a wish (图3-15), choosing district then street
        elder = open_phone("o_e2e_elder")
        elder.goto(base + "/m/wishes?account=demo")
        elder.click("a.wish-new")
        form = elder.locator("form.wish-form")
        fill_in(form, name="张亚林")
        form.locator("select[name=district]").select_option("崇川区")
        form.locator("select[name=street]").select_option("和平桥街道")
        fill_in(form, age="76")
        form.locator("input[name=gender][value=M]").check()
        fill_in(form, phone="0513-85123456", address="和平桥新村12幢301室", situation="独居老人，腿脚不便",
                content="希望有人帮忙修一修家里的收音机")
        screenshot(elder, "wishes-publish")
        form.locator("button[type=submit]").click()
        elder.locator(".wish-status-note", has_text="等待审核").wait_for()
        wish_url = elder.url.split("?")[0]

        # 2. the district admin approves it on the review page
        admin = open_phone("o_e2e_admin")
        admin.goto(base + "/m/admin/wishes?account=demo")
        admin.locator("a.admin-wish", has_text="收音机").click()
        admin.locator("form.wish-approve-form button").click()
        admin.locator(".flash", has_text="审核通过").wait_for()

        # 3. a volunteer finds it in the list and claims it with a plan
        helper = open_phone("o_e2e_helper", auto_image=True)
        helper.goto(base + "/m/wishes?account=demo")
        item = helper.locator("a.wish-item", has_text="收音机")
        assert "张*林" in item.inner_text() and "0513-85123456" not in helper.content()
        item.click()
        helper.locator("form.wish-claim-form textarea[name=plan]").fill("周六上午带工具上门维修")
        helper.locator("form.wish-claim-form button").click()
        helper.locator(".flash", has_text="认领成功").wait_for()
        assert "0513-85123456" in helper.content() and "和平桥新村12幢301室" in helper.content()

        # 4. 个人中心 → 已认领的心愿 → 去完成, with a photo through chooseImage/uploadImage
        helper.goto(base + "/m/me?account=demo")
        helper.click("text=已认领的心愿")
        helper.locator("a.wish-complete-link").click()
        helper.locator("textarea[name=note]").fill("收音机已修好，老人很满意")
        helper.click("#choose-photo")
        helper.locator("#photo-count b", has_text="1").wait_for()
        screenshot(helper, "wishes-complete")
        calls = [c["name"] for c in helper.evaluate("window.__wxStandin.calls")]
        assert "chooseImage" in calls and "uploadImage" in calls
        server_id = helper.locator("#photo-ids input[name=server_ids]").get_attribute("value")
        helper.locator("#complete-submit").click()
        helper.locator(".flash", has_text="等待心愿发布人确认").wait_for()
        assert app.drain_jobs()
        with app.app.app_context():
            from models import WishPhoto

            stored = WishPhoto.query.one()
            assert (stored.media_id, stored.state) == (server_id, "stored")

        # 5. the publisher sees the photo and confirms
        elder.goto(wish_url + "?account=demo")
        photo = elder.locator("img.wish-photo")
        photo.wait_for()
        assert photo.evaluate("img => img.complete && img.naturalWidth > 0")
        elder.locator("form.wish-confirm-form button").click()
        elder.locator(".flash", has_text="已确认心愿完成").wait_for()
        elder.goto(base + "/m/wishes/mine?account=demo")
        assert "已完成" in elder.locator("a.wish-item").inner_text()
        screenshot(elder, "wishes-mine")

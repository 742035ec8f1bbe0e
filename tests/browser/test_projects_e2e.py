"""An admin publishes a 双签 project on the phone, a volunteer finds it by keyword and signs up, the
admin approves the signup.  Both reach the pages through the sandbox's WeChat OAuth."""

from __future__ import annotations

from datetime import timedelta

from tests.browser.conftest import PHONE, WECHAT_UA, screenshot


def _as(context, base_url: str, openid: str):
    context.add_cookies([{"name": "sandbox_openid", "value": openid, "url": base_url}])
    page = context.new_page()
    return page


def test_publish_find_sign_up_approve(phone, browser):
    app = phone.app
    with app.app.app_context():
        from models import Binding, db, utcnow
        from tests.support.orgs import build_tree, make_volunteer

        orgs, admins = build_tree(now=utcnow())
        db.session.add(Binding(account="demo", openid="o_e2e_admin", volunteer_id=admins["district"].id))
        make_volunteer("陈志愿", account="demo", openid="o_e2e_volunteer")
        db.session.commit()
        today = (utcnow() + timedelta(hours=8)).date()

    admin = _as(phone.context, app.base_url, "o_e2e_admin")
    admin.goto(app.base_url + "/m/admin/publish?account=demo")
    form = admin.locator("form.publish-form")
    form.wait_for()
    form.locator("input[name=name]").fill("濠河沿岸文明劝导双签活动")
    form.locator("input[name=short_name]").fill("濠河劝导")
    form.locator("input[name=recruit_count]").fill("5")
    form.locator("select[name=category]").select_option("治安巡逻")
    form.locator("select[name=region]").select_option("崇川区")
    offered = form.locator("#region-streets option").evaluate_all("options => options.map(o => o.value)")
    assert "和平桥街道" in offered, "the district's streets are offered for 所在镇街"
    form.locator("input[name=place]").fill("濠河风景区南大门")
    form.locator("input[name=latitude]").fill("32.0045")
    form.locator("input[name=longitude]").fill("120.8590")
    form.locator("input[name=signup_start]").fill(today.isoformat())
    form.locator("input[name=signup_end]").fill((today + timedelta(days=3)).isoformat())
    form.locator("input[name=start_date]").fill((today + timedelta(days=4)).isoformat())
    form.locator("input[name=end_date]").fill((today + timedelta(days=4)).isoformat())
    form.locator("input[name=daily_start]").fill("08:30")
    form.locator("input[name=daily_end]").fill("11:30")
    form.locator("input[name=checkin_mode][value=double]").check(force=True)
    form.locator("select[name=punch_radius]").select_option("200")
    form.locator("select[name=checkout_mode]").select_option("central")
    screenshot(admin, "projects-publish-form")
    form.locator("#publish").click()
    admin.locator("h1.project-name", has_text="濠河沿岸文明劝导双签活动").wait_for()
    assert "项目已发布" in admin.locator("body").inner_text()
    assert "双签（打卡范围200米，集中签出）" in admin.locator(".project-fields").inner_text()

    volunteer_context = browser.new_context(user_agent=WECHAT_UA, viewport=PHONE, device_scale_factor=2,
                                            is_mobile=True, has_touch=True, locale="zh-CN")
    try:
        volunteer = _as(volunteer_context, app.base_url, "o_e2e_volunteer")
        volunteer.goto(app.base_url + "/m/projects?account=demo")
        volunteer.locator("input[name=keyword]").fill("濠河")
        volunteer.locator("#search").click()
        volunteer.locator(".project-item", has_text="濠河沿岸文明劝导双签活动").click()
        volunteer.locator("#signup").click()
        volunteer.locator(".signup-state", has_text="待录取").wait_for()
        screenshot(volunteer, "projects-signed-up")

        admin.goto(app.base_url + "/m/admin/signups?account=demo")
        admin.locator(".signup-projects a", has_text="濠河沿岸文明劝导双签活动").click()
        row = admin.locator(".signup-row", has_text="陈*愿")
        row.locator("label.weui-check__label").click()
        assert row.locator("input[name=sid]").is_checked()
        admin.locator("#approve").click()
        admin.locator(".flash", has_text="已录用 1 人").wait_for()

        volunteer.reload()
        volunteer.locator(".signup-state", has_text="已录取").wait_for()
        assert "陈*愿" in volunteer.locator(".accepted-list").inner_text()
        screenshot(volunteer, "projects-accepted")
    finally:
        volunteer_context.close()
    oauth = app.sandbox.calls_to("sns/oauth2/access_token")
    assert len(oauth) >= 2, "both people came through WeChat OAuth"

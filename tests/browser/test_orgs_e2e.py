"""A volunteer applies to join an org, its admin approves, and the volunteer sees it in 我的组织."""

from models import Binding, db, utcnow
from models.org_rules import create_root, found_suborg
from tests.browser.conftest import PHONE, WECHAT_UA, screenshot
from tests.support.people import make_volunteer


def as_person(browser, handle, openid):
    context = browser.new_context(user_agent=WECHAT_UA, viewport=PHONE, is_mobile=True, has_touch=True,
                                  locale="zh-CN")
    context.add_cookies([{"name": "sandbox_openid", "value": openid, "url": handle.base_url}])
    context.set_default_timeout(15000)
    return context, context.new_page()


def test_admin_approves_a_join_request_and_the_volunteer_sees_the_org(browser, app_lite):
    with app_lite.app.app_context():
        root_admin, station_admin, volunteer = make_volunteer("总站"), make_volunteer("站长"), make_volunteer("新成员")
        root = create_root("江海志愿者服务总站", root_admin, now=utcnow())
        station = found_suborg(root_admin, root.id, {"name": "崇川区志愿者协会", "org_type": "民间公益",
                                                     "region": "崇川区", "service_domains": ["社区服务"]}, now=utcnow())
        from models.org_rules import add_admin

        add_admin(root_admin, station.id, station_admin.number, now=utcnow())
        for person, openid in ((station_admin, "o_e2e_station"), (volunteer, "o_e2e_joiner")):
            db.session.add(Binding(account="demo", openid=openid, volunteer_id=person.id, bound_at=utcnow()))
        db.session.commit()
        station_id = station.id
    joiner_context, joiner = as_person(browser, app_lite, "o_e2e_joiner")
    admin_context, admin = as_person(browser, app_lite, "o_e2e_station")
    try:
        joiner.goto(f"{app_lite.base_url}/m/orgs/{station_id}?account=demo")
        joiner.click("button:has-text('申请加入')")
        joiner.wait_for_selector("text=撤回申请")

        admin.goto(f"{app_lite.base_url}/m/admin/members?account=demo&tab=pending")
        admin.click("label.weui-check__label >> nth=0")
        assert admin.is_checked("input[name=vid] >> nth=0")
        admin.click("button:has-text('审核通过所选')")
        admin.wait_for_selector(".flash")

        joiner.goto(f"{app_lite.base_url}/m/me/orgs?account=demo")
        assert "崇川区志愿者协会" in joiner.inner_text("body")
        screenshot(joiner, "orgs-my-orgs")
    finally:
        joiner_context.close()
        admin_context.close()

"""The home grid and a 礼遇坊 redemption on a phone: the tiles whose pages exist, drawn as SVG lines;
a volunteer redeems a gift and shows the pickup code; the org admin types it and hands it over."""

from __future__ import annotations

from datetime import timedelta

from tests.browser.conftest import screenshot
from tests.browser.test_wishes_e2e import phones
from tests.support.gifts import gift_values, give_points
from tests.support.orgs import build_tree, make_volunteer

GRID = ["做志愿", "找组织", "微心愿", "个人中心", "礼遇坊", "一喊就来"]


def test_home_grid_then_redeem_and_hand_over(phone, browser):
    app = phone.app
    with app.app.app_context():
        from models import Binding, clock, db
        from models import gifts as gift_rules

        _orgs, admins = build_tree()
        db.session.add(Binding(account="demo", openid="o_e2e_gifts_admin", volunteer_id=admins["district"].id))
        now = clock.now()
        today = now.date()
        gift_rules.offer_gift(admins["district"], gift_values(valid_from=today - timedelta(days=1),
                                                              valid_until=today + timedelta(days=30)), now=now)
        volunteer = make_volunteer("李桂芳", account="demo", openid="o_e2e_gifts")
        give_points(volunteer.id, 30, now=now)
        db.session.commit()
    base = app.base_url
    with phones(browser, app) as open_phone:
        page = open_phone("o_e2e_gifts")
        page.goto(base + "/m/?account=demo")
        labels = page.locator(".grid-menu__item span").all_inner_texts()
        assert [label for label in labels if label in GRID] == GRID
        assert "志愿者注册" not in labels
        for box in page.locator(".grid-menu__item svg").evaluate_all(
                "els => els.map(e => e.getBoundingClientRect()).map(r => [r.width, r.height])"):
            assert box[0] >= 24 and box[1] >= 24
        size = page.locator(".grid-menu__item span").first.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
        assert size >= 17
        screenshot(page, "home-grid")

        page.locator(".grid-menu__item", has_text="礼遇坊").click()
        page.locator("a.gift-item", has_text="爱心保温杯").click()
        page.locator("form.gift-redeem-form button").click()
        page.locator(".flash", has_text="兑换成功").wait_for()
        code = "".join(page.locator(".pickup-code").inner_text().split())
        assert len(code) == 8
        assert page.locator("img.pickup-qrcode").evaluate("img => img.complete && img.naturalWidth > 0")
        screenshot(page, "gift-pickup-code")

        admin = open_phone("o_e2e_gifts_admin")
        admin.goto(base + "/m/?account=demo")
        admin.locator(".admin-tiles .grid-menu__item", has_text="礼品核销").click()
        admin.locator("form.pickup-code-form input[name=pickup]").fill(code)
        admin.locator("form.pickup-code-form button").click()
        assert "李*芳" in admin.locator(".pickup-found").inner_text()
        admin.locator("form.hand-over-form button").click()
        admin.locator(".flash", has_text="已确认领取").wait_for()

        page.goto(base + "/m/me/redemptions?account=demo")
        assert page.locator(".redemption-item .redemption-state").inner_text() == "已领取"

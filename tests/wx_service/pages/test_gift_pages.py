"""礼遇坊 through the pages: an admin offers a gift, a volunteer redeems it, 我的兑换 shows the pickup
code, the admin types it (or scans it in chat) and hands it over once; cancelling gives everything back;
bad input is a Chinese message with a 4xx and stores nothing."""

from __future__ import annotations

import io
import os
import re
from datetime import timedelta

import pytest
from PIL import Image

from models import Binding, db
from models import gifts as gift_rules
from models import points as ledger
from tests.support.gifts import give_points
from tests.support.orgs import NOW, build_tree, make_volunteer
from tests.support.people import csrf_token, sign_in, text
from tests.support.projects import TODAY
from tests.support.wechat import message_xml, post

FORM = {"name": "爱心保温杯", "cost": "10", "stock": "3", "valid_from": TODAY.isoformat(),
        "valid_until": (TODAY + timedelta(days=30)).isoformat(), "place": "协会服务台", "description": "不锈钢"}


def picture() -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new("RGB", (900, 630), (200, 80, 40)).save(buffer, "PNG")
    buffer.seek(0)
    return buffer


@pytest.fixture(params=["postgres", "sqlite"])
def shop(request):
    handle = request.getfixturevalue("app_pg" if request.param == "postgres" else "app_lite")
    handle.app.config["CLOCK_NOW"] = NOW
    with handle.app.app_context():
        _orgs, admins = build_tree()
        for key in ("district", "sibling_district"):
            db.session.add(Binding(account="demo", openid=f"o-{key}", volunteer_id=admins[key].id))
        volunteer = make_volunteer("礼遇人", account="demo", openid="o-gifted")
        give_points(volunteer.id, 25)
        db.session.commit()
        ids = {"volunteer": volunteer.id}
    yield handle, ids
    handle.app.config.pop("CLOCK_NOW", None)


def offer(handle, **changes):
    admin = sign_in(handle.client(), "o-district")
    token = csrf_token(admin, "/m/admin/gifts/new?account=demo")
    response = admin.post("/m/admin/gifts/new?account=demo", content_type="multipart/form-data",
                          data={"csrf_token": token, **FORM, **changes, "picture": (picture(), "cup.png")})
    return admin, response


def scan_xml(openid, payload):
    return message_xml(openid, "event", {"Event": "scancode_waitmsg", "EventKey": "SCAN_CHECKIN"}).replace(
        "</xml>", f"<ScanCodeInfo><ScanType><![CDATA[qrcode]]></ScanType><ScanResult><![CDATA[{payload}]]>"
                  "</ScanResult></ScanCodeInfo></xml>")


def reply_text(response) -> str:
    return re.search(r"<Content><!\[CDATA\[(.*?)\]\]></Content>", text(response), re.S).group(1)


def test_offer_redeem_type_the_code_hand_over_once(shop):
    handle, ids = shop
    admin, response = offer(handle)
    assert response.status_code == 302, text(response)
    gift_id = int(re.search(r"/m/gifts/(\d+)", response.location).group(1))
    volunteer = sign_in(handle.client(), "o-gifted")
    listing = text(volunteer.get("/m/gifts?account=demo"))
    assert "爱心保温杯" in listing and "剩余 3 份" in listing and "26.00" in listing  # 25 + 每天登录积分
    assert volunteer.get(f"/m/gifts/{gift_id}/picture?account=demo").mimetype == "image/jpeg"
    token = csrf_token(volunteer, f"/m/gifts/{gift_id}?account=demo")
    redeemed = volunteer.post(f"/m/gifts/{gift_id}/redeem?account=demo", data={"csrf_token": token})
    assert redeemed.status_code == 302 and "/m/me/redemptions/" in redeemed.location
    page = text(volunteer.get(redeemed.location))
    code = "".join(re.search(r'class="pickup-code"[^>]*>([\d ]+)<', page).group(1).split())
    assert len(code) == 8 and "兑换二维码" in page
    assert volunteer.get(redeemed.location.replace("?", "/qr.png?")).mimetype == "image/png"
    assert "待领取" in text(volunteer.get("/m/me/redemptions?account=demo"))

    found = admin.get(f"/m/admin/pickup?account=demo&pickup={code}")
    assert found.status_code == 200 and "确认领取" in text(found)
    redemption_id = int(re.search(r"/m/admin/pickup/(\d+)", text(found)).group(1))
    bare = admin.post(f"/m/admin/pickup/{redemption_id}?account=demo",  # the row id without the number
                      data={"csrf_token": csrf_token(admin, "/m/admin/gifts/new?account=demo")}, follow_redirects=True)
    assert "请重新输入兑换码" in text(bare)
    hand = admin.post(f"/m/admin/pickup/{redemption_id}?account=demo",
                      data={"csrf_token": csrf_token(admin, "/m/admin/gifts/new?account=demo"), "pickup": code})
    assert hand.status_code == 302
    again = admin.post(f"/m/admin/pickup/{redemption_id}?account=demo",
                       data={"csrf_token": csrf_token(admin, "/m/admin/gifts/new?account=demo"), "pickup": code},
                       follow_redirects=True)
    assert "不能重复领取" in text(again)
    assert "已领取" in text(volunteer.get("/m/me/redemptions?account=demo"))
    with handle.app.app_context():
        assert ledger.balance(ids["volunteer"]) == 16
        assert db.session.get(gift_rules.Gift, gift_id).stock == 2


def test_scanning_a_pickup_code_in_chat_hands_it_over_once(shop):
    handle, ids = shop
    offer(handle)
    with handle.app.app_context():
        gift = gift_rules.Gift.query.one()
        made = gift_rules.redeem(db.session.get(gift_rules.Volunteer, ids["volunteer"]), gift.id, now=NOW)
        db.session.commit()
        payload = made.qr_payload
    client = handle.client()
    assert "只有提供该礼遇的组织" in reply_text(post(client, handle.config, "demo", scan_xml("o-sibling_district", payload)))
    ok = reply_text(post(client, handle.config, "demo", scan_xml("o-district", payload)))
    assert "已确认领取" in ok and "爱心保温杯" in ok
    assert "不能重复领取" in reply_text(post(client, handle.config, "demo", scan_xml("o-district", payload)))
    assert "无法识别" in reply_text(post(client, handle.config, "demo",
                                         scan_xml("o-district", gift_rules.QR_PREFIX + "forged")))


def test_cancelling_gives_points_and_stock_back(shop):
    handle, ids = shop
    _admin, response = offer(handle, stock="1")
    gift_id = int(re.search(r"/m/gifts/(\d+)", response.location).group(1))
    volunteer = sign_in(handle.client(), "o-gifted")
    redeemed = volunteer.post(f"/m/gifts/{gift_id}/redeem?account=demo",
                              data={"csrf_token": csrf_token(volunteer, f"/m/gifts/{gift_id}?account=demo")})
    assert "已兑完" in text(volunteer.get(f"/m/gifts/{gift_id}?account=demo"))
    redemption_id = int(re.search(r"/m/me/redemptions/(\d+)", redeemed.location).group(1))
    cancel = volunteer.post(f"/m/me/redemptions/{redemption_id}/cancel?account=demo",
                            data={"csrf_token": csrf_token(volunteer, redeemed.location)}, follow_redirects=True)
    assert "积分和库存已退回" in text(cancel) and "已取消" in text(cancel)
    with handle.app.app_context():
        assert ledger.balance(ids["volunteer"]) == 26 and db.session.get(gift_rules.Gift, gift_id).stock == 1
    points_page = text(volunteer.get("/m/me/points?account=demo"))
    assert "积分兑换" in points_page and "取消兑换退回" in points_page and "参与活动积分（双签）" in points_page


BAD_FORMS = [
    ({"name": ""}, "请填写礼遇名称"), ({"cost": "abc"}, "所需积分应在1至100000之间"),
    ({"stock": "-1"}, "库存数量应为1至100000的整数"), ({"valid_from": "2026-02-30"}, "有效期开始日期不正确"),
    ({"valid_until": (TODAY - timedelta(days=1)).isoformat()}, "结束日期不能早于开始日期"),
    ({"name": "杯" * 41}, "礼遇名称不能超过40个字"),
]


def test_a_bad_gift_form_is_refused_in_chinese_and_stores_nothing(shop):
    handle, _ids = shop
    folder = os.path.join(handle.config["app"]["media_dir"], "gifts")
    before = set(os.listdir(folder)) if os.path.isdir(folder) else set()
    for changes, message in BAD_FORMS:
        _admin, response = offer(handle, **changes)
        assert 400 <= response.status_code < 500 and message in text(response), changes
    with handle.app.app_context():
        assert gift_rules.Gift.query.count() == 0
    assert (set(os.listdir(folder)) if os.path.isdir(folder) else set()) == before


def test_a_volunteer_cannot_offer_gifts_or_open_the_pickup_page(shop):
    handle, _ids = shop
    volunteer = sign_in(handle.client(), "o-gifted")
    assert volunteer.get("/m/admin/gifts/new?account=demo").status_code == 403
    assert volunteer.get("/m/admin/pickup?account=demo&pickup=12345678").status_code == 403
    admin = sign_in(handle.client(), "o-district")
    bad = admin.get("/m/admin/pickup?account=demo&pickup=12ab")
    assert bad.status_code == 400 and "8位数字" in text(bad)
    unknown = admin.get("/m/admin/pickup?account=demo&pickup=00000000")
    assert unknown.status_code == 404 and "没有这个兑换码" in text(unknown)

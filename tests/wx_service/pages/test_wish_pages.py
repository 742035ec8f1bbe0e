"""微心愿 pages through the Flask test client: publish, review, list, claim, complete with photos,
confirm, give up, 我的心愿 and 已认领的心愿, with real forms and CSRF."""

from __future__ import annotations

import base64
import re

import pytest

from models import Notification, Wish, WishPhoto, db
from tests.support.orgs import bind_admins, build_tree, make_volunteer
from tests.support.people import sign_in, text

DEMO = "wxdemo0000000001"
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
FORM = {"name": "张亚林", "district": "崇川区", "street": "和平桥街道", "age": "76", "gender": "M",
        "phone": "13912345678", "address": "和平桥新村12幢301室", "situation": "独居老人，腿脚不便",
        "content": "希望有人帮忙修一修家里的收音机"}


def client_for(handle, openid: str):
    return sign_in(handle.client(), openid)


def csrf(client, path: str) -> str:
    """The session's CSRF token, read from ``path`` (or the publish form, which every person may open)."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True))
    if found is None:
        found = re.search(r'name="csrf_token" value="([^"]+)"',
                          client.get("/m/wishes/new?account=demo").get_data(as_text=True))
    return found.group(1)


def post(client, path: str, data: dict, page: str):
    return client.post(path, data={"csrf_token": csrf(client, page), **data})


@pytest.fixture
def city(app_lite):
    """The org tree with bound admins (``o-district`` …), two bound helpers, nothing else."""
    with app_lite.app.app_context():
        _orgs, admins = build_tree()
        bind_admins(admins)
        helpers = [make_volunteer("李助人", account="demo", openid="o-helper").id,
                   make_volunteer("王热心", account="demo", openid="o-helper2").id]
        db.session.commit()
        ids = {"district_admin": admins["district"].id, "helpers": helpers}
    return app_lite, ids


def publish(handle, openid="o-elder", **changes):
    client = client_for(handle, openid)
    response = post(client, "/m/wishes/new?account=demo", {**FORM, **changes}, "/m/wishes/new?account=demo")
    assert response.status_code == 302, text(response)
    return client, int(re.search(r"/m/wishes/(\d+)", response.location).group(1))


def approve(handle, wish_id):
    admin = client_for(handle, "o-district")
    response = post(admin, f"/m/admin/wishes/{wish_id}/review?account=demo", {"decision": "approve"},
                    f"/m/admin/wishes/{wish_id}?account=demo")
    assert response.status_code == 302
    return admin


def claim(handle, wish_id, openid="o-helper", plan="周六上午上门维修"):
    helper = client_for(handle, openid)
    return helper, post(helper, f"/m/wishes/{wish_id}/claim?account=demo", {"plan": plan},
                        f"/m/wishes/{wish_id}?account=demo")


def test_signed_out_browser_goes_through_oauth(city):
    handle, _ = city
    for path in ("/m/wishes", "/m/wishes/new", "/m/wishes/mine", "/m/me/wishes"):
        response = handle.client().get(path + "?account=demo")
        assert response.status_code == 302 and "connect/oauth2/authorize" in response.location, path


def test_anyone_publishes_and_sees_it_in_my_wishes(city):
    handle, _ = city
    elder = client_for(handle, "o-elder")  # not a volunteer
    form = text(elder.get("/m/wishes/new?account=demo"))
    assert "发布心愿" in form and ">通州湾示范区<" in form and "亲！您有什么心愿？请来说说吧！" in form
    bad = post(elder, "/m/wishes/new?account=demo", {**FORM, "phone": "12345", "age": "150"},
               "/m/wishes/new?account=demo")
    assert bad.status_code == 400 and "年龄应在0至120岁之间" in text(bad)
    assert 'value="和平桥新村12幢301室"' in text(bad), "what was typed is kept"
    bad = post(elder, "/m/wishes/new?account=demo", {**FORM, "phone": "12345"}, "/m/wishes/new?account=demo")
    assert bad.status_code == 400 and "电话格式不正确" in text(bad)
    _, wish_id = publish(handle)
    detail = text(elder.get(f"/m/wishes/{wish_id}?account=demo"))
    assert "等待审核" in detail and "13912345678" in detail and "和平桥新村12幢301室" in detail
    mine = text(elder.get("/m/wishes/mine?account=demo"))
    assert "待审核" in mine and FORM["content"] in mine
    # not published yet: the list does not show it, a stranger cannot open it
    assert FORM["content"] not in text(elder.get("/m/wishes?account=demo"))
    assert client_for(handle, "o-helper").get(f"/m/wishes/{wish_id}?account=demo").status_code == 404


def test_admin_review_page_reject_with_reason(city):
    handle, _ = city
    elder, wish_id = publish(handle)
    admin = client_for(handle, "o-district")
    listing = text(admin.get("/m/admin/wishes?account=demo"))
    assert FORM["content"] in listing and "张*林" in listing and "13912345678" not in listing
    assert FORM["content"] not in text(client_for(handle, "o-sibling_district").get("/m/admin/wishes?account=demo"))
    assert client_for(handle, "o-sibling_district").get(f"/m/admin/wishes/{wish_id}?account=demo").status_code == 403
    assert client_for(handle, "o-helper").get("/m/admin/wishes?account=demo").status_code == 403
    page = f"/m/admin/wishes/{wish_id}?account=demo"
    refused = post(admin, f"/m/admin/wishes/{wish_id}/review?account=demo", {"decision": "reject", "reason": ""},
                   page)
    assert refused.status_code == 400 and "请填写原因" in text(refused)
    done = post(admin, f"/m/admin/wishes/{wish_id}/review?account=demo",
                {"decision": "reject", "reason": "请补充详细地址"}, page)
    assert done.status_code == 302
    mine = text(elder.get("/m/wishes/mine?account=demo"))
    assert "未通过" in mine and "请补充详细地址" in mine
    again = post(admin, f"/m/admin/wishes/{wish_id}/review?account=demo", {"decision": "approve"},
                 "/m/wishes/new?account=demo")
    assert again.status_code == 409 and "不在待审核状态" in text(again)


def test_list_masks_filters_and_orders(city):
    handle, _ = city
    _, first = publish(handle, openid="o-a")
    _, second = publish(handle, openid="o-b", district="海门区", street="", name="陈大海", content="想学用智能手机")
    _, third = publish(handle, openid="o-c", name="周到", content="希望有人陪我下象棋")
    for wish_id in (first, third):
        approve(handle, wish_id)
    root = client_for(handle, "o-root")
    post(root, f"/m/admin/wishes/{second}/review?account=demo", {"decision": "approve"},
         f"/m/admin/wishes/{second}?account=demo")
    viewer = client_for(handle, "o-anyone")
    page = text(viewer.get("/m/wishes?account=demo"))
    order = [int(i) for i in re.findall(r'data-wish="(\d+)"', page)]
    assert order == [third, second, first], "newest first"
    assert "张*林" in page and "周*" in page and "13912345678" not in page and "和平桥新村" not in page
    page = text(viewer.get("/m/wishes?account=demo&district=海门区"))
    assert re.findall(r'data-wish="(\d+)"', page) == [str(second)]
    claim(handle, first)
    open_ids = re.findall(r'data-wish="(\d+)"', text(viewer.get("/m/wishes?account=demo")))
    assert str(first) not in open_ids, "a claimed wish leaves the open list"
    claimed = re.findall(r'data-wish="(\d+)"', text(viewer.get("/m/wishes?account=demo&status=claimed")))
    assert claimed == [str(first)]
    detail = text(viewer.get(f"/m/wishes/{first}?account=demo"))
    assert "139****5678" in detail and "13912345678" not in detail and "认领</button>" not in detail


def test_claim_complete_confirm(city):
    handle, ids = city
    elder, wish_id = publish(handle)
    approve(handle, wish_id)
    stranger = client_for(handle, "o-unbound")
    detail = text(stranger.get(f"/m/wishes/{wish_id}?account=demo"))
    assert "绑定志愿者账号后认领" in detail
    refused = post(stranger, f"/m/wishes/{wish_id}/claim?account=demo", {"plan": "我来"},
                   f"/m/wishes/{wish_id}?account=demo")
    assert refused.status_code == 403 and "请先绑定志愿者账号" in text(refused)
    _, no_plan = claim(handle, wish_id, plan="")
    assert no_plan.status_code == 400 and "请填写认领方案" in text(no_plan)
    helper, won = claim(handle, wish_id)
    assert won.status_code == 302
    _, lost = claim(handle, wish_id, openid="o-helper2")
    assert lost.status_code == 409 and "已被" in text(lost)

    # the claimer sees the whole contact; 已认领的心愿 lists it with 去完成
    detail = text(helper.get(f"/m/wishes/{wish_id}?account=demo"))
    assert "13912345678" in detail and "和平桥新村12幢301室" in detail and "周六上午上门维修" in detail
    claimed = text(helper.get("/m/me/wishes?account=demo"))
    assert "13912345678" in claimed and "去完成" in claimed and "张亚林" in claimed
    assert "已认领的心愿" in text(helper.get("/m/me?account=demo"))
    assert "暂未开放" not in claimed
    with handle.app.app_context():
        told = sorted((n.volunteer_id, n.kind) for n in Notification.query.filter_by(kind="wish_claimed"))
        assert told == [(ids["district_admin"], "wish_claimed")], "the publisher is not a volunteer: not sent"

    complete_page = f"/m/me/wishes/{wish_id}/complete?account=demo"
    page = text(helper.get(complete_page))
    assert "chooseImage" in page and "uploadImage" in page and "jweixin.js" in page
    assert client_for(handle, "o-helper2").get(complete_page).status_code == 403
    no_photo = post(helper, complete_page, {"note": "收音机修好了"}, complete_page)
    assert no_photo.status_code == 400 and "请至少上传一张照片" in text(no_photo)
    media_id = handle.sandbox.add_media(PNG, "image/png", jssdk=True, appid=DEMO)
    done = post(helper, complete_page, {"note": "收音机修好了", "server_ids": [media_id]}, complete_page)
    assert done.status_code == 302
    assert handle.drain_jobs()
    with handle.app.app_context():
        photo = WishPhoto.query.one()
        assert (photo.state, photo.media_id) == ("stored", media_id)
        photo_id = photo.id
    assert handle.sandbox.calls_to("cgi-bin/media/get") and not handle.sandbox.calls_to("cgi-bin/media/get/jssdk")
    photo_url = f"/m/wishes/photos/{photo_id}?account=demo"
    for client in (helper, elder, client_for(handle, "o-district")):
        response = client.get(photo_url)
        assert response.status_code == 200 and response.data.startswith(b"\x89PNG")  # re-encoded
    assert client_for(handle, "o-helper2").get(photo_url).status_code == 403
    assert "去完成" not in text(helper.get("/m/me/wishes?account=demo"))

    # the publisher confirms; nobody else may
    assert post(client_for(handle, "o-helper2"), f"/m/wishes/{wish_id}/confirm?account=demo", {},
                f"/m/wishes/{wish_id}?account=demo").status_code == 403
    detail = text(elder.get(f"/m/wishes/{wish_id}?account=demo"))
    assert "确认心愿已完成" in detail and "收音机修好了" in detail
    assert post(elder, f"/m/wishes/{wish_id}/confirm?account=demo", {},
                f"/m/wishes/{wish_id}?account=demo").status_code == 302
    assert "已完成" in text(elder.get("/m/wishes/mine?account=demo"))
    with handle.app.app_context():
        assert db.session.get(Wish, wish_id).state == "confirmed"


def test_give_up_returns_the_wish(city):
    handle, ids = city
    _, wish_id = publish(handle)
    approve(handle, wish_id)
    helper, _ = claim(handle, wish_id)
    page = f"/m/me/wishes/{wish_id}/complete?account=demo"
    refused = post(helper, f"/m/me/wishes/{wish_id}/release?account=demo", {"reason": ""}, page)
    assert refused.status_code == 400 and "请填写原因" in text(refused)
    done = post(helper, f"/m/me/wishes/{wish_id}/release?account=demo", {"reason": "临时出差"}, page)
    assert done.status_code == 302
    assert str(wish_id) in re.findall(r'data-wish="(\d+)"', text(helper.get("/m/wishes?account=demo")))
    assert "13912345678" not in text(helper.get(f"/m/wishes/{wish_id}?account=demo"))
    with handle.app.app_context():
        [note] = Notification.query.filter_by(kind="wish_released").all()
        assert note.volunteer_id == ids["district_admin"] and "临时出差" in note.data["reason"]
    _, won = claim(handle, wish_id, openid="o-helper2", plan="我来接手")
    assert won.status_code == 302


def test_a_bound_publisher_is_notified(city):
    handle, _ = city
    with handle.app.app_context():
        publisher_id = make_volunteer("赵发布", account="demo", openid="o-volunteer-elder").id
        db.session.commit()
    _, wish_id = publish(handle, openid="o-volunteer-elder")
    approve(handle, wish_id)
    claim(handle, wish_id)
    with handle.app.app_context():
        kinds = [n.kind for n in Notification.query.filter_by(volunteer_id=publisher_id).order_by(Notification.id)]
        assert kinds == ["wish_review_result", "wish_claimed"]
    # nor may they claim their own wish (a second one)
    _, own = publish(handle, openid="o-volunteer-elder", content="再许一个愿望")
    approve(handle, own)
    _, refused = claim(handle, own, openid="o-volunteer-elder")
    assert refused.status_code == 403 and "不能认领自己发布的心愿" in text(refused)

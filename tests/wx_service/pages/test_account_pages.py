"""Accounts through the pages: register, bind, unbind, rebind, QR code, personal center."""

import io
import re

import pytest
import zxingcpp
from PIL import Image

from models import Binding, PhoneView, Volunteer, accounts, clock, db, utcnow, volunteer_qr
from models.audit import reveal_phone
from models.integrity import codes
from tests.support.people import bind, csrf_token, id_number, make_volunteer, phone, sign_in


def register_through_pages(handle, client, openid, **over):
    sign_in(client, openid)
    token = csrf_token(client, "/m/register?account=demo")
    number, mobile = over.pop("id_number", id_number()), over.pop("phone", phone())
    res = client.post("/m/api/sms-code?account=demo", json={"phone": mobile}, headers={"X-CSRFToken": token})
    assert res.status_code == 200, res.get_json()
    code = re.search(r"验证码是(\d{6})", handle.app.extensions["wx_sms"].last_to(mobile)).group(1)
    data = dict(csrf_token=token, id_type="mainland_id", id_number=number, name="陈志愿", gender="M",
                password="goodpass1", password_repeat="goodpass1", phone=mobile, sms_code=code)
    data.update(over)
    return client.post("/m/register?account=demo", data=data), number, mobile


def test_register_binds_at_once_and_shows_a_qr_code_that_decodes(any_app):
    client = any_app.client()
    res, number, mobile = register_through_pages(any_app, client, "o_reg_1")
    assert res.status_code == 302 and "/m/me/qrcode" in res.location
    page = client.get(res.location)
    assert "注册成功" in page.get_data(as_text=True)
    png = client.get("/m/me/qrcode.png?account=demo")
    assert png.mimetype == "image/png"
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.data)))
    with any_app.app.app_context():
        volunteer = Volunteer.by_id_number(number)
        assert Binding.volunteer_for("demo", "o_reg_1").id == volunteer.id
        # the personal centre shows the dynamic code; the printed card the static one
        assert decoded and volunteer_qr.scanned_volunteer(
            decoded[0].text, codes.derive_key(any_app.app.secret_key, codes.PERSONAL_PURPOSE), clock.now())[0].id == volunteer.id
        card = zxingcpp.read_barcodes(Image.open(io.BytesIO(client.get("/m/me/qrcode/card.png?account=demo").data)))
        assert volunteer_qr.volunteer_for(card[0].text).id == volunteer.id


def test_register_refuses_a_taken_phone_with_a_message(any_app):
    client = any_app.client()
    register_through_pages(any_app, client, "o_reg_2")
    with any_app.app.app_context():
        taken = Volunteer.query.first().phone
    sign_in(client, "o_reg_3")
    token = csrf_token(client, "/m/register?account=demo")
    res = client.post("/m/api/sms-code?account=demo", json={"phone": taken}, headers={"X-CSRFToken": token})
    assert res.status_code == 409 and "已被注册" in res.get_json()["message"]


def test_register_form_errors_are_shown_not_500(any_app):
    client = any_app.client()
    sign_in(client, "o_reg_4")
    token = csrf_token(client, "/m/register?account=demo")
    res = client.post("/m/register?account=demo", data=dict(
        csrf_token=token, id_type="mainland_id", id_number="320602199001011233", name="陈", gender="M",
        password="goodpass1", password_repeat="goodpass1", phone="13900000000", sms_code="1"))
    assert res.status_code == 400 and "校验位" in res.get_data(as_text=True)


def test_sms_code_endpoint_wants_json(any_app):
    client = any_app.client()
    sign_in(client, "o_reg_5")
    token = csrf_token(client, "/m/register?account=demo")
    res = client.post("/m/api/sms-code?account=demo", data={"phone": "13900000000"}, headers={"X-CSRFToken": token})
    assert res.status_code == 415 and res.get_json()["code"] == "content_type"


def test_bind_unbind_rebind_from_a_second_openid(any_app):
    with any_app.app.app_context():
        v = make_volunteer(password="bindpass1")
        number = v.id_number
    first, second = any_app.client(), any_app.client()
    sign_in(first, "o_wx_a")
    res = first.post("/m/bind?account=demo", data={"csrf_token": csrf_token(first, "/m/bind?account=demo"),
                                                   "id_number": number, "password": "bindpass1"})
    assert res.status_code == 302
    page = first.get("/m/bind?account=demo").get_data(as_text=True)
    assert "解除绑定" in page and "unbind-form" in page
    first.post("/m/unbind?account=demo", data={"csrf_token": csrf_token(first, "/m/bind?account=demo")})
    assert "bind-form" in first.get("/m/bind?account=demo").get_data(as_text=True)
    first.post("/m/bind?account=demo", data={"csrf_token": csrf_token(first, "/m/bind?account=demo"),
                                             "id_number": number, "password": "bindpass1"})
    sign_in(second, "o_wx_b")
    second.post("/m/bind?account=demo", data={"csrf_token": csrf_token(second, "/m/bind?account=demo"),
                                              "id_number": number, "password": "bindpass1"})
    with any_app.app.app_context():
        assert Binding.volunteer_for("demo", "o_wx_a") is None
        assert Binding.volunteer_for("demo", "o_wx_b") is not None
    assert "bind-form" in first.get("/m/bind?account=demo").get_data(as_text=True)


def test_bind_lockout_message_says_how_long(any_app):
    with any_app.app.app_context():
        number = make_volunteer(password="bindpass1").id_number
    client = any_app.client()
    sign_in(client, "o_wx_lock")
    for _ in range(5):
        res = client.post("/m/bind?account=demo", data={"csrf_token": csrf_token(client, "/m/bind?account=demo"),
                                                        "id_number": number, "password": "wrongpass1"})
    assert res.status_code == 429 and "15分钟" in res.get_data(as_text=True)


def test_form_without_csrf_is_refused(any_app):
    client = any_app.client()
    sign_in(client, "o_wx_csrf")
    res = client.post("/m/bind?account=demo", data={"id_number": "x", "password": "y"})
    assert res.status_code == 400 and "页面已过期" in res.get_data(as_text=True)


def test_personal_center_shows_whole_data_only_to_the_owner(any_app):
    with any_app.app.app_context():
        v = make_volunteer(name="周到")
        Binding.query.delete()
        db.session.add(Binding(account="demo", openid="o_me", volunteer_id=v.id, bound_at=utcnow()))
        db.session.commit()
        whole_id, whole_phone = v.id_number, v.phone
    client = sign_in(any_app.client(), "o_me")
    page = client.get("/m/me?account=demo").get_data(as_text=True)
    assert whole_id in page and whole_phone in page
    for section, title in (("hours", "我的服务记录"), ("points", "我的积分"), ("makeups", "我的补签申请"),
                           ("objections", "我的异议")):
        assert title in client.get(f"/m/me/{section}?account=demo").get_data(as_text=True)
    assert "我的活动" in client.get("/m/me/activities?account=demo").get_data(as_text=True)
    stranger = sign_in(any_app.client(), "o_nobody")
    res = stranger.get("/m/me?account=demo")
    assert res.status_code == 403 and whole_id not in res.get_data(as_text=True)


def test_profile_edit_and_password_change(any_app):
    with any_app.app.app_context():
        v = make_volunteer(password="oldpass12")
        db.session.add(Binding(account="demo", openid="o_prof", volunteer_id=v.id, bound_at=utcnow()))
        db.session.commit()
        vid = v.id
    client = sign_in(any_app.client(), "o_prof")
    client.post("/m/me/profile?account=demo", data={"csrf_token": csrf_token(client, "/m/me/profile?account=demo"),
                                                   "education": "本科", "ethnicity": "汉族"})
    res = client.post("/m/me/password?account=demo", data={
        "csrf_token": csrf_token(client, "/m/me/password?account=demo"), "old_password": "oldpass12",
        "password": "newpass34", "password_repeat": "newpass34"})
    assert res.status_code == 302
    with any_app.app.app_context():
        v = db.session.get(Volunteer, vid)
        assert v.education == "本科" and v.ethnicity == "汉族" and v.check_password("newpass34")


def test_one_time_password_forces_a_change_after_binding(any_app):
    with any_app.app.app_context():
        v = make_volunteer()
        otp = accounts.one_time_password(v)
        db.session.commit()
        number = v.id_number
    client = sign_in(any_app.client(), "o_otp")
    res = client.post("/m/bind?account=demo", data={"csrf_token": csrf_token(client, "/m/bind?account=demo"),
                                                    "id_number": number, "password": otp})
    assert "/m/me/password" in res.location
    assert "/m/me/password" in client.get("/m/me?account=demo").location


def _image(fmt, size=(600, 400)):
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, fmt)
    buffer.seek(0)
    return buffer


def _on_the_avatar_page(handle, openid):
    """A bound volunteer's client on 我的头像, and the form's CSRF token."""
    with handle.app.app_context():
        bind(make_volunteer(), openid)
    client = sign_in(handle.client(), openid)
    return client, csrf_token(client, "/m/me/avatar?account=demo")


@pytest.mark.parametrize("fmt, status", [("JPEG", 302), ("PNG", 302), ("GIF", 415)])
def test_avatar_upload(any_app, fmt, status):
    client, token = _on_the_avatar_page(any_app, "o_av")
    res = client.post("/m/me/avatar?account=demo", data={"csrf_token": token, "avatar": (_image(fmt), "a.img")},
                      content_type="multipart/form-data")
    assert res.status_code == status
    if status == 302:
        img = Image.open(io.BytesIO(client.get("/m/me/avatar.jpg?account=demo").data))
        assert img.size == (256, 256) and img.format == "JPEG"


def test_avatar_over_two_megabytes_is_refused(any_app):
    client, token = _on_the_avatar_page(any_app, "o_av2")
    big = io.BytesIO(b"\xff\xd8" + b"0" * (2 * 1024 * 1024 + 10))
    res = client.post("/m/me/avatar?account=demo", data={"csrf_token": token, "avatar": (big, "a.jpg")},
                      content_type="multipart/form-data")
    assert res.status_code == 413 and "2MB" in res.get_data(as_text=True)


def test_forgot_password_flow(any_app):
    with any_app.app.app_context():
        v = make_volunteer(name="孙悟空", password="oldpass12")
        number, mobile = v.id_number, v.phone
    client = sign_in(any_app.client(), "o_forgot")
    token = csrf_token(client, "/m/password/forgot?account=demo")
    res = client.post("/m/password/forgot?account=demo", data={"csrf_token": token, "step": "identify",
                                                               "id_number": number, "name": "孙悟空"})
    assert res.status_code == 200 and "如证件号码与姓名相符" in res.get_data(as_text=True)
    code = re.search(r"验证码是(\d{6})", any_app.app.extensions["wx_sms"].last_to(mobile)).group(1)
    res = client.post("/m/password/forgot?account=demo", data={
        "csrf_token": token, "step": "reset", "id_number": number, "name": "孙悟空", "sms_code": code,
        "password": "fresh1234", "password_repeat": "fresh1234"})
    assert res.status_code == 302
    with any_app.app.app_context():
        assert Volunteer.by_id_number(number).check_password("fresh1234")


def test_admin_seeing_a_full_phone_is_audited(any_app):
    with any_app.app.app_context():
        admin, member = make_volunteer(name="管理员"), make_volunteer(name="成员")
        assert reveal_phone(admin, member, utcnow(), "成员管理") == member.phone
        db.session.commit()
        row = PhoneView.query.one()
        assert (row.viewer_id, row.volunteer_id, row.reason) == (admin.id, member.id, "成员管理")


def test_after_a_rebind_the_first_openid_receives_nothing(app_lite):
    """register → bind → unbind → rebind from a second openid → only the second gets messages."""
    from models import notify

    with app_lite.app.app_context():
        v = make_volunteer(password="bindpass1")
        number, vid = v.id_number, v.id
    first, second = app_lite.client(), app_lite.client()
    for client, openid in ((first, "o_msg_a"), (second, "o_msg_b")):
        sign_in(client, openid)
        app_lite.sandbox.follow("wxdemo0000000001", openid)
        client.post("/m/bind?account=demo", data={"csrf_token": csrf_token(client, "/m/bind?account=demo"),
                                                  "id_number": number, "password": "bindpass1"})
    from tests.support import wechat

    wechat.post(app_lite.client(), app_lite.config, "demo", wechat.event_xml("o_msg_b", "subscribe"))
    with app_lite.app.app_context():
        notify(vid, "signup_accepted", {"project": "敬老院探访", "time": "2026-12-01 09:00", "place": "崇川区"},
               link="/m/", cause="test:rebind", key="test:rebind")
        db.session.commit()
    assert app_lite.drain_jobs()
    receivers = {d["touser"] for d in app_lite.sandbox.delivered}
    assert receivers == {"o_msg_b"}


def test_binding_an_admin_moves_the_admin_menu_tag(app_lite):
    from models.org_rules import create_root

    with app_lite.app.app_context():
        admin = make_volunteer(password="adminpass1")
        create_root("江海志愿者服务总站", admin, now=utcnow())
        db.session.commit()
        number = admin.id_number
    app_lite.sandbox.follow("wxdemo0000000001", "o_admin_wx")
    client = sign_in(app_lite.client(), "o_admin_wx")
    client.post("/m/bind?account=demo", data={"csrf_token": csrf_token(client, "/m/bind?account=demo"),
                                              "id_number": number, "password": "adminpass1"})
    assert app_lite.drain_jobs()
    tagged = [c for c in app_lite.sandbox.calls_to("cgi-bin/tags/members/batchtagging")]
    assert tagged and "o_admin_wx" in tagged[-1]["body"]["openid_list"]


def test_personal_center_links_admins_to_their_org_tools(app_lite):
    from models.org_rules import create_root

    with app_lite.app.app_context():
        admin, plain = make_volunteer(), make_volunteer()
        create_root("江海志愿者服务总站", admin, now=utcnow())
        for v, openid in ((admin, "o_pc_admin"), (plain, "o_pc_plain")):
            db.session.add(Binding(account="demo", openid=openid, volunteer_id=v.id, bound_at=utcnow()))
        db.session.commit()
    admin_page = sign_in(app_lite.client(), "o_pc_admin").get("/m/me?account=demo").get_data(as_text=True)
    plain_page = sign_in(app_lite.client(), "o_pc_plain").get("/m/me?account=demo").get_data(as_text=True)
    assert "/m/admin/members" in admin_page and "/m/admin/members" not in plain_page
    assert "/m/me/orgs?account=demo" in plain_page and "/m/me/inbox?account=demo" in plain_page

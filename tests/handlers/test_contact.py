"""联系我们 end to end: a follower's text is kept, root-org staff answer it by customer-service message
within WeChat's 48-hour window, and the sandbox refuses an answer outside it (45015) as WeChat does."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from menus import keys
from models import Binding, ContactMessage, ContactReply, Follower, db, utcnow
from tests.support import wechat
from tests.support.orgs import build_tree, make_volunteer
from tests.support.people import sign_in

APPID = "wxdemo0000000001"
ELDER = "o_gu_xiuying"  # 顾秀英, 崇川区, born 1943: writes to the account for help with her hours


@pytest.fixture
def staffed(any_app):
    """The org tree; the root admin (staff) and a district admin bound on the demo account."""
    with any_app.app.app_context():
        orgs, admins = build_tree()
        admins["root"].name, admins["district"].name = "陈建华", "沈丽萍"
        db.session.add(Binding(account="demo", openid="o_staff_chen", volunteer_id=admins["root"].id))
        db.session.add(Binding(account="demo", openid="o_district_shen", volunteer_id=admins["district"].id))
        elder = make_volunteer("顾秀英", account="demo", openid=ELDER)
        db.session.commit()
        return any_app, elder.id


def _text(handle, openid: str, content: str) -> str:
    handle.sandbox.follow(APPID, openid)  # WeChat opens the 48 h window when the user writes
    res = wechat.post(handle.client(), handle.config, "demo", wechat.text_xml(openid, content))
    assert res.status_code == 200
    return res.get_data(as_text=True)


def _follower_id(handle, openid: str) -> int:
    with handle.app.app_context():
        return Follower.query.filter_by(account="demo", openid=openid).one().id


def _csrf(client, path: str) -> str:
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _answer(client, follower_id: int, content: str):
    path = f"/m/admin/contact/{follower_id}?account=demo"
    return client.post(path, data={"csrf_token": _csrf(client, path), "content": content})


def test_contact_key_says_what_happens_to_a_message(any_app):
    xml = wechat.event_xml(ELDER, "CLICK", keys.CONTACT)
    reply = wechat.post(any_app.client(), any_app.config, "demo", xml).get_data(as_text=True)
    assert "留言会保存下来，转给总站的工作人员" in reply and "48 小时" in reply
    assert "尽快回复" not in reply


def test_a_text_is_kept_and_staff_answer_it_in_wechat(staffed):
    handle, _ = staffed
    reply = _text(handle, ELDER, "我上周在和平桥社区的服务时长还没有记上，麻烦看一下。")
    assert "您的留言已收到" in reply and "48 小时" in reply
    follower_id = _follower_id(handle, ELDER)

    staff = sign_in(handle.client(), "o_staff_chen")
    assert "/m/admin/contact" in staff.get("/m/me?account=demo").get_data(as_text=True)  # the way in
    listing = staff.get("/m/admin/contact?account=demo").get_data(as_text=True)
    assert "顾秀英" in listing and "1 条待回复" in listing
    thread = staff.get(f"/m/admin/contact/{follower_id}?account=demo").get_data(as_text=True)
    assert "服务时长还没有记上" in thread and 'name="content"' in thread and "前可在微信内回复" in thread

    res = _answer(staff, follower_id, "顾阿姨您好，时长已经补记，请在个人中心查看。")
    assert res.status_code == 302
    [sent] = handle.sandbox.custom_messages
    assert (sent["touser"], sent["msgtype"]) == (ELDER, "text")
    assert sent["text"]["content"] == "顾阿姨您好，时长已经补记，请在个人中心查看。"
    with handle.app.app_context():
        assert ContactMessage.query.one().answered_at is not None
        assert ContactReply.query.one().content.startswith("顾阿姨您好")
    listing = staff.get("/m/admin/contact?account=demo").get_data(as_text=True)
    assert "待回复" not in listing


def test_only_root_org_staff_see_the_messages(staffed):
    handle, _ = staffed
    _text(handle, ELDER, "请问怎么报名？")
    follower_id = _follower_id(handle, ELDER)
    for openid in ("o_district_shen", ELDER):
        client = sign_in(handle.client(), openid)
        assert "/m/admin/contact" not in client.get("/m/me?account=demo").get_data(as_text=True)
        assert client.get("/m/admin/contact?account=demo").status_code == 403
        assert client.get(f"/m/admin/contact/{follower_id}?account=demo").status_code == 403
    assert handle.sandbox.custom_messages == []


def test_past_48_hours_the_page_says_it_cannot_answer_in_wechat(staffed):
    handle, _ = staffed
    _text(handle, ELDER, "我的志愿者证丢了怎么办？")
    follower_id = _follower_id(handle, ELDER)
    staff = sign_in(handle.client(), "o_staff_chen")
    token = _csrf(staff, f"/m/admin/contact/{follower_id}?account=demo")
    handle.app.config["CLOCK_NOW"] = utcnow() + timedelta(hours=49)
    try:
        page = staff.get(f"/m/admin/contact/{follower_id}?account=demo").get_data(as_text=True)
        assert "已超过 48 小时" in page and 'name="content"' not in page
        res = staff.post(f"/m/admin/contact/{follower_id}?account=demo",
                         data={"csrf_token": token, "content": "您好"})
        assert res.status_code == 409 and "已超过 48 小时" in res.get_data(as_text=True)
    finally:
        handle.app.config["CLOCK_NOW"] = None
    assert handle.sandbox.custom_messages == []
    with handle.app.app_context():
        assert ContactReply.query.count() == 0


def test_wechat_refusing_with_45015_keeps_the_text_and_says_so(staffed):
    """The follower's row says recent, WeChat says the window is closed: WeChat is right."""
    handle, _ = staffed
    _text(handle, ELDER, "周六的活动还能报名吗？")
    follower_id = _follower_id(handle, ELDER)
    handle.sandbox.user(APPID, ELDER)["last_interaction"] -= 49 * 3600
    staff = sign_in(handle.client(), "o_staff_chen")
    res = _answer(staff, follower_id, "还可以报名，名额还剩 5 个。")
    page = res.get_data(as_text=True)
    assert res.status_code == 409 and "已超过 48 小时" in page
    assert [c["errcode"] for c in handle.sandbox.calls_to("cgi-bin/message/custom/send")] == [45015]
    assert handle.sandbox.custom_messages == []
    with handle.app.app_context():
        assert ContactReply.query.count() == 0 and ContactMessage.query.one().answered_at is None


def test_an_empty_answer_is_refused_with_a_message(staffed):
    handle, _ = staffed
    _text(handle, ELDER, "你好")
    staff = sign_in(handle.client(), "o_staff_chen")
    res = _answer(staff, _follower_id(handle, ELDER), "   ")
    assert res.status_code == 400 and "请填写回复内容" in res.get_data(as_text=True)
    assert handle.sandbox.custom_messages == []


def test_an_unknown_follower_is_404(staffed):
    handle, _ = staffed
    staff = sign_in(handle.client(), "o_staff_chen")
    assert staff.get("/m/admin/contact/99999?account=demo").status_code == 404


def test_a_staff_answer_with_a_link_reaches_wechat_neutralised(staffed):
    """Staff type the answer: like every typed value in a chat message, it links nowhere."""
    handle, _ = staffed
    _text(handle, ELDER, "我的时长怎么查？")
    staff = sign_in(handle.client(), "o_staff_chen")
    res = _answer(staff, _follower_id(handle, ELDER), '请点<a href="https://evil.example.com/">这里</a>查看')
    assert res.status_code == 302
    [sent] = handle.sandbox.custom_messages
    assert "<a" not in sent["text"]["content"] and "https://" not in sent["text"]["content"]
    assert "这里" in sent["text"]["content"]

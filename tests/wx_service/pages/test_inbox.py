"""消息中心 at /m/me/inbox, over real HTTP through the sandbox's OAuth, as a WeChat browser has it."""

from __future__ import annotations

import requests

from models import Notification, db, notify, utcnow
from tests.support.notifications import make_volunteer


def browser(openid):
    session = requests.Session()
    session.cookies.set("sandbox_openid", openid, domain="127.0.0.1", path="/")
    return session


def _inbox_of(handle, openid):
    """A volunteer bound on demo with an unread linked message, a read one and another person's message."""
    with handle.app.app_context():
        vid = make_volunteer(name="赵六", bindings={"demo": openid})
        other = make_volunteer(name="钱七", bindings={"demo": openid + "_other"})
        linked = notify(vid, "signup_accepted", {"project": "滨江清洁行动", "time": "2024-06-01 08:00",
                                                 "place": "滨江公园"},
                        link="/m/bind?account=demo", cause="signup:1", key=f"inbox:{openid}:1")
        read = notify(vid, "makeup_result", {"project": "敬老院探访", "result": "通过"}, link=None,
                      cause="makeup:2", key=f"inbox:{openid}:2")
        read.read_at = utcnow()
        foreign = notify(other, "help_request", {"elder": "孙奶奶"}, link=None, cause="help_request:3",
                         key=f"inbox:{openid}:3")
        db.session.commit()
        ids = linked.id, read.id, foreign.id
    handle.drain_jobs()
    return ids


def test_the_inbox_lists_read_and_unread(any_app):
    linked, read, foreign = _inbox_of(any_app, "o_inbox_1")
    page = browser("o_inbox_1").get(any_app.base_url + "/m/me/inbox?account=demo")
    assert page.status_code == 200
    html = page.text
    assert "消息中心" in html and "1 条未读" in html
    assert "报名已录取" in html and "项目名称：滨江清洁行动" in html and "补签审核结果" in html
    assert "孙奶奶" not in html  # another volunteer's message
    # newest first; the unread one marked so
    assert html.index(f"/m/me/inbox/{read}?account=demo") < html.index(f"/m/me/inbox/{linked}?account=demo")
    assert html.index("inbox-item_read") < html.index("inbox-item_unread")


def test_opening_a_message_marks_it_read_and_follows_the_link(any_app):
    linked, read, foreign = _inbox_of(any_app, "o_inbox_2")
    session = browser("o_inbox_2")
    detail = session.get(any_app.base_url + f"/m/me/inbox/{linked}?account=demo")
    assert detail.status_code == 200
    assert "滨江公园" in detail.text and 'href="/m/bind?account=demo"' in detail.text and "查看详情" in detail.text
    with any_app.app.app_context():
        assert db.session.get(Notification, linked).read_at is not None
    assert "条未读" not in session.get(any_app.base_url + "/m/me/inbox?account=demo").text
    # From a template message (go=1): straight on to the link
    go = session.get(any_app.base_url + f"/m/me/inbox/{read}?account=demo&go=1", allow_redirects=False)
    assert go.status_code == 200  # no link: the detail itself
    go = session.get(any_app.base_url + f"/m/me/inbox/{linked}?account=demo&go=1", allow_redirects=False)
    assert go.status_code == 302 and go.headers["Location"] == "/m/bind?account=demo"
    # Someone else's message is not found
    assert session.get(any_app.base_url + f"/m/me/inbox/{foreign}?account=demo").status_code == 404
    with any_app.app.app_context():
        assert db.session.get(Notification, foreign).read_at is None


def test_a_person_without_a_bound_volunteer_is_told_to_bind(any_app):
    page = browser("o_inbox_unbound").get(any_app.base_url + "/m/me/inbox?account=demo")
    assert page.status_code == 200
    assert "请先绑定志愿者账号" in page.text and "/m/bind?account=demo" in page.text


def test_the_inbox_needs_a_person(any_app):
    res = requests.get(any_app.base_url + "/m/me/inbox?account=demo", allow_redirects=False)
    assert res.status_code == 302 and "/sandbox/connect/oauth2/authorize" in res.headers["Location"]

"""Hostile text in WeChat chat messages: only links the service builds are links.

A help note, a name, a project or wish title, a reason typed as ``<a href="http://…">`` used to reach
other people as a clickable link inside a message from the official account (a callback reply or
a customer-service message).  Every such value is now neutralised where the text is composed.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

import handlers
from jobs.delivery import custom_text
from models import Binding, db, project_rules
from models import signup as su
from models.chat_text import ChatText, compose, join, link, neutralise
from models.notification_kinds import TEMPLATE_FIELDS, template_data
from tests.jobs.test_delivery import _deliver, _one
from tests.support import codes
from tests.support.orgs import NOW, build_tree, make_volunteer
from tests.support.projects import typed
from tests.support.wechat import event_xml, message_xml, post, text_xml
from tests.wx_service.pages.test_attendance_pages import at, reply_text, scan_xml, single

PHISHING = '<a href="http://jtzy-butie.cn/lq">点此领取志愿补贴</a> 或访问 www.jtzy-butie.cn、https://t.cn/A6x'
SERVICE_LINK = re.compile(r'<a href="(http://127\.0\.0\.1:\d+/m/[^"<>]*)">[^<>]*</a>')


def only_service_links(text: str) -> None:
    """Every ``<a`` is one of ours, and no web address of the attacker's survives, tag or bare."""
    assert text.count("<a ") == len(SERVICE_LINK.findall(text)), text
    for trace in ("jtzy-butie.cn", "http://jtzy", "https://t.cn", "www.jtzy"):
        assert trace not in text, text


# ----------------------------------------------------------------------------------- the helper
def test_a_typed_link_reads_the_same_and_links_nowhere():
    shown = neutralise(PHISHING)
    assert "<" not in shown and ">" not in shown and "://" not in shown
    assert shown.startswith("＜a href=\"http：//jtzy-butie．cn/lq\"＞点此领取志愿补贴＜/a＞")
    assert neutralise("活动3.5小时，地点：濠河风景区") == "活动3.5小时，地点：濠河风景区"
    assert neutralise("第一行\n第二行\x00\x1b") == "第一行\n第二行  "
    # host names outside Latin TLDs: a Chinese TLD, a punycode one, a Chinese label
    for host in ("志愿补贴.中国", "jtzy.xn--fiqs8s", "江海志愿.cn", "butie.公司"):
        assert "." not in neutralise(f"领取请访问 {host}/lq"), host
    assert neutralise("时长2.5小时，已发放0.5积分") == "时长2.5小时，已发放0.5积分"


def test_compose_neutralises_values_and_keeps_the_service_links():
    home = link("http://127.0.0.1:5000/m/?account=demo", "江海志愿首页")
    text = compose("{name}：{note}\n{home}", name="王*英", note=PHISHING, home=home)
    assert isinstance(text, ChatText) and text.endswith(home) and "王*英：＜a href" in text
    only_service_links(text)
    labelled = link('http://127.0.0.1:5000/m/x?account=demo&a="b"', PHISHING)
    assert labelled.count("<a ") == 1 and '"b"' not in labelled
    only_service_links(join([PHISHING, home]))


# --------------------------------------------------------------------------- customer-service text
@pytest.mark.parametrize("kind", sorted(TEMPLATE_FIELDS))
def test_every_customer_service_text_neutralises_every_value(kind):
    data = {field: PHISHING for _keyword, field, _label in TEMPLATE_FIELDS[kind]}
    text = custom_text(kind, data, "http://127.0.0.1:5000/m/me/inbox/7?account=demo&go=1")
    only_service_links(text)
    assert text.count("<a ") == 1 and "查看详情</a>" in text
    assert text.count("点此领取志愿补贴") == len(TEMPLATE_FIELDS[kind])  # still readable


def test_template_values_stay_plain_text():
    """WeChat shows template values as typed (no tags, no links): nothing to neutralise, nothing garbled."""
    [value] = [v["value"] for v in template_data("help_done", {"note": "灯泡<换好了>&门锁"}).values()]
    assert value == "灯泡<换好了>&门锁"


def test_a_help_note_with_a_link_reaches_the_elder_defused(any_app):
    """The customer-service message a help-done note goes out in, as the sandbox (WeChat) receives it."""
    data = {"elder": "王*英", "volunteer": "李建军", "time": "2026-03-01 10:30", "note": PHISHING}
    nid = _one(any_app, "o_cs_phish", kind="help_done", data=data, seen_ago=timedelta(hours=2))
    row = _deliver(any_app, nid)
    assert (row.state, row.channel) == ("sent", "custom")
    [message] = any_app.sandbox.custom_messages
    only_service_links(message["text"]["content"])
    assert "情况说明：＜a href" in message["text"]["content"]


# -------------------------------------------------------------------------------- callback replies
@pytest.mark.parametrize("xml", [
    event_xml("o_links", "subscribe"), event_xml("o_links", "SCAN", key="123"), text_xml("o_links", "在吗"),
    event_xml("o_links", "CLICK", key="CONTACT"), event_xml("o_links", "CLICK", key="MY_QRCODE"),
    event_xml("o_links", "CLICK", key="NO_SUCH_KEY"), message_xml("o_links", "voice", {"MediaId": "m", "MsgId": 9}),
    event_xml("o_links", "scancode_waitmsg", key="SCAN_CHECKIN"),
])
def test_the_service_links_in_replies_stay_links(any_app, xml):
    content = reply_text(post(any_app.client(), any_app.config, "demo", xml))
    assert SERVICE_LINK.search(content), content
    only_service_links(content)


def test_a_scene_key_with_a_link_is_defused(any_app):
    content = reply_text(post(any_app.client(), any_app.config, "demo",
                              event_xml("o_scene", "SCAN", key=PHISHING.replace('"', "'"))))
    only_service_links(content)


def test_a_plain_string_reply_is_neutralised_whole(any_app, monkeypatch):
    """A handler that forgets ``compose`` cannot send a link: a plain ``str`` is a user value."""
    monkeypatch.setattr(handlers.router, "resolve", lambda *args: lambda incoming: f"请看 {PHISHING}")
    content = reply_text(post(any_app.client(), any_app.config, "demo", text_xml("o_plain", "x")))
    assert "<a " not in content and "点此领取志愿补贴" in content


@pytest.fixture
def phishing_projects(any_app):
    """Two running 单签 activities whose names carry a link; 陆小燕 signed up to both, 沈国平 to one."""
    app = any_app.app
    with app.app_context():
        _orgs, admins = build_tree()
        admin = admins["district"]
        db.session.add(Binding(account="demo", openid="o-scan-admin", volunteer_id=admin.id))
        projects = [project_rules.publish_project(admin, typed(single(name=f"{PHISHING[:60]}{n}", short_name=f"劝导{n}")), now=NOW)
                    for n in range(2)]
        both, one = make_volunteer("陆小燕"), make_volunteer("沈国平")
        for project in projects:
            su.sign_up(both, project.id, now=NOW)
        su.sign_up(one, projects[0].id, now=NOW)
        db.session.commit()
        payloads = codes.personal(app, both, at(10, 0)), codes.personal(app, one, at(10, 0))
    any_app.drain_jobs()
    app.config["CLOCK_NOW"] = at(10, 0)
    yield any_app, payloads
    app.config.pop("CLOCK_NOW", None)


def test_scan_replies_defuse_project_names(phishing_projects):
    handle, (both, one) = phishing_projects
    several = reply_text(post(handle.client(), handle.config, "demo", scan_xml("o-scan-admin", both)))
    assert "请选择" in several and several.count("<a ") == 2
    only_service_links(several)
    signed_in = reply_text(post(handle.client(), handle.config, "demo", scan_xml("o-scan-admin", one)))
    assert "签到成功" in signed_in
    only_service_links(signed_in)
    again = reply_text(post(handle.client(), handle.config, "demo", scan_xml("o-scan-admin", one)))
    assert "签到未成功" in again
    only_service_links(again)

"""一喊就来 pages: the seeker's bind / button / upload / status, the request page, the admin pages."""

from __future__ import annotations

import io
import re

from PIL import Image

import jobs.media
from models import Notification, Volunteer, db
from models import help_request as hr
from models import help_seeker as hs
from tests.support.help import build_help, seeker_fields
from tests.support.orgs import make_volunteer
from tests.support.people import bind, csrf_token, sign_in
from wx_service.dev.sandbox.phone import make_wav


def _jssdk_media(handle) -> str:
    return handle.sandbox.add_media(make_wav(2), "audio/speex", jssdk=True, appid="wxdemo0000000001", kind="voice")


def test_first_use_binds_then_the_page_is_the_button(any_app):
    with any_app.app.app_context():
        ids = build_help(1, seeker_openid=None)
    client = sign_in(any_app.client(), "o_new_elder")
    page = client.get("/m/help?account=demo").get_data(as_text=True)
    assert "第一次使用，请先绑定身份证和手机号" in page and "help-mic" not in page
    token = csrf_token(client, "/m/help?account=demo")
    wrong = client.post("/m/help/bind?account=demo", data={"csrf_token": token, "id_number": ids["id_number"],
                                                           "phone": "13900000000"})
    assert wrong.status_code == 401 and "身份证号或手机号不对" in wrong.get_data(as_text=True)
    bound = client.post("/m/help/bind?account=demo", data={"csrf_token": token, "id_number": ids["id_number"],
                                                           "phone": "13851300001"})
    assert bound.status_code == 302
    button = client.get("/m/help?account=demo").get_data(as_text=True)
    assert 'id="help-mic"' in button and "按住说话" in button
    for api in ("startRecord", "stopRecord", "uploadVoice", "onVoiceRecordEnd"):
        assert api in button


def test_upload_creates_the_request_and_status_says_who_is_coming(any_app):
    with any_app.app.app_context():
        ids = build_help(2)
    client = sign_in(any_app.client(), "o_elder")
    token = re.search(r'name="csrf-token" content="([^"]+)"',
                      client.get("/m/help?account=demo").get_data(as_text=True)).group(1)
    no_csrf = client.post("/m/api/help/voice", json={"server_id": "x"})
    assert no_csrf.status_code == 400 and no_csrf.json["code"] == "csrf"
    empty = client.post("/m/api/help/voice", json={}, headers={"X-CSRFToken": token})
    assert empty.status_code == 400 and empty.json["code"] == "media_invalid"
    media = _jssdk_media(any_app)
    sent = client.post("/m/api/help/voice", json={"server_id": media}, headers={"X-CSRFToken": token})
    assert sent.status_code == 200 and sent.json["new"] is True and sent.json["message"] == "已通知志愿者"
    assert client.get("/m/api/help/status").json["message"] == "已通知志愿者，请您稍等"
    again = client.post("/m/api/help/voice", json={"server_id": _jssdk_media(any_app)}, headers={"X-CSRFToken": token})
    assert again.json["new"] is False and again.json["request_id"] == sent.json["request_id"]
    assert any_app.drain_jobs()
    if any_app.app.extensions["wx_redis"] is None:  # in-process jobs: the audio is there already
        with any_app.app.app_context():
            notes = hr.VoiceNote.query.order_by(hr.VoiceNote.id).all()
            assert [(n.source, n.state) for n in notes] == [("jssdk", "ready"), ("jssdk", "ready")]
        assert any_app.sandbox.calls_to("cgi-bin/media/get/jssdk")
    with any_app.app.app_context():
        volunteer = db.session.get(Volunteer, ids["volunteers"][1])
        hr.claim(volunteer, sent.json["request_id"], now=hr.HelpRequest.query.first().opened_at)
        db.session.commit()
    status = client.get("/m/api/help/status").json
    assert status["state"] == "claimed" and status["message"] == "结志愿者已经接到您的求助，正在赶来"
    stranger = sign_in(any_app.client(), "o_not_a_seeker")
    assert stranger.get("/m/api/help/status").status_code == 403


def test_request_page_visibility(any_app, monkeypatch):
    monkeypatch.setattr(jobs.media.fetch_media, "now", lambda *ids: True)  # the voice is still being fetched
    with any_app.app.app_context():
        ids = build_help(2)
        seeker = db.session.get(hs.HelpSeeker, ids["seeker"])
        request, _, _ = hr.call_for_help(seeker, "m1", hr.CHAT, "demo", now=seeker.created_at)
        db.session.commit()
        request_id = request.id
        make_volunteer("路人", account="demo", openid="o_outsider")
        db.session.commit()
        for who in ("district", "sibling_street"):
            bind(db.session.get(Volunteer, ids["admins"][who]), f"o_admin_{who}")
    page = f"/m/help/requests/{request_id}"
    paired = sign_in(any_app.client(), "o_pair_0").get(page)
    html = paired.get_data(as_text=True)
    assert paired.status_code == 200 and "王秀英" in html and "认领求助" in html
    assert "138****0001" in html and "13851300001" not in html and "王建国" not in html
    assert "uri.amap.com/search?keyword=" in html and "语音正在获取中" in html
    assert "结*号" in html or "结**号" in html, "the volunteers told"
    assert sign_in(any_app.client(), "o_outsider").get(page).status_code == 403
    assert sign_in(any_app.client(), "o_admin_sibling_street").get(page).status_code == 403
    district = sign_in(any_app.client(), "o_admin_district").get(page).get_data(as_text=True)
    assert "13851300001" in district and "王建国" in district and "指派" in district


def _png() -> io.BytesIO:
    buf = io.BytesIO()
    Image.new("RGB", (40, 40), (200, 120, 30)).save(buf, "PNG")
    buf.seek(0)
    return buf


def test_admin_adds_a_seeker_and_the_parent_admin_approves(any_app):
    with any_app.app.app_context():
        ids = build_help(1, seeker_openid=None)
        for who in ("street", "district"):
            bind(db.session.get(Volunteer, ids["admins"][who]), f"o_admin_{who}")
    street = sign_in(any_app.client(), "o_admin_street")
    token = csrf_token(street, "/m/admin/seekers/new")
    fields = seeker_fields(name="赵桂兰", mobile="13851300009")
    bad = street.post("/m/admin/seekers/new", data={**fields, "csrf_token": token, "volunteers": "nobody"})
    assert bad.status_code == 404 and "以下志愿者不存在" in bad.get_data(as_text=True)
    made = street.post("/m/admin/seekers/new", data={**fields, "csrf_token": token, "volunteers": ids["numbers"][0],
                                                     "photo": (_png(), "elder.png")},
                       content_type="multipart/form-data")
    assert made.status_code == 302
    listing = street.get("/m/admin/seekers").get_data(as_text=True)
    assert "赵*兰" in listing and "待审核" in listing and "13851300009" not in listing
    with any_app.app.app_context():
        new = hs.HelpSeeker.query.filter_by(name="赵桂兰").one()
        new_id, photo = new.id, new.photo_path
    assert photo and street.get(f"/m/help/seekers/{new_id}/photo").mimetype == "image/jpeg"
    assert "没有待审核的求助人" in street.get("/m/admin/seekers?tab=review").get_data(as_text=True)
    refused = street.post(f"/m/admin/seekers/{new_id}/review", data={"csrf_token": token, "decision": "approve"})
    assert refused.status_code == 302
    district = sign_in(any_app.client(), "o_admin_district")
    review = district.get("/m/admin/seekers?tab=review").get_data(as_text=True)
    assert "赵*兰" in review
    dtoken = csrf_token(district, f"/m/admin/seekers/{new_id}")
    district.post(f"/m/admin/seekers/{new_id}/review", data={"csrf_token": dtoken, "decision": "approve"})
    with any_app.app.app_context():
        assert db.session.get(hs.HelpSeeker, new_id).state == "approved"
        assert Notification.query.count() == 0
    paired = street.post(f"/m/admin/seekers/{new_id}/pair", data={"csrf_token": token, "volunteers": "nobody"})
    assert paired.status_code == 302
    with any_app.app.app_context():
        assert len(db.session.get(hs.HelpSeeker, new_id).volunteer_ids) == 1


def test_a_volunteer_on_the_bind_page_sees_the_admin_link_only_if_an_admin(any_app):
    """A volunteer who opens 一喊就来 without being a seeker gets their own links; 结对人管理 only for admins."""
    from models import Binding

    with any_app.app.app_context():
        ids = build_help(1, seeker_openid=None)
        db.session.add(Binding(account="demo", openid="o_street_admin", volunteer_id=ids["admins"]["street"]))
        db.session.commit()
    volunteer = sign_in(any_app.client(), "o_pair_0").get("/m/help?account=demo").get_data(as_text=True)
    assert "我的结对求助" in volunteer and "结对人管理" not in volunteer
    admin = sign_in(any_app.client(), "o_street_admin").get("/m/help?account=demo").get_data(as_text=True)
    assert "我的结对求助" in admin and "结对人管理" in admin

"""志愿服务记录证明 through the Flask test client, the clock stopped: 证书打印 from 我的活动 to the PDF (its text read
back) and the PNG, 开具服务记录证明 for a period, the public verification page for valid / superseded / revoked /
unknown numbers and its rate limit, 星级 in the personal center, and the admins' entry, revoke and number pages."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
import zxingcpp
from pdfminer.high_level import extract_text
from PIL import Image

from jobs.storage import EXTENSION, LocalStorage
from models import Binding, db
from models import attendance as att
from models.attendance import objection as att_objection
from models.attendance import punches as att_punches
from models.personal_data import mask_phone
from models.records import certificates as certs
from models.records.tables import Certificate, RecordAudit, RecordEntry
from tests.jobs.test_storage import s3_store
from tests.support.orgs import NOW
from tests.support.people import sign_in
from tests.support.projects import TODAY
from tests.support.records import at, served
from tests.support.s3 import moto_s3  # noqa: F401  (fixture)
from tests.support.settings import override
from wx_service.config import settings

LATER = at(12, 0, TODAY + timedelta(days=2))  # both projects are over
STARS = (Decimal(100), Decimal(300), Decimal(600), Decimal(1000), Decimal(1500))


def _city(handle):
    app = handle.app
    with app.app_context():
        made = served(account="demo", openid="o-vol")
        made["orgs"]["street"].contact_name, made["orgs"]["street"].contact_phone = "顾丽华", "0513-85512345"
        for key, openid in (("root", "o-root"), ("street", "o-street"), ("sibling_street", "o-sibling"),
                            ("district", "o-district")):
            db.session.add(Binding(account="demo", openid=openid, volunteer_id=made["admins"][key].id))
        db.session.commit()
        ids = {"volunteer": made["volunteer"].id, "name": made["volunteer"].name,
               "id_number": made["volunteer"].id_number, "single": made["single"].id, "double": made["double"].id,
               "double_cycle": made["cycles"]["double"].id, "neighbour": made["neighbour"].id,
               "street": made["orgs"]["street"].id, "district_admin": made["admins"]["district"].id,
               "street_admin": made["admins"]["street"].id}
    handle.drain_jobs()
    app.config["CLOCK_NOW"] = LATER
    yield handle, ids
    app.config.pop("CLOCK_NOW", None)


@pytest.fixture
def city(any_app):
    yield from _city(any_app)


@pytest.fixture
def pg_city(app_pg):
    """For what does not depend on the engine (the PDF and PNG, the personal center's pages): PostgreSQL only."""
    yield from _city(app_pg)


def token_of(client, path):
    html = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', html) or re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert found, path
    return found.group(1)


def issue(handle, ids, key="single"):
    with handle.app.app_context():
        from models import Volunteer

        cert = certs.issue_for_project(db.session.get(Volunteer, ids["volunteer"]), ids[key], thresholds=STARS,
                                       now=LATER, tz="Asia/Shanghai")
        db.session.commit()
        return cert.id, cert.number


def test_certificate_from_my_activities_to_the_pdf_and_the_png(pg_city):
    handle, ids = pg_city
    client = sign_in(handle.client(), "o-vol")
    page = client.get("/m/me/activities?tab=done").get_data(as_text=True)
    assert page.count("证书打印") == 2
    token = token_of(client, "/m/me/activities?tab=done")
    answer = client.post(f"/m/me/activities/{ids['single']}/certificate", data={"csrf_token": token})
    assert answer.status_code == 302
    path = answer.headers["Location"]
    html = client.get(path).get_data(as_text=True)
    with handle.app.app_context():
        cert = Certificate.query.one()
        number = cert.number
    assert number in html and "长按" in html and "有效" in html
    pdf = client.get(path + ".pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = "".join(extract_text(io.BytesIO(pdf.data)).split())
    masked = ids["id_number"][:4] + "*" * 10 + ids["id_number"][-4:]
    for expected in ("志愿服务记录证明", ids["name"], "内地居民身份证", masked, "文明交通劝导志愿服务",
                     "服务内容：文明实践：路口文明交通劝导", "服务时长：4.00小时（公示中）", "合计服务时长：4.00小时", "和平桥街道志愿服务支队", "负责人：顾丽华", "0513-85512345",
                     f"证书编号：{number}", f"出具日期：{(TODAY + timedelta(days=2)).isoformat()}",
                     f"服务日期：{TODAY.isoformat()}至{(TODAY + timedelta(days=1)).isoformat()}（2天）"):
        assert expected in text, expected
    assert ids["id_number"] not in text
    png = client.get(path + ".png")
    image = Image.open(io.BytesIO(png.data))
    assert png.mimetype == "image/png" and image.width == 1080 and image.height > 1200
    (qr,) = zxingcpp.read_barcodes(image)
    assert qr.text == f"{handle.base_url}/m/certificates/verify/{number}"
    assert "证明有效" in handle.client().get(qr.text.removeprefix(handle.base_url)).get_data(as_text=True)
    # asking again for the same hours shows the same certificate; another volunteer cannot open it
    again = client.post(f"/m/me/activities/{ids['single']}/certificate", data={"csrf_token": token})
    assert again.headers["Location"] == path
    stranger = sign_in(handle.client(), "o-street")
    assert stranger.get(path).status_code == 404 and stranger.get(path + ".pdf").status_code == 404


def test_period_certificate_page(city):
    handle, ids = city
    client = sign_in(handle.client(), "o-vol")
    assert "开具服务记录证明" in client.get("/m/me/hours").get_data(as_text=True)
    token = token_of(client, "/m/me/certificates")
    bad = [({"start": "2026-13-01", "end": "2026-03-03"}, "开始日期不正确"),
           ({"start": "2026-03-03", "end": "2026-03-01"}, "开始日期不能晚于结束日期"),
           ({"start": "2026-03-01", "end": "2026-03-30"}, "结束日期不能晚于今天"),
           ({"start": "2025-01-01", "end": "2025-02-01"}, "没有可以证明的服务时长")]
    for form, message in bad:
        answer = client.post("/m/me/certificates", data={"csrf_token": token, **form})
        assert 400 <= answer.status_code < 500 and message in answer.get_data(as_text=True), form
    answer = client.post("/m/me/certificates", data={"csrf_token": token, "start": "2026-02-01", "end": "2026-03-03"})
    assert answer.status_code == 302 and "issued=2" in answer.headers["Location"]
    listing = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "已按组织开具 2 份证明" in listing and listing.count("certificate-row") == 2
    with handle.app.app_context():
        assert sorted(c.total_hours for c in Certificate.query) == [Decimal("1.50"), Decimal("4.00")]


def test_verification_page_valid_superseded_revoked_unknown(city):
    handle, ids = city
    _, single = issue(handle, ids)
    _, double = issue(handle, ids, "double")
    anyone = handle.client()  # no sign-in
    page = anyone.get(f"/m/certificates/verify/{single}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "证明有效" in html and "4.00 小时" in html
    assert ids["name"] not in html and ids["name"][0] + "*" in html and ids["id_number"] not in html
    assert mask_phone("0513-85512345") in html and "0513-85512345" not in html
    assert "证明有效" in anyone.get(f"/m/certificates/verify?number={single.lower().replace('-', '')}").get_data(as_text=True)
    # an upheld objection after issue: the 双签 certificate is superseded
    with handle.app.app_context():
        from models import Volunteer

        objection = att_objection.object_to(db.session.get(Volunteer, ids["neighbour"]), ids["double_cycle"],
                                            "他当天并未到场参加活动", now=at(11, 0))
        att_objection.uphold_objection(db.session.get(Volunteer, ids["district_admin"]), objection.id, now=at(11, 30))
        db.session.commit()
    html = anyone.get(f"/m/certificates/verify/{double}").get_data(as_text=True)
    assert "已失效" in html and "证明有效" not in html
    # revoked by the issuing org's admin on its page
    admin = sign_in(handle.client(), "o-street")
    refused = sign_in(handle.client(), "o-sibling")
    lookup = f"/m/admin/certificates?number={single}"
    token = token_of(admin, lookup)
    assert refused.post("/m/admin/certificates", data={"csrf_token": token_of(refused, lookup),
                                                       "number": single, "reason": "证明内容有误"}).status_code == 302
    with handle.app.app_context():
        assert Certificate.query.filter_by(number=single).one().state == "valid"
    admin.post("/m/admin/certificates", data={"csrf_token": token, "number": single, "reason": "证明内容有误"})
    html = anyone.get(f"/m/certificates/verify/{single}").get_data(as_text=True)
    assert "该证明已撤销" in html and "证明内容有误" in html and "4.00 小时" not in html
    for unknown in ("AAAA-BBBB-CCCC-DDDD", "not-a-number", "1" * 16):
        answer = anyone.get(f"/m/certificates/verify/{unknown}")
        assert answer.status_code == 404 and "未查到该编号的证明" in answer.get_data(as_text=True)


def test_verification_is_rate_limited_and_unknown_numbers_count(city, monkeypatch):
    handle, ids = city
    _, number = issue(handle, ids)
    override(handle.app, monkeypatch, "records", verify_per_minute=3)
    anyone = handle.client()
    assert [anyone.get(f"/m/certificates/verify/{n}").status_code
            for n in ("AAAA-BBBB-CCCC-DDDD", "AAAA-BBBB-CCCC-DDDE", number, number)] == [404, 404, 200, 429]
    assert "查询太频繁" in anyone.get(f"/m/certificates/verify/{number}").get_data(as_text=True)


def test_star_level_and_entries_in_the_personal_center(pg_city):
    handle, ids = pg_city
    client = sign_in(handle.client(), "o-vol")
    assert "暂未评星" in client.get("/m/me").get_data(as_text=True)
    admin = sign_in(handle.client(), "o-street")
    path = f"/m/admin/members/{ids['volunteer']}/record?org={ids['street']}"
    token = token_of(admin, path)
    refused = admin.post(path, data={"csrf_token": token, "kind": "award", "title": "优", "day": "2026-03-01"})
    assert refused.status_code == 400 and "名称为2至100字" in refused.get_data(as_text=True)
    assert admin.post(path, data={"csrf_token": token, "kind": "award", "title": "优秀志愿者", "detail": "区级表彰",
                                  "day": "2026-03-01"}).status_code == 302
    assert sign_in(handle.client(), "o-sibling").get(path).status_code == 403
    with handle.app.app_context():
        project = db.session.get(att.Cycle, ids["double_cycle"]).project
        db.session.add(att_punches.new_cycle(project, ids["volunteer"], TODAY - timedelta(days=20), NOW, mode="double",
                                             source="makeup", state=att.CONFIRMED, hours=Decimal("120"),
                                             confirmed_at=NOW))
        db.session.commit()
        assert RecordEntry.query.count() == 1
    assert "一星志愿者" in client.get("/m/me").get_data(as_text=True)
    record = client.get("/m/me/record").get_data(as_text=True)
    assert "一星志愿者" in record and "表彰奖励：优秀志愿者" in record and "距二星志愿者" in record and "180.00" in record


def test_national_number_only_by_city_admins(pg_city):
    handle, ids = pg_city
    root = sign_in(handle.client(), "o-root")
    path = f"/m/admin/members/{ids['volunteer']}/record?org={ids['street']}"
    assert "统一编号" in root.get(path).get_data(as_text=True)
    assert "统一编号" not in sign_in(handle.client(), "o-street").get(path).get_data(as_text=True)
    answer = root.post(f"/m/admin/members/{ids['volunteer']}/national-number?org={ids['street']}",
                       data={"csrf_token": token_of(root, path), "number": "3206 0012 3456"})
    assert answer.status_code == 302
    with handle.app.app_context():
        assert certs.national_number_of(ids["volunteer"]) == "320600123456"
        assert RecordAudit.query.filter_by(action="national_number_set").count() == 1
    assert "320600123456" in sign_in(handle.client(), "o-vol").get("/m/me/record").get_data(as_text=True)


@pytest.fixture
def lite_city(app_lite):
    yield from _city(app_lite)


def test_certificate_files_live_in_the_media_store_and_are_served_from_it(lite_city, moto_s3, monkeypatch):  # noqa: F811
    """The PDF and PNG go to the one media store (here an S3 bucket), not to a directory of their own; a second
    ask serves the stored bytes (a PDF drawn again would differ: it carries its creation time)."""

    handle, ids = lite_city
    bucket = s3_store(moto_s3)
    monkeypatch.setitem(handle.app.extensions, EXTENSION, bucket)
    cert_id, number = issue(handle, ids)
    client = sign_in(handle.client(), "o-vol")
    first = client.get(f"/m/me/certificates/{cert_id}.pdf")
    assert first.status_code == 200 and first.mimetype == "application/pdf"
    assert first.headers["Content-Disposition"].startswith("attachment")
    png = client.get(f"/m/me/certificates/{cert_id}.png")
    assert png.status_code == 200 and png.mimetype == "image/png"
    stored = sorted(bucket.paths())
    assert stored == [f"certificates/{cert_id}-{number}.pdf", f"certificates/{cert_id}-{number}.png"]
    assert bucket.get(stored[0]) == first.data and bucket.get(stored[1]) == png.data
    assert client.get(f"/m/me/certificates/{cert_id}.pdf").data == first.data
    local = LocalStorage(settings(handle.app).app.media_dir)
    assert not any(local.exists(path) for path in stored)  # nothing written beside the store


def test_simultaneous_asks_for_one_certificate_issue_it_once_on_postgres(pg_city):
    """Eight 证书打印 of the same project at the same moment, through real concurrent requests: one certificate;
    every ask lands on it (the losers are handed the winner's)."""
    import threading

    handle, ids = pg_city
    clients = [sign_in(handle.client(), "o-vol") for _ in range(8)]
    tokens = [token_of(c, "/m/me/activities?tab=done") for c in clients]
    barrier = threading.Barrier(len(clients))
    landed: list[str] = []

    def ask(client, token):
        barrier.wait(30)
        answer = client.post(f"/m/me/activities/{ids['single']}/certificate", data={"csrf_token": token})
        landed.append(answer.headers.get("Location", str(answer.status_code)))

    threads = [threading.Thread(target=ask, args=pair) for pair in zip(clients, tokens, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    with handle.app.app_context():
        issued = Certificate.query.all()
        assert len(issued) == 1, [c.number for c in issued]
    assert landed == [f"/m/me/certificates/{issued[0].id}"] * len(clients), landed


def test_admin_prints_a_participants_certificate_on_the_members_page(pg_city):
    """证书打印 on 参与成员 (图2-47): the street station's admin prints the volunteer's certificate of its project — the
    one the volunteer gets, issued by the project's org — opens its PNG and PDF; it is audited; other orgs cannot."""
    from models.integrity.tables import AdminAction

    handle, ids = pg_city
    admin = sign_in(handle.client(), "o-street")
    members = f"/m/admin/signups/{ids['single']}?tab=accepted"
    page = admin.get(members).get_data(as_text=True)
    assert page.count("证书打印") == 2  # the volunteer and the neighbour
    profile = admin.get(f"/m/admin/signups/{ids['single']}/volunteers/{ids['volunteer']}").get_data(as_text=True)
    assert "证书打印" in profile
    token = token_of(admin, members)
    printing = f"/m/admin/signups/{ids['single']}/volunteers/{ids['volunteer']}/certificate"
    answer = admin.post(printing, data={"csrf_token": token}, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert answer.status_code == 302
    with handle.app.app_context():
        cert = Certificate.query.one()
        cert_id, number = cert.id, cert.number
        assert (cert.issuer_org_id, cert.volunteer_id, cert.project_id) == (ids["street"], ids["volunteer"], ids["single"])
    assert answer.headers["Location"] == f"/m/admin/certificates/{cert_id}?project={ids['single']}"
    html = admin.get(answer.headers["Location"]).get_data(as_text=True)
    assert number in html and "有效" in html and "4.00 小时" in html and "返回参与成员" in html
    pdf = admin.get(f"/m/admin/certificates/{cert_id}.pdf")
    text = "".join(extract_text(io.BytesIO(pdf.data)).split())
    assert pdf.mimetype == "application/pdf" and ids["name"] in text and f"证书编号：{number}" in text
    assert "出具单位：和平桥街道志愿服务支队" in text
    assert admin.get(f"/m/admin/certificates/{cert_id}.png").mimetype == "image/png"
    # the volunteer's own 证书打印 gives the same certificate back
    volunteer = sign_in(handle.client(), "o-vol")
    mine = volunteer.post(f"/m/me/activities/{ids['single']}/certificate",
                          data={"csrf_token": token_of(volunteer, "/m/me/activities?tab=done")})
    assert mine.headers["Location"] == f"/m/me/certificates/{cert_id}"
    # printing again: the same certificate, and a second audited act
    assert admin.post(printing, data={"csrf_token": token}).headers["Location"].startswith(
        f"/m/admin/certificates/{cert_id}")
    with handle.app.app_context():
        acts = AdminAction.query.filter_by(action="certificate_printed").order_by(AdminAction.id).all()
        assert [(a.actor_id, a.volunteer_id, a.project_id, a.org_id, a.hours, a.channel) for a in acts] == [
            (ids["street_admin"], ids["volunteer"], ids["single"], ids["street"], Decimal("4.00"), "page")] * 2
        assert acts[0].ip == "10.1.2.3" and number in acts[0].detail
    # the district above sees it in its audit log and may print too; a sibling street may do neither
    district = sign_in(handle.client(), "o-district")
    assert "证书打印" in district.get("/m/admin/audit").get_data(as_text=True)
    assert district.get(f"/m/admin/certificates/{cert_id}").status_code == 200
    sibling = sign_in(handle.client(), "o-sibling")
    refused = sibling.post(printing, data={"csrf_token": token_of(sibling, f"/m/admin/certificates?number={number}")})
    assert refused.status_code == 403 and "只有项目所属组织及其上级组织的管理员可以打印证书" in refused.get_data(as_text=True)
    assert sibling.get(f"/m/admin/certificates/{cert_id}").status_code == 403
    assert sibling.get(f"/m/admin/certificates/{cert_id}.pdf").status_code == 403
    assert volunteer.get(f"/m/admin/certificates/{cert_id}").status_code == 403  # not an admin
    # no counted hours: a clear refusal, nothing issued
    nothing = admin.post(f"/m/admin/signups/{ids['double']}/volunteers/{ids['neighbour']}/certificate",
                         data={"csrf_token": token})
    assert nothing.status_code == 403  # the 双签 project is the district's: the street may not print it
    district_token = token_of(district, f"/m/admin/signups/{ids['double']}?tab=accepted")
    nothing = district.post(f"/m/admin/signups/{ids['double']}/volunteers/{ids['neighbour']}/certificate",
                            data={"csrf_token": district_token})
    assert nothing.status_code == 409 and "没有可以证明的服务时长" in nothing.get_data(as_text=True)
    with handle.app.app_context():
        assert Certificate.query.count() == 1
        assert AdminAction.query.filter_by(action="certificate_printed").count() == 2

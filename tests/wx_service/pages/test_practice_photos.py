"""新时代文明实践 photos through the pages, the sandbox and the one media pipeline: 场所图片 set by a place's
admin and shown on the place page; a need's optional photo, seen only by who may view the need; 结项 photos
shown to the project's admins; and the 风采 of a centre (place photos, approved 随手拍 and 结项 photos of the
文明实践 activities held below it), newest first, a page at a time.  Bad input: a Chinese message, a 4xx,
nothing stored."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

import pytest

from models import Organization, Volunteer, db, media, project_rules
from models import photos as ph
from models.closure import ClosurePhoto
from models.practice import gallery
from models.practice import projects as practice_projects
from models.practice.tables import Need, PlacePhoto
from models.project import APPROVED, PENDING, TOPIC_PRACTICE
from tests.support.orgs import NOW, make_volunteer
from tests.support.practice import practice_city
from tests.wx_service.pages.test_photo_pages import jpeg
from tests.wx_service.pages.test_practice_pages import NEED, post, sms_code, submit_need
from tests.wx_service.pages.test_wish_pages import client_for, text

DEMO = "wxdemo0000000001"
AFTER = datetime(2026, 3, 5, 2, 0)  # the practice activity (2 March) has ended
IMG = re.compile(r'<img src="([^"]+)"')


@pytest.fixture
def city(app_lite):
    yield from practice_city(app_lite)


def server_ids(handle, n: int) -> list[str]:
    return [handle.sandbox.add_media(jpeg((20 * i, 100, 200)), "image/jpeg", jssdk=True, appid=DEMO)
            for i in range(n)]


def images(response) -> list[str]:
    return [src.replace("&amp;", "&") for src in IMG.findall(text(response))]


def set_place_photos(handle, client, place_id: int, outside, inside, keep=()):
    page = f"/m/admin/practice/places/{place_id}/photos?account=demo"
    return post(client, page, {"outside": outside, "inside": inside, "keep": list(keep)},
                "/m/practice/needs/new?account=demo")  # a form every person may open: its CSRF token


def test_place_photos_set_by_the_admin_show_on_the_place_page(city):
    handle, ids = city
    station = ids["places"]["station"]
    admin = client_for(handle, "o-community")
    for outside, inside, message in [
        ([], server_ids(handle, 3), "请上传一张外部全景图"),
        (server_ids(handle, 1), server_ids(handle, 1), "场所图片应为3至6张"),
        (["not/an/id"], server_ids(handle, 2), "外部全景图上传结果不正确"),
    ]:
        refused = set_place_photos(handle, admin, station, outside, inside)
        assert refused.status_code == 400 and message in text(refused), message
    with handle.app.app_context():
        assert PlacePhoto.query.count() == 0 and media.MediaItem.query.count() == 0
    stranger = client_for(handle, "o-sibling_street")  # an admin of another institute
    assert set_place_photos(handle, stranger, station, server_ids(handle, 1), server_ids(handle, 2)).status_code == 403

    done = set_place_photos(handle, admin, station, server_ids(handle, 1), server_ids(handle, 3))
    assert done.status_code == 302, text(done)
    resident = client_for(handle, "o-resident")  # anyone who opens the place
    assert images(resident.get(f"/m/practice/places/{station}?account=demo")) == []  # not fetched yet
    assert handle.drain_jobs()
    shown = images(resident.get(f"/m/practice/places/{station}?account=demo"))
    assert len(shown) == 4 and all("/m/practice/photos/place/" in src and "/thumb" in src for src in shown)
    thumb = resident.get(shown[0])
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    manage = text(admin.get(f"/m/admin/practice/places/{station}/photos?account=demo"))
    assert manage.count("已展示") == 4 and "外部全景图" in manage
    with handle.app.app_context():
        rows = PlacePhoto.query.order_by(PlacePhoto.id).all()
        assert [r.item.purpose for r in rows] == ["place_photo"] * 4 and sum(r.outside for r in rows) == 1
        kept = [r.id for r in rows[:3]]
    assert set_place_photos(handle, admin, station, [], [], keep=kept).status_code == 302  # one taken off
    assert len(images(resident.get(f"/m/practice/places/{station}?account=demo"))) == 3
    assert resident.get(shown[-1]).status_code == 404  # the photo taken off is no longer served
    # all unticked is refused (no outside view left) and the form comes back as sent: nothing ticked, not all ticked again
    refused = text(set_place_photos(handle, admin, station, [], [], keep=[]))
    assert "请上传一张外部全景图" in refused and 'name="keep"' in refused
    assert not re.search(r'name="keep" value="\d+" checked', refused)
    assert len(re.findall(r'name="keep" value="\d+" checked', text(admin.get(
        f"/m/admin/practice/places/{station}/photos?account=demo")))) == 3  # opened afresh: all kept


def test_a_needs_photo_is_seen_by_who_may_view_the_need(city):
    handle, ids = city
    resident = client_for(handle, "o-resident")
    code = sms_code(handle, resident, "13912345678")  # a refused form does not spend it

    def submit(photos):
        return post(resident, "/m/practice/needs/new?account=demo",
                    {**NEED, "place_id": ids["places"]["station"], "phone": "13912345678", "sms_code": code,
                     "server_ids": photos})

    for photos, message in ((["bad id!"], "照片上传结果不正确"), (server_ids(handle, 2), "照片最多1张")):
        refused = submit(photos)
        assert refused.status_code == 400 and message in text(refused), message
    with handle.app.app_context():
        assert Need.query.count() == 0 and media.MediaItem.query.count() == 0

    done = submit(server_ids(handle, 1))
    assert done.status_code == 302, text(done)
    need_id = int(re.search(r"/m/practice/needs/(\d+)", done.location).group(1))
    assert "照片正在保存" in text(resident.get(f"/m/practice/needs/{need_id}?account=demo"))
    assert handle.drain_jobs()
    shown = images(resident.get(f"/m/practice/needs/{need_id}?account=demo"))
    assert shown == [f"/m/practice/needs/{need_id}/photo/thumb?account=demo"]
    assert resident.get(shown[0]).status_code == 200
    admin = client_for(handle, "o-community")
    assert images(admin.get(f"/m/admin/practice/needs/{need_id}?account=demo")) == shown
    assert admin.get(f"/m/practice/needs/{need_id}/photo/file?account=demo").status_code == 200
    assert client_for(handle, "o-other").get(shown[0]).status_code == 404
    assert client_for(handle, "o-sibling_street").get(shown[0]).status_code == 404
    handle.app.config["CLOCK_NOW"] = NOW + timedelta(hours=2)  # another code may be sent
    plain = submit_need(handle, client_for(handle, "o-second"), ids["places"]["station"], phone="13912345679")
    assert plain.status_code == 302  # the photo is optional
    plain_id = int(re.search(r"/m/practice/needs/(\d+)", plain.location).group(1))
    assert client_for(handle, "o-second").get(f"/m/practice/needs/{plain_id}/photo/thumb?account=demo"
                                             ).status_code == 404


def practice_project(admin, place_id: int, name: str):
    fields = {"name": name, "short_name": name[:4], "recruit_count": 5, "category": "文明实践", "topic": TOPIC_PRACTICE,
              "region": "崇川区", "place": "百花社区活动室", "latitude": 32.021, "longitude": 120.871,
              "description": "讲座", "signup_start": date(2026, 3, 1), "signup_end": date(2026, 3, 2),
              "start_date": date(2026, 3, 2), "end_date": date(2026, 3, 2), "daily_start": time(9, 0),
              "daily_end": time(11, 0), "checkin_mode": "double", "punch_radius": 500, "checkout_mode": "central",
              "needs_review": False}
    project = practice_projects.publish(admin, fields, place_id=place_id, now=NOW, tz="Asia/Shanghai")
    return approved(project)


def approved(project):
    """确认审核 by the city's admin when the project went to review."""
    if project.status == PENDING:
        project_rules.review_project(Organization.query.filter_by(level=1).one().admins[0], project.id,
                                     now=NOW)
    assert project.status == APPROVED
    return project


def test_closure_photos_go_through_the_pipeline_and_show_to_the_admins(city):
    handle, ids = city
    with handle.app.app_context():
        project_id = practice_project(db.session.get(Volunteer, ids["admins"]["street"]),
                                      ids["places"]["institute"], "家庭教育讲座进社区").id
        db.session.commit()
    handle.app.config["CLOCK_NOW"] = AFTER
    admin = client_for(handle, "o-street")
    page = f"/m/admin/projects/{project_id}/closure?account=demo"
    summary = "本次讲座组织有序，志愿者认真负责，群众反响很好，达到预期效果。"
    refused = post(admin, page, {"summary": summary, "media_id": ["bad id!"]})
    assert refused.status_code == 400 and "照片上传结果不正确" in text(refused)
    refused = post(admin, page, {"summary": summary})
    assert refused.status_code == 400 and "至少需要一张活动现场照片" in text(refused)
    done = post(admin, page, {"summary": summary, "media_id": server_ids(handle, 2)})
    assert done.status_code == 302, text(done)
    assert handle.drain_jobs()
    shown = images(admin.get(page))
    assert len(shown) == 2 and all("/closure/photos/" in src for src in shown)
    assert admin.get(shown[0]).status_code == 200
    assert client_for(handle, "o-sibling_street").get(shown[0]).status_code == 403
    with handle.app.app_context():
        assert [p.item.purpose for p in ClosurePhoto.query] == ["closure_photo"] * 2
        assert {p.item.state for p in ClosurePhoto.query} == {media.STORED}


def test_the_centres_gallery_newest_first_a_page_at_a_time(city):
    handle, ids = city
    centre, station, institute = (ids["places"][k] for k in ("centre", "station", "institute"))
    # places: 3 at the centre, 6 at the institute, 6 at the station (in that order); another centre's 3
    for key, place_id, n in (("district", centre, 3), ("street", institute, 6), ("community", station, 6),
                             ("sibling_district", ids["places"]["other_centre"], 3)):
        made = set_place_photos(handle, client_for(handle, f"o-{key}"), place_id, server_ids(handle, 1),
                                server_ids(handle, n - 1))
        assert made.status_code == 302, text(made)
    with handle.app.app_context():
        street = db.session.get(Volunteer, ids["admins"]["street"])
        practice = practice_project(street, institute, "家庭教育讲座进社区")
        ordinary = approved(practice_projects.publish(street, {**_plain_fields(), "needs_review": False}, now=NOW,
                                                      tz="Asia/Shanghai"))
        taker = make_volunteer("拍照人")
        for project, state in ((practice, ph.APPROVED), (practice, ph.PENDING), (ordinary, ph.APPROVED)):
            item = media.receive("demo", server_ids(handle, 1)[0], ph.PHOTO, now=NOW)
            db.session.add(ph.ProjectPhoto(project_id=project.id, volunteer_id=taker.id, media_item_id=item.id,
                                           state=state, created_at=AFTER + timedelta(hours=1)))
        db.session.commit()
        practice_id = practice.id
    handle.app.config["CLOCK_NOW"] = AFTER
    done = post(client_for(handle, "o-street"), f"/m/admin/projects/{practice_id}/closure?account=demo",
                {"summary": "本次讲座组织有序，志愿者认真负责，群众反响很好，达到预期效果。", "media_id": server_ids(handle, 1)})
    assert done.status_code == 302, text(done)
    assert handle.drain_jobs()

    resident = client_for(handle, "o-resident")
    home = resident.get(f"/m/practice/centres/{centre}?account=demo")
    assert len(images(home)) == gallery.ON_HOME and "全部风采" in text(home)
    empty = text(resident.get(f"/m/practice/centres/{ids['places']['other_centre']}?account=demo"))
    assert "全部风采" in empty  # its own three photos only
    assert len(IMG.findall(empty)) == 3
    first = resident.get(f"/m/practice/centres/{centre}/gallery?account=demo")
    second = resident.get(f"/m/practice/centres/{centre}/gallery?page=2&account=demo")
    assert first.status_code == second.status_code == 200
    one, two = images(first), images(second)
    assert len(one) == gallery.PER_PAGE and len(two) == 3 + 6 + 6 + 1 - gallery.PER_PAGE
    assert "更多照片" in text(first) and "更多照片" not in text(second)
    kinds = [re.search(r"/m/practice/photos/(\w+)/", src).group(1) for src in one + two]
    # newest first: the 随手拍 (an hour after AFTER), then the places' photos (NOW, station last); the 结项's
    # photo is not published without the platform's review (part 2 §三.19)
    assert kinds[:1] == ["snap"] and set(kinds[1:]) == {"place"}
    with handle.app.app_context():
        other = {p.id for p in PlacePhoto.query.filter_by(place_id=ids["places"]["other_centre"])}
    assert not any(f"/place/{i}/" in src for i in other for src in one + two)
    assert all(resident.get(src).status_code == 200 for src in one[:3])
    assert resident.get("/m/practice/photos/snap/999999/thumb?account=demo").status_code == 404
    with handle.app.app_context():  # the pending 随手拍 and the ordinary project's one are not in any 风采
        hidden = [p.id for p in ph.ProjectPhoto.query.order_by(ph.ProjectPhoto.id)][1:]
    for photo_id in hidden:
        assert resident.get(f"/m/practice/photos/snap/{photo_id}/thumb?account=demo").status_code == 404


def _plain_fields():
    return {"name": "普通活动", "short_name": "普通", "recruit_count": 5, "category": "文明实践", "topic": None,
            "region": "崇川区", "place": "百花社区活动室", "latitude": 32.021, "longitude": 120.871,
            "description": "讲座", "signup_start": date(2026, 3, 1), "signup_end": date(2026, 3, 2),
            "start_date": date(2026, 3, 2), "end_date": date(2026, 3, 2), "daily_start": time(9, 0),
            "daily_end": time(11, 0), "checkin_mode": "double", "punch_radius": 500, "checkout_mode": "central"}

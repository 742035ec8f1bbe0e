"""Project pages through the Flask test client, and the capacity race with real concurrent requests."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from models import Notification, OrgAdmin, Volunteer, db, project_rules, utcnow
from models import project as pr
from models import signup as su
from models.membership import approve_members, join_org
from tests.support.orgs import bind_admins, build_tree, make_volunteer
from tests.support.people import csrf_token, sign_in, text
from tests.support.people import post_form as post
from tests.support.projects import fields, typed
from tests.support.settings import override


def live_fields(**overrides) -> dict:
    """Fields relative to the real clock (pages use utcnow)."""
    today = (utcnow() + timedelta(hours=8)).date()
    dates = {"signup_start": today.isoformat(), "signup_end": (today + timedelta(days=6)).isoformat(),
             "start_date": (today + timedelta(days=7)).isoformat(), "end_date": (today + timedelta(days=8)).isoformat()}
    return fields(**{**dates, **overrides})


@pytest.fixture
def city(app_lite):
    with app_lite.app.app_context():
        orgs, admins = build_tree(now=utcnow())
        bind_admins(admins)
        person = make_volunteer("王小明", account="demo", openid="o-person")
        db.session.commit()
        ids = {key: org.id for key, org in orgs.items()}
        person_id = person.id
    return app_lite, ids, person_id


def test_publish_page_then_review_then_list_and_detail(city):
    handle, ids, person_id = city
    admin = sign_in(handle.client(), "o-street")
    page = text(admin.get("/m/admin/publish"))
    assert "项目发布" in page and "和平桥街道志愿服务支队" in page and "环保绿化" in page
    bad = post(admin, "/m/admin/publish", {**live_fields(short_name="太长的项目简称超过十个字"), "service_targets": "社会公众"},
               "/m/admin/publish")
    assert bad.status_code == 400 and "10个字以内" in text(bad)
    response = post(admin, "/m/admin/publish", {**live_fields(name="滨江公园清洁行动"), "service_targets": "社会公众"},
                    "/m/admin/publish")
    assert response.status_code == 302
    with handle.app.app_context():
        project = pr.Project.query.filter_by(name="滨江公园清洁行动").one()
        project_id, status = project.id, project.status
    assert status == "pending"  # a level-3 org waits for review
    person = sign_in(handle.client(), "o-person")
    assert "滨江公园清洁行动" not in text(person.get("/m/projects"))
    assert person.get(f"/m/projects/{project_id}").status_code == 404
    district = sign_in(handle.client(), "o-district")
    assert "滨江公园清洁行动" in text(district.get("/m/admin/reviews"))
    assert "滨江公园清洁行动" not in text(sign_in(handle.client(), "o-sibling_district").get("/m/admin/reviews"))
    post(district, f"/m/admin/reviews/{project_id}", {"decision": "approve"}, "/m/admin/reviews")
    listing = text(person.get("/m/projects?keyword=清洁"))
    assert "滨江公园清洁行动" in listing and "共 1 个项目" in listing
    assert "共 0 个项目" in text(person.get("/m/projects?keyword=清洁&region=海门区"))
    detail = text(person.get(f"/m/projects/{project_id}"))
    for label in ("计划招募", "报名", "参与", "关注", "实施地点", "服务类别", "签到方式", "我要参加", "活动交流"):
        assert label in detail, label
    # the org's page lists it
    assert "滨江公园清洁行动" in text(person.get(f"/m/orgs/{ids['street']}"))
    with handle.app.app_context():
        assert Notification.query.filter_by(kind="project_review_result").count() == 1


def test_signup_review_cancel_follow_comment_and_my_activities(city):
    handle, ids, person_id = city
    with handle.app.app_context():
        admin = db.session.get(Volunteer, db.session.scalar(db.select(OrgAdmin.volunteer_id)
                                                               .where(OrgAdmin.org_id == ids["district"])))
        project = project_rules.publish_project(admin, typed(live_fields(recruit_count=1)), now=utcnow())
        db.session.commit()
        project_id = project.id
    person = sign_in(handle.client(), "o-person")
    detail = f"/m/projects/{project_id}"
    post(person, f"{detail}/signup", {}, detail)
    assert "待录取" in text(person.get(detail))
    assert "滨江公园" in text(person.get("/m/me/activities?tab=waiting"))
    post(person, f"{detail}/follow", {"on": "1"}, detail)
    post(person, f"{detail}/comments", {"body": "期待参加！"}, detail)
    page = text(person.get(detail))
    assert "取消关注" in page and "期待参加！" in page and "王*明" in page
    admin_client = sign_in(handle.client(), "o-district")
    pending = text(admin_client.get("/m/admin/signups"))
    assert "待录用1" in pending
    with handle.app.app_context():
        signup_id = su.signup_of(person_id, project_id).id
    review = f"/m/admin/signups/{project_id}"
    assert "王*明" in text(admin_client.get(review)) and "王小明" not in text(admin_client.get(review))
    summary = text(admin_client.get(f"{review}/volunteers/{person_id}"))
    assert "参与项目次数" in summary and "服务总时长" in summary
    post(admin_client, review, {"action": "approve", "sid": str(signup_id)}, review)
    assert "已录取" in text(person.get(detail)) and "王*明" in text(person.get(detail))
    assert "报名人数已满" in text(sign_in(handle.client(), "o-community").get(detail))
    assert "滨江公园" in text(person.get("/m/me/activities?tab=current"))
    post(admin_client, review, {"action": "cancel", "sid": str(signup_id), "reason": "人员调整"}, review + "?tab=accepted")
    with handle.app.app_context():
        kinds = [n.kind for n in Notification.query.filter_by(volunteer_id=person_id).order_by(Notification.id)]
    assert kinds == ["signup_accepted", "signup_cancelled"]
    # a stranger may not review
    assert sign_in(handle.client(), "o-sibling_street").get(review).status_code == 403
    # the volunteer signs up again and cancels from 我的活动
    post(person, f"{detail}/signup", {}, detail)
    post(person, f"{detail}/cancel", {"back": "mine"}, "/m/me/activities?tab=waiting")
    assert "已取消报名" in text(person.get("/m/me/activities"))


def test_invite_page_by_name(city):
    handle, ids, person_id = city
    with handle.app.app_context():
        admin_id = db.session.scalar(db.select(OrgAdmin.volunteer_id).where(OrgAdmin.org_id == ids["district"]))
        admin = db.session.get(Volunteer, admin_id)
        person = db.session.get(Volunteer, person_id)
        join_org(person, ids["district"], now=utcnow())
        approve_members(admin, ids["district"], [person_id], now=utcnow())
        project = project_rules.publish_project(admin, typed(live_fields()), now=utcnow())
        db.session.commit()
        project_id = project.id
    client = sign_in(handle.client(), "o-district")
    invite = f"/m/admin/projects/{project_id}/invite"
    assert "请输入成员姓名" in text(client.get(invite + "?q="))
    assert "王小明" in text(client.get(invite + "?q=小明"))
    response = post(client, invite, {"vid": str(person_id)}, invite)
    assert response.status_code == 302
    assert "已录用 1 人" in text(client.get(invite))
    with handle.app.app_context():
        assert su.signup_of(person_id, project_id).state == "accepted"
        assert Notification.query.filter_by(volunteer_id=person_id, kind="signup_invited").count() == 1
    listing = text(client.get("/m/admin/projects"))
    assert "滨江公园" in listing and "参与成员" in listing and "招募" in listing


def test_temp_admin_reviews_signups_on_their_project_only(city):
    handle, ids, person_id = city
    with handle.app.app_context():
        admin_id = db.session.scalar(db.select(OrgAdmin.volunteer_id).where(OrgAdmin.org_id == ids["district"]))
        admin = db.session.get(Volunteer, admin_id)
        helper = make_volunteer("临时管理员", account="demo", openid="o-helper")
        mine = project_rules.publish_project(admin, typed(live_fields(temp_admin_id_numbers=helper.id_number)), now=utcnow())
        other = project_rules.publish_project(admin, typed(live_fields(name="另一个项目")), now=utcnow())
        db.session.commit()
        mine_id, other_id = mine.id, other.id
    client = sign_in(handle.client(), "o-helper")
    listing = text(client.get("/m/admin/signups"))
    assert "滨江公园" in listing and "另一个项目" not in listing
    assert client.get(f"/m/admin/signups/{mine_id}").status_code == 200
    assert client.get(f"/m/admin/signups/{other_id}").status_code == 403
    assert client.get(f"/m/admin/projects/{mine_id}/invite").status_code == 403
    assert client.get("/m/admin/publish").status_code == 403


def test_bad_input_is_a_4xx(city):
    handle, _, _ = city
    client = sign_in(handle.client(), "o-person")
    assert client.get("/m/projects/999999").status_code == 404
    assert client.get("/m/projects?page=abc&sort=bogus&phase=x&lat=abc&lng=1").status_code == 200
    assert client.get("/m/admin/publish").status_code == 403


# ------------------------------------------------------------------------- the capacity race
def test_200_concurrent_signups_for_10_places_accept_exactly_10(app_pg):
    app = app_pg.app
    with app.app_context():
        orgs, admins = build_tree(now=utcnow())
        project = project_rules.publish_project(admins["district"], typed(live_fields(recruit_count=10, needs_review="0")), now=utcnow())
        people = [make_volunteer(f"抢报{i}", account="demo", openid=f"o-race-{i}") for i in range(200)]
        db.session.commit()
        project_id = project.id
        openids = [f"o-race-{i}" for i in range(200)]
    clients = []
    for openid in openids:
        client = sign_in(app.test_client(), openid)
        clients.append((client, csrf_token(client, f"/m/projects/{project_id}")))
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = []

    def go(client, token):
        barrier.wait()
        response = client.post(f"/m/projects/{project_id}/signup", data={"csrf_token": token})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=go, args=pair) for pair in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(statuses) == 200 and set(statuses) == {302}
    with app.app_context():
        accepted = su.Signup.query.filter_by(project_id=project_id, state="accepted").count()
        assert accepted == 10
        assert db.session.get(pr.Project, project_id).accepted_count == 10
        assert su.Signup.query.filter_by(project_id=project_id).count() == 10  # the refused left no row
        assert Notification.query.filter_by(kind="signup_accepted").count() == 10
        del people


def test_edit_page_time_change_goes_back_to_review_and_delete(city):
    handle, ids, _ = city
    with handle.app.app_context():
        admin_id = db.session.scalar(db.select(OrgAdmin.volunteer_id).where(OrgAdmin.org_id == ids["street"]))
        project = project_rules.publish_project(db.session.get(Volunteer, admin_id), typed(live_fields()), now=utcnow())
        project.status = pr.APPROVED
        db.session.commit()
        project_id, end = project.id, project.end_date
    client = sign_in(handle.client(), "o-street")
    edit = f"/m/admin/projects/{project_id}/edit"
    form = text(client.get(edit))
    assert "保存修改" in form and "滨江公园北门" in form and "发布后不可修改" in form
    data = {**live_fields(end_date=(end + timedelta(days=1)).isoformat()), "service_targets": "社会公众"}
    assert post(client, edit, data, edit).status_code == 302
    with handle.app.app_context():
        assert db.session.get(pr.Project, project_id).status == pr.PENDING
    bad = post(client, edit, {**data, "checkin_mode": "single", "preset_hours": "2"}, edit)
    assert bad.status_code == 409 and "不可互换" in text(bad)
    post(client, f"/m/admin/projects/{project_id}/delete", {}, "/m/admin/projects")
    with handle.app.app_context():
        assert db.session.get(pr.Project, project_id).status == pr.DELETED


def test_restricted_topics_follow_the_configuration(city, monkeypatch):
    handle, _, _ = city
    admin = sign_in(handle.client(), "o-street")
    assert "文明交通周周行" not in text(admin.get("/m/admin/publish"))   # the built-in list names other orgs
    refused = post(admin, "/m/admin/publish", {**live_fields(topic="文明交通周周行"), "service_targets": "社会公众"},
                   "/m/admin/publish")
    assert refused.status_code == 400
    override(handle.app, monkeypatch, "projects", topic_orgs={"文明交通周周行": ["和平桥街道志愿服务支队"]})
    assert "文明交通周周行" in text(admin.get("/m/admin/publish"))
    accepted = post(admin, "/m/admin/publish",
                    {**live_fields(topic="文明交通周周行", name="路口文明劝导"), "service_targets": "社会公众"},
                    "/m/admin/publish")
    assert accepted.status_code == 302


def test_a_refused_form_field_is_a_400_with_its_message(city):
    handle, _ids, _person = city
    admin = sign_in(handle.client(), "o-street")
    refused = post(admin, "/m/admin/publish", {**live_fields(recruit_count="十个"), "service_targets": "社会公众"},
                   "/m/admin/publish")
    assert refused.status_code == 400 and "招募人数应为正整数。" in text(refused)
    refused = post(admin, "/m/admin/publish", {**live_fields(daily_start="九点"), "service_targets": "社会公众"},
                   "/m/admin/publish")
    assert refused.status_code == 400 and "请正确填写每日计时开始时间。" in text(refused)


def test_the_publish_page_states_the_rules_from_their_constants(city):
    handle, _ids, _person = city
    page = text(sign_in(handle.client(), "o-street").get("/m/admin/publish"))
    assert f"最多{pr.MAX_TEMP_ADMINS}人" in page and f"{pr.SHORT_NAME_MAX}个字内" in page

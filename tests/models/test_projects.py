"""Project rules with an injected ``now``: fields, phases, review routing, editing, revoking, deleting,
temporary admins, search; signup rules, waitlist, invitations, reminders."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import select

from models import Notification, RuleViolation, Volunteer, db, project_rules
from models import project as pr
from models import signup as su
from models.membership import add_to_group, approve_members, create_group, join_org
from models.org_rules import set_review_exempt
from models.positions import Position
from tests.support.orgs import NOW, build_tree, make_volunteer
from tests.support.projects import publish, single_fields, typed


@pytest.fixture
def tree(app_lite):
    with app_lite.app.app_context():
        orgs, admins = build_tree()
        yield orgs, admins
        db.session.rollback()


def violation(func, *args, **kwargs) -> RuleViolation:
    with pytest.raises(RuleViolation) as info:
        func(*args, **kwargs)
    return info.value


def kinds_to(volunteer_id) -> list[str]:
    """The project notifications a volunteer got (joining the org notifies too, not counted here)."""
    return [n.kind for n in Notification.query.filter_by(volunteer_id=volunteer_id).order_by(Notification.id)
            if n.kind != "join_result"]


# ------------------------------------------------------------------------------- fields
def test_fields_are_checked(tree):
    _, admins = tree
    actor = admins["street"]
    cases = {
        "short_name_invalid": {"short_name": "滨江，环保"},
        "project_field_missing": {"name": ""},
        "category_invalid": {"category": "打麻将"},
        "checkin_mode_invalid": {"checkin_mode": "triple"},
        "preset_hours_invalid": {"checkin_mode": "single", "preset_hours": "3.5"},
        "punch_radius_invalid": {"punch_radius": ""},
        "daily_window_invalid": {"daily_start": "12:00", "daily_end": "11:00"},
        "activity_dates_invalid": {"start_date": "2026-02-01", "end_date": "2026-02-02", "signup_start": "2026-01-01",
                                   "signup_end": "2026-01-02"},
        "signup_window_invalid": {"signup_end": "2026-03-20"},
        "too_many_temp_admins": {"temp_admin_id_numbers": ";".join(f"3206021990010100{i:02d}" for i in range(7))},
        "topic_not_allowed": {"topic": pr.TOPIC_TRAFFIC},
    }
    for code, override in cases.items():
        assert violation(publish, actor, **override).code == code, code
    assert len(short := "一二三四五六七八九十") == 10 and publish(actor, short_name=short).short_name == short
    assert publish(actor, topic=pr.TOPIC_PRACTICE).topic == pr.TOPIC_PRACTICE


def test_twenty_categories_and_restricted_topics(tree):
    orgs, _ = tree
    assert len(pr.CATEGORIES) == 20 and len(set(pr.CATEGORIES)) == 20
    assert project_rules.allowed_topics(orgs["street"]) == [pr.TOPIC_PRACTICE]
    orgs["street"].name = "站台文明交通志愿服务队"
    assert project_rules.allowed_topics(orgs["street"]) == [pr.TOPIC_TRAFFIC, pr.TOPIC_PRACTICE]
    assert project_rules.allowed_topics(orgs["street"], {pr.TOPIC_TODAY: ["站台文明交通志愿服务队"]}) == list(pr.TOPICS)


def test_single_mode_keeps_preset_hours_and_first_site(tree):
    _, admins = tree
    project = project_rules.publish_project(admins["street"], typed(single_fields(punch_radius="300")), now=NOW)
    assert project.checkin_mode == "single" and project.preset_hours == 2 and project.punch_radius is None
    assert [(s.latitude, s.longitude) for s in project.sites] == [(32.01, 120.86)]
    assert project.starts_at == datetime(2026, 3, 8, 1, 0) and project.ends_at == datetime(2026, 3, 9, 3, 30)


def test_temp_admins_by_id_number_get_project_powers_only(tree):
    orgs, admins = tree
    helper, stranger = make_volunteer("临时甲"), make_volunteer("路人")
    project = publish(admins["street"], temp_admin_id_numbers=f"{helper.id_number}；")
    other = publish(admins["street"])
    assert project.temp_admin_ids == [helper.id]
    for action in ("review_signups", "locate_project", "scan_assist"):
        assert pr.can_manage_project(helper, project, action, now=NOW)
        assert not pr.can_manage_project(helper, other, action, now=NOW)
        assert not pr.can_manage_project(stranger, project, action, now=NOW)
        assert pr.can_manage_project(admins["district"], project, action, now=NOW)
        assert not pr.can_manage_project(admins["sibling_street"], project, action, now=NOW)
    for action in ("invite_volunteers", "edit_project", "delete_project", "review_project", "revoke_project"):
        assert not pr.can_manage_project(helper, project, action, now=NOW)
    assert su.signup_of(helper.id, project.id) is None  # not signed up automatically
    site = project_rules.add_site(helper, project.id, 32.02, 120.87, "南门", now=NOW)
    assert [s.label for s in project.sites] == ["滨江公园北门", "南门"] and site.created_by_id == helper.id
    assert violation(project_rules.add_site, stranger, project.id, 32, 120, now=NOW).code == "forbidden"
    assert violation(publish, admins["street"], temp_admin_id_numbers="320602199912319999").code == \
        "temp_admin_not_found"


# ------------------------------------------------------------------------------- phases
def test_phase_is_derived_from_now(tree):
    _, admins = tree
    project = publish(admins["street"], start_date="2026-03-08", end_date="2026-03-09", signup_end="2026-03-09")
    at = lambda y, mo, d, h, mi=0: datetime(y, mo, d, h, mi) - timedelta(hours=8)  # noqa: E731  local → UTC
    assert project.phase(at(2026, 3, 8, 8, 59)) == pr.RECRUITING
    assert project.phase(at(2026, 3, 8, 9, 0)) == pr.RUNNING
    assert project.phase(at(2026, 3, 9, 11, 30)) == pr.RUNNING
    assert project.phase(at(2026, 3, 9, 11, 31)) == pr.FINISHED
    assert project.phase_label(at(2026, 3, 9, 12)) == "完成"
    # the signup window may overlap the activity
    assert project.signup_open(at(2026, 3, 9, 10)) and not project.signup_open(at(2026, 3, 9, 12))
    assert not project.signup_open(at(2026, 2, 28, 23, 59)) and project.signup_open(at(2026, 3, 1, 0, 0))
    assert "phase" not in pr.Project.__table__.c


# ------------------------------------------------------------------------------- review routing
@pytest.mark.parametrize(("org", "exempt", "status"), [
    ("root", False, "approved"), ("district", False, "approved"), ("street", False, "pending"),
    ("community", False, "pending"), ("street", True, "approved"), ("community", True, "approved"),
])
def test_review_routing_by_level_and_exemption(tree, org, exempt, status):
    orgs, admins = tree
    if exempt:
        set_review_exempt(admins["district"], orgs[org].id, True, now=NOW)
    assert publish(admins[org]).status == status


def test_review_by_an_ancestor_and_delete_with_reason(tree):
    orgs, admins = tree
    project, second = publish(admins["community"]), publish(admins["community"])
    assert pr.pending_reviews_for(admins["street"]) == [project, second]
    assert pr.pending_reviews_for(admins["community"]) == []
    for who in ("community", "sibling_street"):
        assert violation(project_rules.review_project, admins[who], project.id, now=NOW).code == "forbidden"
    project_rules.review_project(admins["root"], project.id, now=NOW)
    assert project.status == "approved" and project.reviewed_by_id == admins["root"].id
    assert violation(project_rules.review_project, admins["street"], project.id, now=NOW).code == "project_not_pending"
    assert violation(project_rules.reject_project, admins["street"], second.id, "", now=NOW).code == "reason_missing"
    project_rules.reject_project(admins["street"], second.id, "时间设置不合理", now=NOW)
    assert second.status == "deleted" and second.delete_reason == "时间设置不合理"
    assert violation(pr.get_project, second.id).status == 404
    notes = Notification.query.filter_by(volunteer_id=admins["community"].id, kind="project_review_result").all()
    assert sorted(n.data["result"] for n in notes) == ["未通过", "通过"]


def test_revoke_by_publisher_or_ancestor(tree):
    orgs, admins = tree
    project = publish(admins["district"])
    assert project.status == "approved"
    for who in ("street", "sibling_district"):
        assert violation(project_rules.revoke_project, admins[who], project.id, now=NOW).code == "forbidden"
    project_rules.revoke_project(admins["root"], project.id, now=NOW, reason="暂停")
    assert project.status == "pending" and project.revoked_at == NOW
    assert violation(project_rules.revoke_project, admins["root"], project.id, now=NOW).code == "project_not_approved"
    # saving it again routes it again: a level-2 org is approved at once
    project_rules.edit_project(admins["district"], project.id, typed({"place": "滨江公园南门"}, partial=True), now=NOW)
    assert project.status == "approved"
    project_rules.revoke_project(admins["district"], project.id, now=NOW)  # its publisher
    assert project.status == "pending"


# ------------------------------------------------------------------------------- editing
def test_time_edit_sends_an_approved_project_back_to_review(tree):
    orgs, admins = tree
    project = publish(admins["street"])
    project_rules.review_project(admins["district"], project.id, now=NOW)
    project_rules.edit_project(admins["street"], project.id, typed({"place": "新地点", "recruit_count": "12"}, partial=True), now=NOW)
    assert project.status == "approved" and project.place == "新地点"
    project_rules.edit_project(admins["street"], project.id, typed({"end_date": "2026-03-10"}, partial=True), now=NOW)
    assert project.status == "pending" and project.ends_at == datetime(2026, 3, 10, 3, 30)


def test_edit_rules_after_start_and_after_the_end(tree):
    _, admins = tree
    project = publish(admins["district"])
    running = project.starts_at + timedelta(hours=1)
    finished = project.ends_at + timedelta(minutes=1)
    assert violation(project_rules.edit_project, admins["district"], project.id, typed({"checkin_mode": "single"}, partial=True),
                     now=NOW).code == "checkin_mode_fixed"
    assert violation(project_rules.edit_project, admins["district"], project.id, typed({"daily_start": "08:00"}, partial=True),
                     now=running).code == "daily_window_fixed"
    project_rules.edit_project(admins["district"], project.id, typed({"daily_start": "09:00", "place": "东门"}, partial=True), now=running)
    assert project.daily_start == time(9, 0) and project.place == "东门"
    project_rules.edit_project(admins["district"], project.id, typed({"daily_start": "08:00"}, partial=True), now=NOW)  # before the start: fine
    assert violation(project_rules.edit_project, admins["district"], project.id, typed({"place": "西门"}, partial=True),
                     now=finished).code == "project_finished"
    assert violation(project_rules.edit_project, admins["street"], project.id, typed({"place": "西门"}, partial=True), now=NOW).code == "forbidden"


def test_a_project_with_a_checkin_cannot_be_deleted(tree):
    _, admins = tree
    project, other = publish(admins["street"]), publish(admins["street"])
    project.first_checkin_at = NOW
    assert violation(project_rules.delete_project, admins["street"], project.id, now=NOW).code == "project_has_checkins"
    project_rules.delete_project(admins["district"], other.id, now=NOW)
    assert other.status == "deleted"


# ------------------------------------------------------------------------------- search
def test_search_filters_and_sorts(tree):
    orgs, admins = tree
    near = publish(admins["district"], name="社区敬老助老服务", category="敬老助老", latitude=32.0, longitude=120.9,
                   start_date="2026-03-10", end_date="2026-03-10", signup_end="2026-03-09")
    far = publish(admins["district"], name="海门环保行动", region="海门区", latitude=31.9, longitude=121.2,
                  start_date="2026-03-05", end_date="2026-03-05", signup_end="2026-03-04")
    publish(admins["street"], name="未审核的项目")  # pending: never listed
    search = lambda **kw: [p.id for p in pr.search_projects(now=NOW, **kw).items]  # noqa: E731
    assert search() == [far.id, near.id]
    assert search(keyword="敬老") == [near.id]
    assert search(region="海门区") == [far.id]
    assert search(category="敬老助老") == [near.id]
    assert search(sort="soonest") == [far.id, near.id]
    assert search(sort="nearest", position=Position(32.0, 120.9)) == [near.id, far.id]
    assert search(sort="nearest", position=Position(31.9, 121.2)) == [far.id, near.id]
    assert search(phase="recruiting") == [far.id, near.id]
    assert search(phase="running") == []
    assert [p.id for p in pr.search_projects(now=far.starts_at, phase="running").items] == [far.id]
    assert search(org_id=orgs["district"].id) == [far.id, near.id]
    assert search(org_id=orgs["sibling_district"].id) == []
    assert search(keyword="100%") == []


# ------------------------------------------------------------------------------- signup
def test_signup_rules(tree):
    orgs, admins = tree
    project = publish(admins["district"], recruit_count=2, scope="members")
    person, member = make_volunteer("路人"), make_volunteer("成员")
    join_org(member, orgs["district"].id, now=NOW)
    approve_members(admins["district"], orgs["district"].id, [member.id], now=NOW)
    assert violation(su.sign_up, person, project.id, now=NOW).code == "members_only"
    signup = su.sign_up(member, project.id, now=NOW)
    assert signup.state == "pending"
    assert violation(su.sign_up, member, project.id, now=NOW).code == "already_signed_up"
    early = NOW - timedelta(days=1)
    open_project = publish(admins["district"])
    assert violation(su.sign_up, person, open_project.id, now=early).code == "signup_closed"
    late = open_project.signup_closes_at + timedelta(seconds=1)
    assert violation(su.sign_up, person, open_project.id, now=late).code == "signup_closed"
    pending = publish(admins["street"])
    assert violation(su.sign_up, person, pending.id, now=NOW).code == "project_not_open"


def test_no_review_accepts_at_once_until_full_then_waitlist_and_promotion(tree):
    _, admins = tree
    project = publish(admins["district"], recruit_count=2, needs_review="0")
    a, b, c, d = (make_volunteer(n) for n in ("甲", "乙", "丙", "丁"))
    assert su.sign_up(a, project.id, now=NOW).state == "accepted"
    assert su.sign_up(b, project.id, now=NOW).state == "accepted"
    assert violation(su.sign_up, c, project.id, now=NOW).code == "project_full"
    assert su.sign_up(c, project.id, now=NOW, waitlist=True).state == "waitlisted"
    assert su.sign_up(d, project.id, now=NOW + timedelta(minutes=1), waitlist=True).state == "waitlisted"
    assert kinds_to(a.id) == ["signup_accepted"]
    su.cancel_signup(a, project.id, now=NOW)
    assert su.signup_of(c.id, project.id).state == "accepted" and su.signup_of(d.id, project.id).state == "waitlisted"
    assert kinds_to(c.id) == ["signup_promoted"]
    db.session.refresh(project)
    assert project.accepted_count == 2
    # the admin cancels one: the next waitlisted is promoted
    b_signup = su.signup_of(b.id, project.id)
    su.cancel_accepted(admins["district"], project.id, [b_signup.id], now=NOW, reason="人员调整")
    assert kinds_to(b.id) == ["signup_accepted", "signup_cancelled"]
    assert su.signup_of(d.id, project.id).state == "accepted"
    # cancelling is refused after the first check-in
    c_signup = su.signup_of(c.id, project.id)
    c_signup.first_checkin_at = NOW
    assert violation(su.cancel_signup, c, project.id, now=NOW).code == "already_checked_in"
    # a volunteer who cancelled may sign up again (and waits, the places being taken)
    assert su.sign_up(a, project.id, now=NOW, waitlist=True).state == "waitlisted"


def test_review_approve_reject_batch_respects_capacity(tree):
    _, admins = tree
    helper = make_volunteer("临时管理员")
    project = publish(admins["district"], recruit_count=2, temp_admin_id_numbers=helper.id_number)
    people = [make_volunteer(f"报名{i}") for i in range(4)]
    signups = [su.sign_up(p, project.id, now=NOW + timedelta(minutes=i)) for i, p in enumerate(people)]
    assert su.counts(project)["pending"] == 4
    outsider = make_volunteer("外人")
    assert violation(su.approve_signups, outsider, project.id, [signups[0].id], now=NOW).code == "forbidden"
    assert su.approve_signups(helper, project.id, [s.id for s in signups[:3]], now=NOW) == 2
    assert [su.signup_of(p.id, project.id).state for p in people] == ["accepted", "accepted", "pending", "pending"]
    assert violation(su.approve_signups, helper, project.id, [signups[2].id], now=NOW).code == "project_full"
    assert su.reject_signups(helper, project.id, [signups[2].id], now=NOW, reason="人数已满") == 1
    assert kinds_to(people[2].id) == ["signup_rejected"]
    assert violation(su.sign_up, people[2], project.id, now=NOW).code == "signup_rejected"
    assert su.counts(project) | {} == {"planned": 2, "signed_up": 3, "accepted": 2, "pending": 1, "waitlisted": 0,
                                       "participated": 0}
    assert [v.id for v in su.accepted_volunteers(project.id)] == [people[0].id, people[1].id]


def test_invite_by_name_builtin_and_custom_group(tree):
    orgs, admins = tree
    org = orgs["district"]
    members = [make_volunteer(n) for n in ("王一", "王二", "李三", "赵四")]
    for m in members:
        join_org(m, org.id, now=NOW)
    approve_members(admins["district"], org.id, [m.id for m in members], now=NOW)
    project = publish(admins["district"], recruit_count=3)
    assert violation(su.search_members, admins["district"], project.id, " ", now=NOW).code == "name_required"
    assert [v.name for v in su.search_members(admins["district"], project.id, "王", now=NOW)] == ["王一", "王二"]
    assert su.invite(admins["district"], project.id, [members[0].id], now=NOW)["accepted"] == 1
    assert kinds_to(members[0].id) == ["signup_invited"]
    group = create_group(admins["district"], org.id, "环保小组", now=NOW)
    add_to_group(admins["district"], group.id, [members[0].id, members[1].id], now=NOW)
    assert su.invite_group(admins["district"], project.id, str(group.id), now=NOW) == \
        {"accepted": 1, "already": 1, "full": 0}
    # built-in 历史无时长成员: every member until attendance exists; one place left
    result = su.invite_group(admins["district"], project.id, "no_hours_ever", now=NOW)
    assert result["accepted"] == 1 and result["full"] == 1
    db.session.refresh(project)
    assert project.accepted_count == 3
    stranger = make_volunteer("非成员")
    assert violation(su.invite, admins["district"], project.id, [stranger.id], now=NOW).code == "not_member"
    helper_project = publish(admins["district"], temp_admin_id_numbers=stranger.id_number)
    assert violation(su.invite, stranger, helper_project.id, [members[0].id], now=NOW).code == "forbidden"


def test_my_activities(tree):
    _, admins = tree
    person = make_volunteer("我")
    soon = publish(admins["district"], needs_review="0")
    waiting = publish(admins["district"])
    su.sign_up(person, soon.id, now=NOW)
    su.sign_up(person, waiting.id, now=NOW)
    mine = su.my_activities(person.id, now=NOW)
    assert [s.project_id for s in mine["current"]] == [soon.id]
    assert [s.project_id for s in mine["waiting"]] == [waiting.id]
    later = su.my_activities(person.id, now=soon.ends_at + timedelta(hours=1))
    assert [s.project_id for s in later["done"]] == [soon.id]


def test_reminders_an_hour_before_each_day_never_twice(tree):
    _, admins = tree
    project = publish(admins["district"], needs_review="0", start_date="2026-03-08", end_date="2026-03-09",
                      signup_end="2026-03-07")
    a, b = make_volunteer("甲"), make_volunteer("乙")
    su.sign_up(a, project.id, now=NOW)
    su.sign_up(b, project.id, now=NOW)
    su.cancel_signup(b, project.id, now=NOW)
    day1_open = datetime(2026, 3, 8, 1, 0)  # 09:00 local
    assert su.send_due_reminders(now=day1_open - timedelta(minutes=61)) == 0
    assert su.send_due_reminders(now=day1_open - timedelta(minutes=59)) == 1
    assert su.send_due_reminders(now=day1_open - timedelta(minutes=5)) == 0
    assert su.send_due_reminders(now=day1_open) == 0
    assert su.send_due_reminders(now=day1_open + timedelta(days=1, minutes=-30)) == 1
    assert su.send_due_reminders(now=day1_open + timedelta(days=2, minutes=-30)) == 0  # after the last day
    assert kinds_to(a.id) == ["signup_accepted", "activity_reminder", "activity_reminder"]
    assert kinds_to(b.id) == ["signup_accepted"]
    assert su.ActivityReminder.query.count() == 2


def test_closure_reminders_the_day_before_and_one_and_seven_days_after_until_it_is_closed(tree):
    """结项 reminders (manual part 2 §三.19) go to the admins of the project's org, each stage once; a
    closed project gets none."""
    from models.closure import close_project, remind_closures
    from models.organization import OrgAdmin

    _, admins = tree
    dates = {"start_date": "2026-03-08", "end_date": "2026-03-09", "signup_end": "2026-03-07", "needs_review": "0"}
    open_one, closed_one = publish(admins["district"], **dates), publish(admins["district"], **dates)
    ends = open_one.ends_at
    org_admins = set(db.session.scalars(select(OrgAdmin.volunteer_id).where(OrgAdmin.org_id == open_one.org_id)))
    assert org_admins  # the district's admins
    # 结项 of the second one, once it has ended (a summary of 20 characters and a photo)
    close_project(admins["district"], closed_one.id, "劝导行人文明过马路，志愿者们认真负责，市民纷纷点赞。", ["M1"],
                  account="demo", now=ends + timedelta(hours=1))

    def reminded(now):
        remind_closures(now)
        return [(n.volunteer_id, n.link, n.data["note"]) for n in
                Notification.query.filter_by(kind="closure_reminder").order_by(Notification.id)]

    assert reminded(ends - timedelta(days=1, minutes=1)) == []  # more than a day before the end
    before = reminded(ends - timedelta(hours=20))
    assert {v for v, _, _ in before} == org_admins and all("明天结束" in note for _, _, note in before)
    link = f"/m/admin/projects/{open_one.id}/closure"  # the closure page of the open one, never of the closed one
    assert len(before) == len(org_admins) and all(to == link for _, to, _ in before)
    assert reminded(ends - timedelta(hours=2)) == before  # once a stage
    after_one = reminded(ends + timedelta(days=1, hours=3))[len(before):]
    assert {v for v, _, _ in after_one} == org_admins and all("已结束1天" in note for _, _, note in after_one)
    assert len(after_one) == len(org_admins) and all(to == link for _, to, _ in after_one)
    assert reminded(ends + timedelta(days=3)) == before + after_one
    after_seven = reminded(ends + timedelta(days=7, hours=3))[len(before) + len(after_one):]
    assert {v for v, _, _ in after_seven} == org_admins and all("已结束7天" in note for _, _, note in after_seven)
    assert len(after_seven) == len(org_admins) and all(to == link for _, to, _ in after_seven)
    assert reminded(ends + timedelta(days=30)) == before + after_one + after_seven


# ------------------------------------------------------- telling the volunteers signed up
@pytest.fixture
def city(any_app):
    with any_app.app.app_context():
        orgs, admins = build_tree()
        db.session.commit()
        yield orgs, admins
        db.session.rollback()


def told(kind) -> list[tuple[int, dict]]:
    db.session.flush()
    return [(n.volunteer_id, n.data) for n in
            Notification.query.filter_by(kind=kind).order_by(Notification.volunteer_id, Notification.id)]


def _project_with_signups(admins):
    project = publish(admins["district"], needs_review="0", recruit_count=3)
    people = [make_volunteer(n) for n in ("朱秀英", "钱德明", "孙丽华", "周海燕")]
    for person in people[:3]:
        su.sign_up(person, project.id, now=NOW)  # accepted at once (no review); the fourth never signs up
    db.session.commit()
    return project, [p.id for p in people]


def test_signed_up_volunteers_are_told_when_time_or_place_really_change(city):
    _, admins = city
    project, (a, b, c, stranger) = _project_with_signups(admins)
    assert sorted(project_rules.signed_up_ids(project.id)) == [a, b, c]
    assert set(pr.LIVE_SIGNUP_STATES) == set(su.LIVE)
    project_rules.edit_project(admins["district"], project.id, typed({"recruit_count": "4", "description": "清理公园垃圾，分类投放"}, partial=True),
                    now=NOW)
    project_rules.edit_project(admins["district"], project.id, typed({"place": "滨江公园北门", "daily_start": "09:00"}, partial=True), now=NOW)
    assert told("project_changed") == [], "neither time nor place changed"
    project_rules.edit_project(admins["district"], project.id, typed({"place": "滨江公园南门"}, partial=True), now=NOW)
    db.session.rollback()
    assert told("project_changed") == [], "a rolled-back change tells nobody"
    project_rules.edit_project(admins["district"], project.id, typed({"place": "滨江公园南门"}, partial=True), now=NOW)
    moved = told("project_changed")
    assert [v for v, _ in moved] == [a, b, c] and stranger not in [v for v, _ in moved]
    assert moved[0][1]["change"] == "活动地点有变更，请留意" and moved[0][1]["place"] == "滨江公园南门"
    db.session.commit()
    project_rules.edit_project(admins["district"], project.id, typed({"daily_start": "08:30", "latitude": "32.0120"}, partial=True), now=NOW)
    db.session.commit()
    both = [d for _, d in told("project_changed") if d["change"].startswith("活动时间和地点")]
    assert len(both) == 3 and both[0]["time"].endswith("08:30")


def test_signed_up_volunteers_are_told_of_revoke_and_delete(city):
    _, admins = city
    project, (a, b, c, stranger) = _project_with_signups(admins)
    su.cancel_signup(db.session.get(Volunteer, c), project.id, now=NOW)  # 孙丽华 withdrew: not told
    db.session.commit()
    live = project_rules.signed_up_ids(project.id)
    assert sorted(live) == [a, b]
    project_rules.revoke_project(admins["root"], project.id, now=NOW, reason="场地临时维修")
    db.session.commit()
    assert [(v, d["reason"]) for v, d in told("project_revoked")] == [(v, "场地临时维修") for v in live]
    project_rules.delete_project(admins["district"], project.id, now=NOW)
    db.session.commit()
    assert [(v, d["reason"]) for v, d in told("project_deleted")] == [(v, "项目已取消") for v in live]
    assert all(n.link is None for n in Notification.query.filter_by(kind="project_deleted"))


def test_queries_by_end_date_use_the_status_ends_at_index_on_postgresql(app_pg):
    """结项 reminders, no-shows and clean-up select approved projects by their end: an index serves them."""
    from sqlalchemy import text

    with app_pg.app.app_context():
        sql = (select(pr.Project.id).where(pr.Project.status == pr.APPROVED, pr.Project.ends_at > NOW,
                                           pr.Project.ends_at <= NOW + timedelta(days=1))
               .compile(db.engine, compile_kwargs={"literal_binds": True}))
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(r[0] for r in db.session.execute(text(f"EXPLAIN {sql}")))
        db.session.rollback()
    assert "ix_project_status_ends_at" in plan, plan

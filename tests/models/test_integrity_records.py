"""Integrity on stored punches (SQLite, ``now`` injected): flags on generated punch histories and their
listing for an org subtree, on-site codes required for 双签, offline punches judged at their recorded
time, desk punches, the audit of admin actions with the admins who stand out, and no-shows."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from models import AdminAction, RuleViolation, db, project_rules
from models import attendance as att
from models import signup as su
from models.attendance import cleanup as att_cleanup
from models.attendance import makeup as att_makeup
from models.attendance import objection as att_objection
from models.attendance import punches as att_punches
from models.integrity import audit_log, codes, desk, flags, noshows, offline
from models.integrity.tables import (
    A_DESK_PUNCH,
    A_MAKEUP_APPROVED,
    A_OBJECTION_UPHELD,
    A_REMOVAL,
    A_SCAN_ASSIST,
    FLAG_ACCURACY,
    FLAG_SAME_SPOT,
    FLAG_SPEED,
    PunchFlag,
)
from models.positions import Position
from tests.models.test_attendance import SITE, accepted, at, live, violation
from tests.support.orgs import NOW, build_tree, make_volunteer
from tests.support.people import phone
from tests.support.projects import TODAY, typed

KEY = codes.derive_key("test-secret", codes.ONSITE_PURPOSE)
HERE = audit_log.Origin(ip="10.0.0.7", user_agent="MicroMessenger/8.0", channel="page")


@pytest.fixture
def city(app_lite):
    with app_lite.app.app_context():
        orgs, admins = build_tree()
        double = project_rules.publish_project(admins["district"], typed(live()), now=NOW)
        single = project_rules.publish_project(admins["district"], typed(live(
            name="文明交通劝导志愿服务", short_name="文明劝导", checkin_mode="single", preset_hours="2", punch_radius="",
            checkout_mode="")), now=NOW)
        elsewhere = project_rules.publish_project(admins["sibling_district"], typed(live(name="邻区活动", short_name="邻区")),
                                                  now=NOW)
        people = [make_volunteer(f"志愿者{n}") for n in range(4)]
        accepted(double, *people)
        accepted(single, *people)
        accepted(elsewhere, *people)
        db.session.commit()
        app_lite.drain_jobs()  # the signups' notifications are delivered in-process: let them finish first
        yield {"orgs": orgs, "admins": admins, "double": double, "single": single, "elsewhere": elsewhere,
               "people": people}
        db.session.rollback()


def kinds_of(cycle) -> set[str]:
    return {f.kind for f in flags.flags_for_project(cycle.project_id) if f.cycle_id == cycle.id}


# ------------------------------------------------------------------------ location flags
def test_flags_on_generated_punch_histories(city):
    double, single, elsewhere = city["double"], city["single"], city["elsewhere"]
    honest, teleport, twin_a, twin_b = city["people"]
    jitter = [Position(32.01001 + n * 0.00003, 120.86002 - n * 0.00002, 15 + n) for n in range(4)]
    # an honest history: real fixes scatter a little, the moves are walks
    att_punches.punch_single(honest, single.id, jitter[0], now=at(9, 5))
    c1 = att_punches.sign_in(honest, double.id, jitter[1], now=at(9, 10))
    c1 = att_punches.sign_out(honest, double.id, jitter[2], now=at(10, 20))
    # a sign-in in the city, then a punch 50 km away 10 minutes later
    att_punches.sign_in(teleport, double.id, jitter[3], now=at(9, 0))
    far = att_punches.punch_single(teleport, single.id, Position(32.46, 120.86, 20), now=at(9, 10))
    # two volunteers posting the very same coordinates; one with a fix worse than the radius
    spot = Position(32.010123, 120.860456, 10)
    att_punches.sign_in(twin_a, double.id, spot, now=at(9, 20))
    twin = att_punches.sign_in(twin_b, double.id, Position(spot.latitude, spot.longitude, 350), now=at(9, 21))
    # the same volunteer replaying yesterday's spot on another project (another day)
    next_day = att_punches.punch_single(twin_a, single.id, spot, now=at(9, 30, TODAY + timedelta(days=1)))
    db.session.flush()
    assert kinds_of(c1) == set() and not [f for f in flags.flags_for_project(single.id) if f.volunteer_id == honest.id]
    assert kinds_of(far) == {FLAG_SPEED}
    assert kinds_of(twin) == {FLAG_SAME_SPOT, FLAG_ACCURACY}
    assert kinds_of(next_day) == {FLAG_SAME_SPOT}
    row = next(f for f in flags.flags_for_project(double.id) if f.kind == FLAG_SAME_SPOT)
    assert row.detail == "与另有1名志愿者的打卡坐标完全相同" and row.volunteer_name.startswith("志")
    assert "公里/小时" in next(f for f in flags.flags_for_project(single.id) if f.kind == FLAG_SPEED).detail
    # flagged, never refused: every punch above was recorded
    assert att.Punch.query.count() == 8
    # statistics' 异常数据: the subtree and the range
    district, sibling = city["orgs"]["district"], city["orgs"]["sibling_district"]
    att_punches.sign_in(honest, elsewhere.id, spot, now=at(11, 0, TODAY + timedelta(days=1)))
    mine = flags.flags_for_orgs(district, at(0, 0), at(0, 0, TODAY + timedelta(days=2)))
    assert {f.project_id for f in mine} == {double.id, single.id} and len(mine) == 4
    assert len(flags.flags_for_orgs(district, at(0, 0), at(0, 0, TODAY + timedelta(days=1)))) == 3
    assert [f.project_id for f in flags.flags_for_orgs(sibling, at(0, 0), at(0, 0, TODAY + timedelta(days=2)))] == \
        [elsewhere.id]
    assert flags.flags_for_orgs(district, at(0, 0), at(0, 0, TODAY + timedelta(days=2)), kinds=(FLAG_SPEED,))[0] \
        .cycle_id == far.id


def test_each_punch_keeps_accuracy_and_the_age_of_its_fix(city):
    cycle = att_punches.punch_single(city["people"][0], city["single"].id, SITE, now=at(9, 5),
                                     extras=att_punches.Extras(fix_age_s=12.5))
    punch = att.Punch.query.filter_by(cycle_id=cycle.id).one()
    assert (punch.accuracy, punch.fix_age_s, punch.received_at) == (SITE.accuracy, 12.5, None)


# ------------------------------------------------------------------------- on-site code
def test_a_double_project_may_require_the_on_site_code(city):
    double, v, w = city["double"], city["people"][0], city["people"][1]
    double.require_onsite_code = True
    shown = codes.onsite_code(KEY, double.id, TODAY, at(9, 0))
    with_code = att_punches.Extras(onsite_code=shown, code_key=KEY)
    cases = [  # (extras, now, expected refusal)
        (att_punches.NO_EXTRAS, at(9, 0), "onsite_code_required"),
        (att_punches.Extras(onsite_code=codes.onsite_code(KEY, city["single"].id, TODAY, at(9, 0)), code_key=KEY),
         at(9, 0), "onsite_code_other_project"),
        (with_code, at(9, 1), "onsite_code_stale"),  # a screenshot a minute old
        (with_code, at(9, 0), None),
    ]
    for extras, now, code in cases:
        if code:
            assert violation(att_punches.sign_in, v, double.id, SITE, now=now, extras=extras).code == code
        else:
            cycle = att_punches.sign_in(v, double.id, SITE, now=now, extras=extras)
    punch = att.Punch.query.filter_by(cycle_id=cycle.id).one()
    assert punch.onsite_code_at == at(9, 0)
    # a desk punch needs no code (the admin is on site)
    admin = city["admins"]["district"]
    assert desk.desk_punch(admin, double.id, w.id, "sign_in", None, now=at(9, 5), origin=HERE).source == att.SOURCE_DESK


# ------------------------------------------------------------------------------ offline
def test_offline_punches_are_judged_at_their_recorded_time(city):
    double, v = city["double"], city["people"][0]
    arrived = at(10, 30)
    cycle, repeat = offline.punch_offline(v, double.id, "sign_in", SITE, at(10, 5), "ref-0001", now=arrived)
    assert (cycle.signed_in_at, repeat) == (at(10, 5), False)
    again, repeat = offline.punch_offline(v, double.id, "sign_in", SITE, at(10, 5), "ref-0001", now=at(10, 31))
    assert (again.id, repeat) == (cycle.id, True), "sent twice (a lost answer): the same punch"
    punch = att.Punch.query.filter_by(cycle_id=cycle.id).one()
    assert (punch.at, punch.received_at, punch.sent_late) == (at(10, 5), arrived, True)
    cases = [  # (action, recorded at, arrival, ref, expected refusal)
        ("sign_out", at(10, 20), at(10, 40), "ref-0002", "sign_out_too_early"),  # 15 min after its sign-in
        ("sign_out", at(9, 0), at(10, 40), "ref-0003", "offline_too_old"),  # a lie older than the grace
        ("sign_out", at(11, 0), at(10, 40), "ref-0004", "offline_time_future"),
        ("sign_out", at(10, 40), at(10, 40), "bad ref!", "offline_ref_invalid"),
    ]
    for action, recorded, now, ref, code in cases:
        assert violation(offline.punch_offline, v, double.id, action, SITE, recorded, ref, now=now).code == code
    done, _ = offline.punch_offline(v, double.id, "sign_out", SITE, at(11, 5), "ref-0005", now=at(11, 20))
    assert (done.state, done.hours) == (att.RECORDED, Decimal("1.00"))


def test_an_offline_punch_with_the_on_site_code_is_pinned_to_the_code(city):
    double, v = city["double"], city["people"][1]
    double.require_onsite_code = True
    scanned = codes.onsite_code(KEY, double.id, TODAY, at(10, 0))
    extras = att_punches.Extras(onsite_code=scanned, code_key=KEY)
    # claiming an earlier time than the code was shown does not work ...
    error = violation(offline.punch_offline, v, double.id, "sign_in", SITE, at(9, 50), "ref-1001", now=at(10, 10),
                      extras=extras)
    assert error.code == "onsite_code_stale"
    # ... the time the code was on the screen does
    cycle, _ = offline.punch_offline(v, double.id, "sign_in", SITE, at(10, 0) + timedelta(seconds=20), "ref-1002",
                                     now=at(10, 10), extras=extras)
    assert cycle.signed_in_at == at(10, 0) + timedelta(seconds=20)
    # ... but arriving ten minutes after the code was shown (a forwarded screenshot?) it is flagged
    flagged = {f.kind: f.detail for f in PunchFlag.query.filter_by(cycle_id=cycle.id)}
    assert "现场签到码显示10分钟后才上传" in flagged["late_code"]


# --------------------------------------------------------------------------- desk mode
def test_desk_finds_by_phone_or_number_masked_and_punches(city):
    single, double, admin = city["single"], city["double"], city["admins"]["district"]
    v = city["people"][2]
    outsider = make_volunteer("未报名者")
    by_number = desk.find(admin, single.id, v.number, now=at(9, 30), tz="Asia/Shanghai")
    by_phone = desk.find(admin, single.id, v.phone, now=at(9, 30), tz="Asia/Shanghai")
    assert [f.volunteer_id for f in by_number] == [f.volunteer_id for f in by_phone] == [v.id]
    found = by_phone[0]
    assert found.masked_name == v.masked_name and found.masked_phone == v.phone_masked and v.phone not in str(found)
    assert (found.action, found.label) == ("single", "确认打卡")
    assert desk.find(admin, single.id, outsider.number, now=at(9, 30), tz="Asia/Shanghai") == []
    assert desk.find(admin, single.id, phone(), now=at(9, 30), tz="Asia/Shanghai") == []
    assert violation(desk.find, admin, single.id, "abc", now=at(9, 30), tz="Asia/Shanghai").code == "desk_query_invalid"
    stranger = city["admins"]["sibling_district"]
    assert violation(desk.find, stranger, single.id, v.number, now=at(9, 30), tz="Asia/Shanghai").code == "forbidden"
    cycle = desk.desk_punch(admin, single.id, v.id, "single", None, now=at(9, 30), origin=HERE)
    assert (cycle.source, cycle.hours) == (att.SOURCE_DESK, Decimal("2.00"))
    assert desk.find(admin, single.id, v.number, now=at(9, 31), tz="Asia/Shanghai")[0].action is None
    signed_in = desk.desk_punch(admin, double.id, v.id, "sign_in", None, now=at(9, 30), origin=HERE)
    assert desk.find(admin, double.id, v.number, now=at(9, 40), tz="Asia/Shanghai")[0].action == "sign_out"
    done = desk.desk_punch(admin, double.id, v.id, "sign_out", None, now=at(10, 30), origin=HERE)
    assert (done.id, done.hours) == (signed_in.id, Decimal("1.00"))
    assert violation(desk.desk_punch, admin, double.id, v.id, "sign_in", None, now=at(10, 40), card=True).code == \
        "card_single_only"
    punches = att.Punch.query.filter(att.Punch.cycle_id.in_([cycle.id, done.id])).all()
    assert {(p.source, p.by_id) for p in punches} == {(att.SOURCE_DESK, admin.id)}
    assert [a.action for a in AdminAction.query.order_by(AdminAction.id)] == [A_DESK_PUNCH] * 3
    assert {(a.ip, a.user_agent) for a in AdminAction.query} == {("10.0.0.7", "MicroMessenger/8.0")}


# -------------------------------------------------------------------------------- audit
def _makeup(city, who, day, reason="手机没电，未能打卡"):
    data = {"day": str(day), "kind": "both", "sign_in": "09:00", "sign_out": "10:00", "reason": reason,
            "media_id": "MEDIA1"}
    return att_makeup.submit_makeup(city["people"][who], city["double"].id, data, account="demo",
                                    now=at(12, 0, day))


def test_every_admin_action_on_hours_is_audited_and_standouts_listed(city):
    admin, root = city["admins"]["district"], city["orgs"]["root"]
    other_admin = city["admins"]["street"]
    # the same admin approves 补签 for the same volunteer on two days, then a third (a pattern worth a look)
    for n in range(2):
        att_makeup.approve_makeup(admin, _makeup(city, 0, TODAY + timedelta(days=n)).id, now=at(13, 0), origin=HERE)
    made = _makeup(city, 1, TODAY)
    att_makeup.approve_makeup(admin, made.id, now=at(13, 5), origin=HERE)
    att_punches.scan_assist(admin, city["single"].id, city["people"][3], now=at(9, 30), origin=HERE)
    cycle = att.Cycle.query.filter_by(volunteer_id=city["people"][1].id, source=att.SOURCE_MAKEUP).one()
    objection = att_objection.object_to(city["people"][2], cycle.id, "当天没看到他", now=at(14, 0))
    att_objection.uphold_objection(admin, objection.id, "核实未到场", now=at(15, 0), origin=HERE)
    db.session.flush()
    actions = audit_log.actions_for(root, at(0, 0), at(0, 0, TODAY + timedelta(days=3)))
    assert sorted(a.action for a in actions) == sorted([A_MAKEUP_APPROVED] * 3 + [A_SCAN_ASSIST, A_OBJECTION_UPHELD])
    upheld = next(a for a in actions if a.action == A_OBJECTION_UPHELD)
    assert (upheld.actor_id, upheld.volunteer_id, upheld.hours, upheld.ip) == (admin.id, city["people"][1].id,
                                                                              Decimal("1.00"), "10.0.0.7")
    # a sibling district's admin sees none of it
    assert audit_log.actions_for(city["orgs"]["sibling_district"], at(0, 0), at(0, 0, TODAY + timedelta(days=3))) == []
    assert audit_log.standout_approvers(root, at(0, 0), at(0, 0, TODAY + timedelta(days=3))) == []
    att_makeup.approve_makeup(admin, _makeup_other_day(city).id, now=at(13, 10), origin=HERE)
    out = audit_log.standout_approvers(root, at(0, 0), at(0, 0, TODAY + timedelta(days=3)))
    assert [(s.actor_id, s.volunteer_id, s.approvals) for s in out] == [(admin.id, city["people"][0].id, 3)]
    assert other_admin.id not in {s.actor_id for s in out}


def _makeup_other_day(city):
    """A third day's 补签 for volunteer 0: the project gets a third activity day first."""
    city["double"].end_date = TODAY + timedelta(days=2)
    return _makeup(city, 0, TODAY + timedelta(days=2))


# ----------------------------------------------------------------------------- no-shows
def test_no_shows_per_volunteer_and_org(city):
    double, single, people = city["double"], city["single"], city["people"]
    att_punches.punch_single(people[0], single.id, SITE, now=at(9, 0))
    att_punches.sign_in(people[0], double.id, SITE, now=at(9, 0))
    att_punches.punch_single(people[1], single.id, SITE, now=at(9, 0))
    db.session.flush()
    during = at(10, 0)
    assert noshows.for_volunteer(people[2].id, during).accepted == 0, "nothing has ended yet"
    after = at(12, 0, TODAY + timedelta(days=2))
    rates = noshows.for_volunteers([p.id for p in people], after)
    assert [(rates[p.id].no_shows, rates[p.id].accepted) for p in people] == [(1, 3), (2, 3), (3, 3), (3, 3)]
    assert rates[people[1].id].text == "爽约2次 / 录取3次（67%）"
    orgs = noshows.for_orgs(city["orgs"]["root"], after)
    district, sibling = city["orgs"]["district"].id, city["orgs"]["sibling_district"].id
    assert (orgs[district].no_shows, orgs[district].accepted) == (5, 8)
    assert (orgs[sibling].no_shows, orgs[sibling].accepted) == (4, 4)
    # the 7-day clean-up cancels the no-shows' signups: they still count; the neighbouring district's
    # activity, where nobody checked in at all, is removed and no longer counts (it may not have taken place)
    att_cleanup.remove_stale(after + timedelta(days=8))
    db.session.flush()
    assert su.Signup.query.filter_by(volunteer_id=people[3].id, state=su.CANCELLED).count() == 3
    assert noshows.for_volunteer(people[3].id, after + timedelta(days=9)) == noshows.NoShows(2, 2)
    assert AdminAction.query.filter_by(action=A_REMOVAL, volunteer_id=people[3].id).count() == 3
    with pytest.raises(RuleViolation):
        desk.desk_punch(city["admins"]["district"], double.id, 999999, "sign_in", None, now=at(9, 0))

"""考勤 rules with an injected ``now``, as tables of cases: 单签, 双签 sign-in/sign-out, one open
sign-in, hours and points, 补签, publicity and objections, service records, clean-up, scan assist;
and 100 volunteers signing in at the same second on PostgreSQL."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from models import Notification, RuleViolation, db, project_rules
from models import attendance as att
from models import hours as service_hours
from models import membership as ms
from models import points as points_ledger
from models import project as pr
from models import signup as su
from models.attendance import cleanup as att_cleanup
from models.attendance import makeup as att_makeup
from models.attendance import objection as att_objection
from models.attendance import punches as att_punches
from models.positions import Position
from tests.support.orgs import NOW, build_tree, make_volunteer
from tests.support.projects import TODAY, fields, typed

SITE = Position(32.0100, 120.8600, 20)
FAR = Position(32.0150, 120.8600, 35)  # about 554 m north
NEAR = Position(32.0105, 120.8600, 15)  # about 55 m


def at(hh: int, mm: int = 0, day: date = TODAY) -> datetime:
    """A local (Asia/Shanghai) time on ``day`` as naive UTC."""
    return pr.to_utc(day, datetime.min.time().replace(hour=hh, minute=mm))


def violation(func, *args, **kwargs) -> RuleViolation:
    with pytest.raises(RuleViolation) as info:
        func(*args, **kwargs)
    return info.value


def live(**overrides) -> dict:
    """A project running today and tomorrow, 09:00–11:30, signups open and free of review."""
    return fields(start_date=TODAY.isoformat(), end_date=(TODAY + timedelta(days=1)).isoformat(),
                  signup_end=(TODAY + timedelta(days=1)).isoformat(), needs_review="0", **overrides)


def accepted(project, *people, now=NOW):
    for person in people:
        su.sign_up(person, project.id, now=now)
    db.session.flush()


@pytest.fixture
def city(app_lite):
    with app_lite.app.app_context():
        orgs, admins = build_tree()
        double = project_rules.publish_project(admins["district"], typed(live()), now=NOW)
        single = project_rules.publish_project(admins["district"], typed(live(name="文明交通劝导志愿服务", short_name="文明劝导",
                                                             checkin_mode="single", preset_hours="2",
                                                             punch_radius="", checkout_mode="")), now=NOW)
        people = [make_volunteer(f"志愿者{n}") for n in range(4)]
        accepted(double, *people)
        accepted(single, *people)
        db.session.commit()
        yield {"orgs": orgs, "admins": admins, "double": double, "single": single, "people": people}
        db.session.rollback()


# ------------------------------------------------------------------------------------ 双签
def test_sign_in_rules(city):
    double, people = city["double"], city["people"]
    outsider = make_volunteer("未报名")
    cases = [  # (who, now, position, expected code or None)
        (people[0], at(8, 59), SITE, "too_early"),
        (people[0], at(11, 31), SITE, "too_late"),
        (people[0], at(9, 0, TODAY - timedelta(days=1)), SITE, "not_started"),
        (people[0], at(9, 0, TODAY + timedelta(days=2)), SITE, "activity_over"),
        (people[0], at(9, 30), FAR, "too_far"),
        (people[0], at(9, 30), None, "position_required"),
        (outsider, at(9, 30), SITE, "not_accepted"),
        (people[0], at(9, 0), NEAR, None),
        (people[0], at(9, 5), SITE, "already_signed_in"),
    ]
    for who, now, position, code in cases:
        if code is None:
            cycle = att_punches.sign_in(who, double.id, position, now=now)
            assert cycle.state == att.OPEN and cycle.deadline == at(12, 0)
            punch = att.Punch.query.filter_by(cycle_id=cycle.id).one()
            assert (punch.kind, punch.latitude, punch.accuracy) == ("in", NEAR.latitude, 15)
            assert 50 < punch.distance_m < 60
        else:
            assert violation(att_punches.sign_in, who, double.id, position, now=now).code == code, (now, code)


def test_too_far_says_by_how_much_and_the_accuracy(city):
    message = violation(att_punches.sign_in, city["people"][0], city["double"].id, FAR, now=at(9, 30)).message
    assert "约554米" in message and "200米" in message and "354米" in message and "精度约35米" in message


def test_a_second_site_counts(city):
    double, admin = city["double"], city["admins"]["district"]
    project_rules.add_site(admin, double.id, FAR.latitude, FAR.longitude, "北门", now=NOW)
    assert att_punches.sign_in(city["people"][0], double.id, FAR, now=at(9, 30)).state == att.OPEN


def test_sign_out_rules_and_hours(city):
    double, v = city["double"], city["people"][0]
    att_punches.sign_in(v, double.id, SITE, now=at(9, 0))
    cases = [
        (at(9, 29), SITE, "sign_out_too_early"),
        (at(9, 40), FAR, "too_far"),
        (at(10, 16), SITE, None),  # 76 minutes → 1.50 (图2-12)
    ]
    for now, position, code in cases:
        if code:
            assert violation(att_punches.sign_out, v, double.id, position, now=now).code == code
        else:
            cycle = att_punches.sign_out(v, double.id, position, now=now)
            assert cycle.state == att.RECORDED and cycle.hours == Decimal("1.50") and cycle.points == Decimal("1.50")
            assert cycle.public_until == at(0, 0, TODAY + timedelta(days=8))
    # a second cycle the same day: hours are summed
    att_punches.sign_in(v, double.id, SITE, now=at(10, 41))
    assert att_punches.sign_out(v, double.id, SITE, now=at(11, 16)).hours == Decimal("1.00")  # 35 min → 1.00
    assert service_hours.total_hours(v.id) == Decimal("2.50") and points_ledger.balance(v.id) == Decimal("2.50")


def test_sign_out_deadline_and_scattered_checkout(city):
    double, v, w = city["double"], city["people"][0], city["people"][1]
    att_punches.sign_in(v, double.id, SITE, now=at(11, 0))
    assert att_punches.sign_out(v, double.id, SITE, now=at(12, 0)).hours == Decimal("1.00")  # window end + 30 min
    att_punches.sign_in(w, double.id, SITE, now=at(11, 0))
    error = violation(att_punches.sign_out, w, double.id, SITE, now=at(12, 1))
    assert error.code == "sign_out_too_late" and "补签" in error.message
    db.session.expire_all()
    assert att.Cycle.query.filter_by(volunteer_id=w.id).one().state == att.LAPSED
    # 分散签出: the sign-out position is recorded, not enforced
    double.checkout_mode = pr.SCATTERED
    att_punches.sign_in(w, double.id, SITE, now=at(9, 0, TODAY + timedelta(days=1)))
    cycle = att_punches.sign_out(w, double.id, FAR, now=at(10, 0, TODAY + timedelta(days=1)))
    assert cycle.state == att.RECORDED and att.Punch.query.filter_by(cycle_id=cycle.id, kind="out").one().distance_m > 500


def test_a_sign_out_without_sign_in_is_kept_unpaired(city):
    cycle = att_punches.sign_out(city["people"][0], city["double"].id, SITE, now=at(10, 0))
    assert cycle.state == att.UNPAIRED and cycle.hours is None and points_ledger.balance(city["people"][0].id) == 0


def test_one_open_sign_in_across_projects(city):
    orgs, admins, v = city["orgs"], city["admins"], city["people"][0]
    other = project_rules.publish_project(admins["district"], typed(live(name="第二个双签项目", short_name="第二项目")), now=NOW)
    accepted(other, v)
    att_punches.sign_in(v, city["double"].id, SITE, now=at(9, 0))
    error = violation(att_punches.sign_in, v, other.id, SITE, now=at(9, 30))
    assert error.code == "open_elsewhere" and "滨江公园环境保护" in error.message and "12:00" in error.message
    # the next day the open cycle has lapsed (window + 30 min passed): signing in elsewhere works
    next_day = TODAY + timedelta(days=1)
    assert att_punches.sign_in(v, other.id, SITE, now=at(9, 0, next_day)).state == att.OPEN
    lapsed = att.Cycle.query.filter_by(project_id=city["double"].id, volunteer_id=v.id).one()
    assert lapsed.state == att.LAPSED and lapsed.hours is None
    del orgs


def test_first_checkin_is_set_on_the_first_punch(city):
    double, v = city["double"], city["people"][0]
    assert double.first_checkin_at is None
    att_punches.sign_in(v, double.id, SITE, now=at(9, 10))
    db.session.expire_all()
    assert double.first_checkin_at == at(9, 10) and su.signup_of(v.id, double.id).first_checkin_at == at(9, 10)
    assert violation(project_rules.delete_project, city["admins"]["district"], double.id, now=at(9, 11)).code == "project_has_checkins"
    assert violation(su.cancel_signup, v, double.id, now=at(9, 11)).code == "already_checked_in"


# ------------------------------------------------------------------------------------ 单签
def test_single_punch_rules(city):
    single, double, people = city["single"], city["double"], city["people"]
    cases = [
        (people[0], single.id, at(8, 0), "too_early"),
        (people[0], double.id, at(9, 30), "not_double" if False else "not_single"),
        (people[0], single.id, at(9, 30), None),
        (people[0], single.id, at(11, 0), "already_punched"),
        (people[0], single.id, at(9, 30, TODAY + timedelta(days=1)), None),  # the next day: again
    ]
    for who, project_id, now, code in cases:
        if code:
            assert violation(att_punches.punch_single, who, project_id, FAR, now=now).code == code
        else:
            cycle = att_punches.punch_single(who, project_id, FAR, now=now)  # far away: recorded, not enforced
            assert cycle.hours == Decimal("2.00") and cycle.points == 0 and cycle.state == att.RECORDED
    assert points_ledger.balance(people[0].id) == 0  # 单签: no points
    assert service_hours.total_hours(people[0].id) == Decimal("4.00")
    assert violation(att_punches.sign_in, people[1], single.id, SITE, now=at(9, 30)).code == "not_double"


# ------------------------------------------------------------------------------- scan assist
def test_scan_assist_permissions(city):
    orgs, admins, single, v = city["orgs"], city["admins"], city["single"], city["people"][0]
    temp = make_volunteer("临时管理员")
    db.session.add(pr.ProjectTempAdmin(project_id=single.id, volunteer_id=temp.id))
    db.session.flush()
    day2 = TODAY + timedelta(days=1)
    cases = [  # (actor, project, now, expected)
        (admins["sibling_district"], single, at(9, 30), "forbidden"),
        (admins["street"], single, at(9, 30), "forbidden"),  # below the project's org
        (city["people"][1], single, at(9, 30), "forbidden"),
        (admins["district"], city["double"], at(9, 30), "scan_single_only"),
        (admins["root"], single, at(9, 30), None),  # an ancestor org's admin
        (temp, single, at(9, 30, day2), None),
    ]
    for actor, project, now, code in cases:
        if code:
            assert violation(att_punches.scan_assist, actor, project.id, v, now=now).code == code
        else:
            cycle = att_punches.scan_assist(actor, project.id, v, now=now)
            assert cycle.source == att.SOURCE_SCAN
            assert att.Punch.query.filter_by(cycle_id=cycle.id).one().by_id == actor.id
    assert violation(att_punches.scan_assist, admins["root"], single.id, None, now=at(9, 30)).code == "qr_invalid"
    assert att_punches.may_scan(temp, now=NOW) and not att_punches.may_scan(city["people"][1], now=NOW)
    del orgs


def test_scan_targets(city):
    admins, v, single = city["admins"], city["people"][0], city["single"]
    assert [p.id for p in att_punches.scan_targets(admins["district"], v, now=at(9, 30))] == [single.id]
    assert violation(att_punches.scan_targets, admins["district"], v, now=at(12, 0)).code == "no_running_project"
    stranger = make_volunteer("路人")
    assert violation(att_punches.scan_targets, admins["district"], stranger, now=at(9, 30)).code == "not_accepted"
    second = project_rules.publish_project(admins["district"], typed(live(name="第二个单签", short_name="第二单签", checkin_mode="single",
                                                         preset_hours="1", punch_radius="", checkout_mode="")), now=NOW)
    accepted(second, v)
    assert len(att_punches.scan_targets(admins["district"], v, now=at(9, 30))) == 2


# ------------------------------------------------------------------------------------ points
def test_daily_login_points_and_the_ledger(city):
    v = city["people"][0]
    assert points_ledger.credit_daily_login(v.id, now=at(8, 0)) is True
    assert points_ledger.credit_daily_login(v.id, now=at(23, 0)) is False  # same local day
    assert points_ledger.credit_daily_login(v.id, now=at(0, 30, TODAY + timedelta(days=1))) is True
    assert points_ledger.balance(v.id) == Decimal("2.00") and points_ledger.total_earned(v.id) == Decimal("2.00")
    assert violation(points_ledger.redeem, v.id, 3, "礼品", now=NOW).code == "points_insufficient"
    points_ledger.redeem(v.id, 2, "礼品", now=NOW)
    assert points_ledger.balance(v.id) == 0 and points_ledger.total_earned(v.id) == Decimal("2.00")
    assert [e.reason for e in points_ledger.ledger(v.id)].count(points_ledger.R_LOGIN) == 2


def test_points_per_hour_is_configurable(city):
    rules = att_punches.Rules(points_per_hour=Decimal(2), rounding="exact")
    v = city["people"][0]
    att_punches.sign_in(v, city["double"].id, SITE, now=at(9, 0), rules=rules)
    cycle = att_punches.sign_out(v, city["double"].id, SITE, now=at(9, 45), rules=rules)
    assert cycle.hours == Decimal("0.75") and cycle.points == Decimal("1.50")


# ---------------------------------------------------------------------------- publicity
def _recorded(city, who=0, start=(9, 0), end=(10, 16), day=TODAY):
    v = city["people"][who]
    att_punches.sign_in(v, city["double"].id, SITE, now=at(*start, day))
    return att_punches.sign_out(v, city["double"].id, SITE, now=at(*end, day))


def test_objection_rules_and_upholding_cancels_hours_and_points(city):
    cycle, admins = _recorded(city), city["admins"]
    objector, other = city["people"][1], city["people"][2]
    assert [c.id for c in att_objection.public_cycles(city["double"].id, now=at(11, 0))] == [cycle.id]
    cases = [
        (objector, "短", at(11, 0), "reason_required"),
        (objector, "他当天并未到场参加活动", at(0, 0, TODAY + timedelta(days=8)), "not_in_publicity"),
        (objector, "他当天并未到场参加活动", at(11, 0), None),
        (objector, "他当天并未到场参加活动", at(11, 5), "already_objected"),
        (other, "我也看到他提前离开了", at(11, 6), None),
    ]
    for who, reason, now, code in cases:
        if code:
            assert violation(att_objection.object_to, who, cycle.id, reason, now=now).code == code
        else:
            att_objection.object_to(who, cycle.id, reason, now=now)
    first = att_objection.objections_of(objector.id)[0]
    assert violation(att_objection.uphold_objection, admins["sibling_district"], first.id, now=at(12)).code == "forbidden"
    assert [o.id for o in att_objection.pending_objections_for(admins["root"])] == [first.id, att_objection.objections_of(other.id)[0].id]
    assert att_objection.pending_objections_for(admins["sibling_district"]) == []
    att_objection.uphold_objection(admins["district"], first.id, "核实未到场", now=at(12))
    db.session.expire_all()
    assert cycle.state == att.CANCELLED_CYCLE and service_hours.total_hours(cycle.volunteer_id) == 0
    assert points_ledger.balance(cycle.volunteer_id) == 0
    reasons = [(e.reason, e.amount) for e in points_ledger.ledger(cycle.volunteer_id)]
    assert (points_ledger.R_SERVICE, Decimal("1.50")) in reasons and (points_ledger.R_REVERSAL, Decimal("-1.50")) in reasons
    assert att_objection.objections_of(other.id)[0].state == att.O_UPHELD  # settled by the same outcome
    assert violation(att_objection.dismiss_objection, admins["district"], first.id, now=at(12)).code == "objection_handled"
    kinds = [n.kind for n in Notification.query.filter(Notification.volunteer_id.in_([objector.id, other.id]))]
    assert kinds.count("objection_result") == 2
    assert att_objection.public_cycles(city["double"].id, now=at(12, 1)) == []


def test_dismissed_objection_and_confirmation_after_seven_days(city):
    cycle = _recorded(city)
    held = _recorded(city, who=1)
    objection = att_objection.object_to(city["people"][2], cycle.id, "时间记录看起来不对", now=at(11))
    pending = att_objection.object_to(city["people"][2], held.id, "时间记录看起来不对", now=at(11))
    att_objection.dismiss_objection(city["admins"]["district"], objection.id, now=at(12))
    assert att_objection.confirm_due(at(23, 59, TODAY + timedelta(days=7))) == 0  # still inside the 7 days
    assert att_objection.confirm_due(at(0, 0, TODAY + timedelta(days=8))) == 1  # the pending objection holds the other
    db.session.expire_all()
    assert (cycle.state, held.state) == (att.CONFIRMED, att.RECORDED)
    att_objection.dismiss_objection(city["admins"]["district"], pending.id, now=at(1, 0, TODAY + timedelta(days=8)))
    assert att_objection.confirm_due(at(2, 0, TODAY + timedelta(days=8))) == 1
    assert service_hours.total_hours(city["people"][0].id) == Decimal("1.50")


# ---------------------------------------------------------------------------------- 补签
def _makeup(city, who=0, day=TODAY, now=None, **overrides):
    data = {"day": str(day), "kind": "both", "sign_in": "09:00", "sign_out": "10:00",
            "reason": "手机没电，未能打卡", "media_id": "MEDIA1", **overrides}
    return att_makeup.submit_makeup(city["people"][who], city["double"].id, data, account="demo",
                             now=now or at(12, 0, day if isinstance(day, date) else TODAY))


def test_makeup_rules(city):
    v = city["people"][0]
    att_punches.sign_in(v, city["double"].id, SITE, now=at(10, 0))
    att_punches.sign_out(v, city["double"].id, SITE, now=at(10, 40))  # 10:00–10:40 exists
    single = city["single"]
    later = TODAY + timedelta(days=1)
    cases = [  # (overrides, now, expected code)
        ({"kind": "bogus"}, None, "makeup_kind_invalid"),
        ({"reason": ""}, None, "makeup_reason_required"),
        ({"media_id": ""}, None, "makeup_photo_required"),
        ({"sign_in": "08:30"}, None, "makeup_outside_window"),
        ({"sign_out": "11:45"}, None, "makeup_outside_window"),  # not after the activity's end
        ({"sign_out": "09:20"}, None, "makeup_too_short"),
        ({"sign_out": "10:20"}, None, "makeup_overlap"),
        ({"sign_in": "9点"}, None, "makeup_time_invalid"),
        ({"day": "2026-02-27"}, None, "makeup_day_invalid"),
        ({}, at(11, 31, TODAY + timedelta(days=7)), "makeup_expired"),
        ({"kind": "sign_in", "sign_in": "09:00"}, None, "makeup_nothing_to_pair"),
        ({"kind": "sign_out", "sign_out": "11:00"}, None, "makeup_nothing_to_close"),
        ({"day": later.isoformat()}, at(9, 30), "makeup_day_invalid"),  # that day has not started
        ({"sign_out": "11:30"}, at(11, 0), "makeup_in_future"),
    ]
    for overrides, now, code in cases:
        assert violation(_makeup, city, now=now, **overrides).code == code, overrides
    error = violation(att_makeup.submit_makeup, v, single.id, {"day": TODAY.isoformat(), "kind": "both", "sign_in": "09:00",
                                                        "sign_out": "10:00", "reason": "x", "media_id": "m"},
                      account="demo", now=at(12))
    assert error.code == "makeup_single"
    request = _makeup(city, sign_in="09:00", sign_out="09:55", now=at(11, 31, TODAY + timedelta(days=6)))
    assert request.state == att.M_PENDING
    assert violation(_makeup, city, sign_in="11:00", sign_out="11:30").code == "makeup_exists"  # one per day


def test_makeup_kinds_pair_with_the_punches(city):
    v, w = city["people"][0], city["people"][1]
    att_punches.sign_out(v, city["double"].id, SITE, now=at(10, 30))  # forgot to sign in
    error = violation(_makeup, city, kind="sign_in", sign_in="10:45")
    assert error.code == "makeup_after_sign_out" and "10:30" in error.message
    request = _makeup(city, kind="sign_in", sign_in="09:10")
    att_punches.sign_in(w, city["double"].id, SITE, now=at(11, 0))  # forgot to sign out; it lapses at 12:00
    att_punches.lapse_expired(at(12, 1))
    other = _makeup(city, who=1, kind="sign_out", sign_out="11:30", now=at(12, 5))
    admin = city["admins"]["district"]
    first = att_makeup.approve_makeup(admin, request.id, now=at(13))
    second = att_makeup.approve_makeup(admin, other.id, now=at(13))
    assert (first.signed_in_at, first.signed_out_at, first.hours) == (at(9, 10), at(10, 30), Decimal("1.50"))
    assert (second.signed_in_at, second.signed_out_at, second.hours) == (at(11, 0), at(11, 30), Decimal("0.50"))
    assert first.state == second.state == att.RECORDED and first.source == att.SOURCE_MAKEUP
    assert points_ledger.balance(v.id) == Decimal("1.50")
    # the ledger tells approved 补签 hours from 双签 hours punched on site
    assert [e.reason for e in points_ledger.ledger(v.id)] == [points_ledger.R_MAKEUP]


def test_makeup_review(city):
    admins = city["admins"]
    a = _makeup(city, who=0)
    b = _makeup(city, who=1)
    assert [m.id for m in att_makeup.pending_makeups_for(admins["root"])] == [a.id, b.id]
    assert att_makeup.pending_makeups_for(admins["sibling_district"]) == []
    assert violation(att_makeup.approve_makeup, admins["sibling_district"], a.id, now=at(13)).code == "forbidden"
    assert violation(att_makeup.reject_makeup, admins["district"], b.id, " ", now=at(13)).code == "reject_reason_required"
    cycle = att_makeup.approve_makeup(admins["district"], a.id, now=at(13))
    assert cycle.hours == Decimal("1.00") and cycle.in_publicity(at(13, 1))
    assert [c.id for c in att_objection.public_cycles(city["double"].id, now=at(13, 1))] == [cycle.id]
    att_makeup.reject_makeup(admins["district"], b.id, "无法证明参加了活动", now=at(13))
    assert violation(att_makeup.approve_makeup, admins["district"], b.id, now=at(13)).code == "makeup_decided"
    assert violation(_makeup, city, who=1).code == "makeup_exists"  # never again for that day
    results = Notification.query.filter_by(kind="makeup_result").order_by(Notification.id).all()
    assert [(n.volunteer_id, n.data["result"]) for n in results] == [(city["people"][0].id, "通过"),
                                                                     (city["people"][1].id, "未通过")]
    db.session.expire_all()
    assert city["double"].first_checkin_at == at(13)


# ---------------------------------------------------------------------------- service records
def test_service_summary_and_groups(city):
    v = city["people"][0]
    _recorded(city)
    att_punches.punch_single(v, city["single"].id, None, now=at(9, 30))
    summary = service_hours.service_summary(v.id, now=at(12))
    assert summary["month"] == summary["year"] == summary["total"] == {"hours": Decimal("3.50"), "count": 2}
    assert service_hours.service_summary(v.id, now=at(12, 0, date(2026, 4, 2)))["month"] == {"hours": Decimal("0.00"),
                                                                                   "count": 0}
    assert su.volunteer_summary(v.id, now=at(12))["hours"] == 3.5
    org = city["orgs"]["district"]
    ms.join_org(v, org.id, now=NOW)
    ms.approve_members(city["admins"]["district"], org.id, [v.id], now=NOW)
    db.session.flush()
    assert v.id in ms.member_ids(org.id)
    assert ms.hours_by_volunteer(org.id, None) == {v.id: 3.5}
    assert v.id not in ms.builtin_group_ids(org.id, "no_hours_ever", now=at(12))
    assert v.id in ms.builtin_group_ids(org.id, "active", now=at(12))


# ---------------------------------------------------------------------------------- clean-up
def test_remove_stale_and_restore(city):
    admins, people = city["admins"], city["people"]
    empty = project_rules.publish_project(admins["district"], typed(live(name="没人签到的项目", short_name="无人签到")), now=NOW)
    accepted(empty, people[0])
    _recorded(city)  # people[0] has hours on the double project; the others have none
    end = city["double"].ends_at
    assert att_cleanup.remove_stale(end + timedelta(days=6, hours=23)) == {"projects": 0, "signups": 0}
    removed = att_cleanup.remove_stale(end + timedelta(days=7, minutes=1))
    # the single project had no punch either, so it goes too; signups without hours on all three go
    assert removed["projects"] == 2
    db.session.expire_all()
    assert empty.status == pr.DELETED and city["double"].status == pr.APPROVED
    assert su.signup_of(people[0].id, city["double"].id).state == su.ACCEPTED
    assert su.signup_of(people[1].id, city["double"].id).state == su.CANCELLED
    assert att_cleanup.remove_stale(end + timedelta(days=8)) == {"projects": 0, "signups": 0}  # idempotent
    att_cleanup.restore("project", empty.id, now=end + timedelta(days=9), by="ops")
    signup = su.signup_of(people[1].id, city["double"].id)
    att_cleanup.restore("signup", signup.id, now=end + timedelta(days=9))
    db.session.expire_all()
    assert empty.status == pr.APPROVED and signup.state == su.ACCEPTED
    assert violation(att_cleanup.restore, "project", empty.id, now=end + timedelta(days=9)).code == "already_restored"
    assert att_cleanup.remove_stale(end + timedelta(days=10))["projects"] == 0  # a restored one stays


# ------------------------------------------------------------------------------------- race
def test_100_volunteers_signing_in_at_the_same_second(app_pg):
    app = app_pg.app
    with app.app_context():
        _orgs, admins = build_tree()
        project = project_rules.publish_project(admins["district"], typed(live(recruit_count=200)), now=NOW)
        people = [make_volunteer(f"同时{n}") for n in range(100)]
        for person in people:
            su.sign_up(person, project.id, now=NOW)
        db.session.commit()
        project_id, ids = project.id, [p.id for p in people]
    barrier = threading.Barrier(200)
    outcomes: list[str] = []

    def go(volunteer_id):
        with app.app_context():
            from models import Volunteer

            volunteer = db.session.get(Volunteer, volunteer_id)
            db.session.expunge(volunteer)
            db.session.rollback()  # give the connection back: 200 threads share the pool
            barrier.wait()
            try:
                att_punches.sign_in(volunteer, project_id, SITE, now=at(9, 30))
                db.session.commit()
                outcomes.append("ok")
            except RuleViolation as exc:
                db.session.rollback()
                outcomes.append(exc.code)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=go, args=(v,)) for v in ids * 2]  # everyone taps twice
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert outcomes.count("ok") == 100 and len(outcomes) == 200
    assert set(outcomes) - {"ok"} <= {"already_signed_in", "sign_in_busy"}
    with app.app_context():
        rows = att.Cycle.query.filter_by(project_id=project_id).all()
        assert len(rows) == 100 and len({r.volunteer_id for r in rows}) == 100
        assert db.session.get(pr.Project, project_id).first_checkin_at == at(9, 30)
        assert su.Signup.query.filter(su.Signup.project_id == project_id,
                                      su.Signup.first_checkin_at.is_not(None)).count() == 100

"""The roll-ups per (org, period) and (volunteer, period) equal a direct recount after random
sequences of punches, 补签, upheld objections, joins, leaves, removals and 结项, on both engines."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from functools import partial

import pytest

from models import RuleViolation, closure, db, project_rules
from models import membership as ms
from models import project as pr
from models import signup as su
from models.attendance import makeup as att_makeup
from models.attendance import objection as att_objection
from models.attendance import punches as att_punches
from models.positions import Position
from models.stats import periods, recount
from tests.support.orgs import NOW, build_tree, make_volunteer
from tests.support.projects import fields, typed
from tests.support.rules import at_once

SITE = Position(32.0100, 120.8600, 20)
#: Projects in three months, so that the activity chains link months.
DAYS = {"march": date(2026, 3, 2), "april": date(2026, 4, 13), "may": date(2026, 5, 18)}


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return pr.to_utc(day, datetime.min.time().replace(hour=hh, minute=mm))


def project(admin, day: date, mode: str, name: str):
    extra = {"checkin_mode": "single", "preset_hours": "1.5", "punch_radius": "", "checkout_mode": ""} \
        if mode == "single" else {}
    return project_rules.publish_project(admin, typed(fields(
        name=name, short_name=name[:6], start_date=day.isoformat(), end_date=(day + timedelta(days=1)).isoformat(),
        signup_end=(day + timedelta(days=1)).isoformat(), needs_review="0", **extra)), now=NOW)


@pytest.fixture
def world(any_app):
    with any_app.app.app_context():
        orgs, admins = build_tree()
        projects = []
        for key, day in DAYS.items():
            projects.append(project(admins["district"], day, "single", f"{key}文明劝导单签活动"))
            projects.append(project(admins["sibling_district"], day, "double", f"{key}社区环境双签活动"))
        people = [make_volunteer(f"统计志愿者{n}") for n in range(7)]
        for p in projects:
            for person in people:
                su.sign_up(person, p.id, now=NOW)
        db.session.commit()
        any_app.drain_jobs()  # the signup notifications' delivery (in-process on SQLite) is done first
        yield {"orgs": orgs, "admins": admins, "projects": projects, "people": people}
        db.session.rollback()


def _act(world, rng: random.Random) -> str:
    person = rng.choice(world["people"])
    p = rng.choice(world["projects"])
    day = p.start_date + timedelta(days=rng.randint(0, 1))
    org_key = rng.choice(["district", "street", "community", "sibling_district", "sibling_street"])
    org = world["orgs"][org_key]
    admin = world["admins"]["root"]
    action = rng.choice(["punch", "punch", "punch", "makeup", "object", "join", "join", "leave", "remove",
                         "close"])
    if action == "punch" and p.checkin_mode == "single":
        att_punches.punch_single(person, p.id, SITE, now=at(day, 10, rng.randint(0, 59)))
    elif action == "punch":
        start = rng.randint(0, 40)
        att_punches.sign_in(person, p.id, SITE, now=at(day, 9, start))
        att_punches.sign_out(person, p.id, SITE, now=at(day, 10, rng.randint(0, 59)))
    elif action == "makeup" and p.checkin_mode == "double":
        request = att_makeup.submit_makeup(person, p.id, {"day": str(day), "kind": "both", "sign_in": "09:00",
                                                          "sign_out": f"1{rng.randint(0, 1)}:{rng.randint(0, 5)}0",
                                                          "reason": "手机没电，未能打卡", "media_id": "M1"},
                                           account="demo", now=at(day, 12))
        att_makeup.approve_makeup(admin, request.id, now=at(day, 12, 5))
    elif action == "object":
        cycles = [c for c in att_punches.cycles_of_day(p.id, person.id, day) if c.state == "recorded"]
        if cycles:
            objector = rng.choice(world["people"])
            objection = att_objection.object_to(objector, cycles[0].id, "时长与实际不符合", now=at(day, 13))
            att_objection.uphold_objection(admin, objection.id, now=at(day, 13, 5))
    elif action == "join":
        ms.join_org(person, org.id, now=NOW)
        ms.approve_members(admin, org.id, [person.id], now=NOW)
    elif action == "leave":
        ms.leave_org(person, org.id, now=NOW)
    elif action == "remove":
        ms.remove_members(admin, org.id, [person.id], now=NOW)
    elif action == "close":
        closure.close_project(admin, p.id, "本次活动组织有序，志愿者认真负责，群众满意度高，效果很好。", ["M1"],
                              account="demo", now=at(day + timedelta(days=3), 9))
    return action


def test_rollup_equals_recount_after_random_changes(world, any_app):
    rng = random.Random(1 if "postgresql" in any_app.app.config["SQLALCHEMY_DATABASE_URI"] else 2)
    done = []
    for _ in range(160):
        try:
            with db.session.begin_nested():
                done.append(_act(world, rng))
        except RuleViolation:
            continue
    db.session.commit()
    assert {"punch", "makeup", "object", "join", "close"} <= set(done)  # every kind of change happened
    counted, rolled = recount.recount(), recount.rollup_snapshot()
    assert counted["volunteer"] and counted["chain"] and counted["org"]
    assert rolled == counted


def test_rebuild_reproduces_the_rollup(world):
    rng = random.Random(7)
    for _ in range(60):
        try:
            with db.session.begin_nested():
                _act(world, rng)
        except RuleViolation:
            continue
    before = recount.rollup_snapshot()
    _same(recount.recount(), before)
    recount.rebuild()
    _same(recount.rollup_snapshot(), before)


def _same(after, before):
    for part in before:
        diff = {k: (before[part].get(k), after[part].get(k)) for k in set(before[part]) | set(after[part])
                if before[part].get(k) != after[part].get(k)}
        for k, v in sorted(diff.items()):
            print("DIFF", part, k, v)
        assert not diff, part


def test_chain_links_count_each_volunteer_once_in_any_range():
    months = ["2026-01", "2026-03", "2026-04", "2026-09"]
    links = periods.chain_links(months)
    for first, last in [("2026-01", "2026-12"), ("2026-02", "2026-03"), ("2026-04", "2026-08"), ("2026-05", "2026-08")]:
        expected = int(any(first <= m <= last for m in months))
        assert sum(1 for m, prev in links if first <= m <= last and prev < first) == expected
    assert periods.months_between("2026-11", "2027-02") == ["2026-11", "2026-12", "2027-01", "2027-02"]


def test_leaving_while_an_admin_removes_is_counted_once_on_postgres(app_pg):
    """退出组织 and 移出本组织 of one member at the same moment, on real connections: the roll-up still equals
    the recount (the leave used to write from its own read and count the member out a second time)."""
    from models import Volunteer

    app = app_pg.app
    with app.app_context():
        orgs, admins = build_tree()
        people = [make_volunteer(f"双退{n}") for n in range(6)]
        for person in people:
            for key in ("street", "sibling_street"):
                ms.join_org(person, orgs[key].id, now=NOW)
                ms.approve_members(admins["root"], orgs[key].id, [person.id], now=NOW)
        db.session.commit()
        org_id, admin_id, ids = orgs["street"].id, admins["root"].id, [p.id for p in people]

    def leave(v):
        ms.leave_org(db.session.get(Volunteer, v), org_id, now=NOW)

    def remove(v):
        ms.remove_members(db.session.get(Volunteer, admin_id), org_id, [v], now=NOW)

    for volunteer_id in ids:
        at_once(app, partial(leave, volunteer_id), partial(remove, volunteer_id))
    with app.app_context():
        assert recount.rollup_snapshot() == recount.recount()
        assert ms.Membership.query.filter_by(org_id=org_id, state=ms.APPROVED).count() == 0


def test_closing_at_the_moment_of_the_first_check_in_counts_the_project_once_on_postgres(app_pg):
    """发布小结 of a 双签 project and its first 签到 at the same moment, on real connections: the project
    counts in the statistics once (each used to miss the other's uncommitted row, and it counted nowhere)."""
    from models import Volunteer

    app = app_pg.app
    day = DAYS["march"]
    with app.app_context():
        _orgs, admins = build_tree()
        projects = [project(admins["district"], day, "double", f"同时结项双签活动{n}") for n in range(10)]
        people = [make_volunteer(f"同时签到志愿者{n}") for n in range(len(projects))]
        for p, person in zip(projects, people, strict=True):
            su.sign_up(person, p.id, now=NOW)
        db.session.commit()
        app_pg.drain_jobs()
        admin_id = admins["district"].id
        pairs = [(p.id, person.id) for p, person in zip(projects, people, strict=True)]

    def close(p):
        closure.close_project(db.session.get(Volunteer, admin_id), p, "本次活动组织有序，志愿者认真负责，群众满意度高，效果很好。",
                              ["M1"], account="demo", now=at(day + timedelta(days=3), 9))

    def sign_in(p, v):
        att_punches.sign_in(db.session.get(Volunteer, v), p, SITE, now=at(day, 9))

    outcomes = []
    for project_id, person_id in pairs:
        outcomes += at_once(app, partial(close, project_id), partial(sign_in, project_id, person_id))
    assert outcomes.count("ok") == 2 * len(pairs), outcomes
    with app.app_context():
        assert recount.rollup_snapshot() == recount.recount()

"""志愿服务记录证明, 星级 and 培训/表彰/评价 rules with an injected ``now``: certificate content against the records
(a cancellation after issue included), issuers by recording org or level-1 org, numbers, revoking, star levels
at each threshold with one message, and who may record an entry."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest

from models import Notification, RuleViolation, db
from models import attendance as att
from models.attendance import objection as att_objection
from models.attendance import punches as att_punches
from models.records import certificates as certs
from models.records import entries, stars
from models.records.tables import AWARD, PERIOD, REVOKED, SUPERSEDED, TRAINING, VALID, RecordAudit, StarLevel
from tests.support.orgs import NOW, make_volunteer
from tests.support.projects import TODAY
from tests.support.records import at, served

STARS = stars.DEFAULT_THRESHOLDS
LATER = at(12, 0, TODAY + timedelta(days=2))
TZ = "Asia/Shanghai"


def violation(func, *args, **kwargs) -> RuleViolation:
    with pytest.raises(RuleViolation) as info:
        func(*args, **kwargs)
    return info.value


@pytest.fixture
def record(app_lite):
    with app_lite.app.app_context():
        city = served()
        city["orgs"]["street"].contact_name, city["orgs"]["street"].contact_phone = "顾丽华", "0513-85512345"
        db.session.commit()
        yield city
        db.session.rollback()


def project_cert(city, key="single", now=LATER):
    return certs.issue_for_project(city["volunteer"], city[key].id, thresholds=STARS, now=now, tz=TZ)


def test_project_certificate_content_against_the_records(record):
    v, street = record["volunteer"], record["orgs"]["street"]
    cert = project_cert(record)
    content = cert.content
    assert (cert.issuer_org_id, cert.kind, cert.cycle_count, cert.total_hours) == (street.id, "project", 2, Decimal("4.00"))
    assert content["volunteer"] == {"name": v.name, "id_type": "内地居民身份证", "id_number": v.id_number_masked,
                                    "number": v.number, "national_number": ""}
    assert v.id_number not in cert.content_json and "*" in content["volunteer"]["id_number"]
    assert content["issuer"] == {"name": street.name, "person_in_charge": "顾丽华", "contact": "0513-85512345"}
    (line,) = content["lines"]
    assert line == {"project": "文明交通劝导志愿服务", "org": street.name, "first_day": TODAY.isoformat(),
                    "last_day": (TODAY + timedelta(days=1)).isoformat(), "days": 2, "content": "文明实践：路口文明交通劝导",
                    "hours": "4.00", "in_publicity": True}
    assert content["issued_on"] == (TODAY + timedelta(days=2)).isoformat() and content["star"] == ""
    assert re.fullmatch(r"[A-Z2-7]{4}(-[A-Z2-7]{4}){3}", cert.number)
    assert certs.status_of(cert) == VALID
    # asking again for the same hours gives the same certificate; the 双签 project is the district's
    assert project_cert(record).id == cert.id
    double = project_cert(record, "double")
    assert (double.issuer_org_id, double.total_hours) == (record["orgs"]["district"].id, Decimal("1.50"))
    assert violation(certs.issue_for_project, record["neighbour"], record["double"].id, thresholds=STARS, now=LATER,
                     tz=TZ).code == "no_hours"


def test_period_certificates_by_recording_org_or_by_the_level1_org(record):
    v, orgs, admins = record["volunteer"], record["orgs"], record["admins"]
    entries.record_entry(admins["street"], v.id, orgs["street"].id, TRAINING, "急救知识培训", "4学时", TODAY,
                         now=NOW, today=TODAY)
    entries.record_entry(admins["district"], v.id, orgs["street"].id, AWARD, "优秀志愿者", "", TODAY - timedelta(days=400),
                         now=NOW, today=TODAY)  # before the period: not on it
    start, end = TODAY - timedelta(days=30), TODAY + timedelta(days=2)
    by_org = certs.issue_for_period(v, start, end, mode=certs.BY_RECORDING_ORG, thresholds=STARS, now=LATER, tz=TZ)
    assert [(c.issuer_org_id, c.total_hours) for c in by_org] == [(orgs["district"].id, Decimal("1.50")),
                                                                   (orgs["street"].id, Decimal("4.00"))]
    assert by_org[0].content["entries"] == []  # the district recorded none itself (谁记录谁证明)
    assert [e["title"] for e in by_org[1].content["entries"]] == ["急救知识培训"]
    assert by_org[1].content["period"] == {"start": start.isoformat(), "end": end.isoformat()}
    (combined,) = certs.issue_for_period(v, start, end, mode=certs.BY_LEVEL1_ORG, thresholds=STARS, now=LATER, tz=TZ)
    assert (combined.issuer_org_id, combined.total_hours, combined.cycle_count) == (orgs["root"].id, Decimal("5.50"), 3)
    assert [line["project"] for line in combined.content["lines"]] == [record["double"].name, record["single"].name]
    assert [e["title"] for e in combined.content["entries"]] == ["急救知识培训"]
    cases = [(TODAY, TODAY - timedelta(days=1), "period_invalid"), (TODAY, TODAY + timedelta(days=5), "period_future"),
             (TODAY - timedelta(days=90), TODAY - timedelta(days=60), "no_hours")]
    for s, e, code in cases:
        assert violation(certs.issue_for_period, v, s, e, mode=certs.BY_RECORDING_ORG, thresholds=STARS, now=LATER,
                         tz=TZ).code == code


def test_a_cancellation_after_issue_supersedes_and_never_appears_again(record):
    v, admins = record["volunteer"], record["admins"]
    issued = project_cert(record, "double", now=at(11, 0))
    (period,) = certs.issue_for_period(v, TODAY, TODAY, mode=certs.BY_LEVEL1_ORG, thresholds=STARS, now=at(11, 0),
                                       tz=TZ)
    assert period.total_hours == Decimal("3.50")
    objection = att_objection.object_to(record["neighbour"], record["cycles"]["double"].id, "他当天并未到场参加活动",
                                        now=at(11, 5))
    att_objection.uphold_objection(admins["district"], objection.id, "核实未到场", now=at(11, 30))
    db.session.expire_all()
    assert certs.status_of(issued) == SUPERSEDED and certs.status_of(period) == SUPERSEDED
    assert violation(project_cert, record, "double").code == "no_hours"
    (again,) = certs.issue_for_period(v, TODAY, TODAY, mode=certs.BY_LEVEL1_ORG, thresholds=STARS, now=LATER, tz=TZ)
    assert again.id != period.id and again.total_hours == Decimal("2.00")
    assert [line["project"] for line in again.content["lines"]] == [record["single"].name]
    assert certs.status_of(again) == VALID


def test_new_certificates_are_bounded_per_day_asking_again_is_free(record):
    """Each period is its own certificate, drawn and stored: a volunteer gets NEW_PER_DAY new ones a day."""
    v = record["volunteer"]
    end = TODAY + timedelta(days=2)
    starts = [TODAY - timedelta(days=30 + n) for n in range(certs.NEW_PER_DAY)]
    made = [certs.issue_for_period(v, s, end, mode=certs.BY_LEVEL1_ORG, thresholds=STARS, now=LATER, tz=TZ)[0]
            for s in starts]
    assert len({c.id for c in made}) == certs.NEW_PER_DAY
    refused = violation(certs.issue_for_period, v, TODAY - timedelta(days=200), end, mode=certs.BY_LEVEL1_ORG,
                        thresholds=STARS, now=LATER, tz=TZ)
    assert (refused.code, refused.status) == ("certificates_too_many", 429)
    again = certs.issue_for_period(v, starts[0], end, mode=certs.BY_LEVEL1_ORG, thresholds=STARS, now=LATER, tz=TZ)
    assert again[0].id == made[0].id  # one already issued is given back, limit or not
    later = certs.issue_for_period(v, TODAY - timedelta(days=200), end, mode=certs.BY_LEVEL1_ORG, thresholds=STARS,
                                   now=LATER + timedelta(days=1, minutes=1), tz=TZ)
    assert later[0].id not in {c.id for c in made}


def test_revoking_by_the_issuer_or_above(record):
    cert = project_cert(record)
    admins = record["admins"]
    reason = "证明内容有误"
    assert violation(certs.revoke, admins["sibling_street"], cert.id, reason, now=LATER).code == "forbidden"
    assert violation(certs.revoke, admins["community"], cert.id, reason, now=LATER).code == "forbidden"
    assert violation(certs.revoke, admins["district"], cert.id, "", now=LATER).code == "reason_required"
    certs.revoke(admins["district"], cert.id, reason, now=LATER)
    assert (cert.state, certs.status_of(cert), cert.revoke_reason) == (REVOKED, REVOKED, reason)
    assert violation(certs.revoke, admins["street"], cert.id, reason, now=LATER).code == "already_revoked"
    audit = RecordAudit.query.filter_by(action="certificate_revoked").one()
    assert (audit.actor_id, audit.target) == (admins["district"].id, cert.number)
    assert project_cert(record).id != cert.id  # a revoked certificate is not handed out again


def test_numbers_normalise_and_do_not_repeat():
    numbers = {certs.new_number() for _ in range(2000)}
    assert len(numbers) == 2000
    sample = next(iter(numbers))
    assert certs.normalise_number(" " + sample.lower().replace("-", " ") + " ") == sample
    for bad in ("", "ABCD", sample + "A", sample.replace(sample[0], "1"), "../../etc", "ABCD-EFGH-JKLM-NPQ0"):
        assert certs.normalise_number(bad) is None, bad


# ------------------------------------------------------------------------------ 星级
def _confirmed(city, hours: str, day: date, volunteer_id: int | None = None):
    project = city["double"]
    cycle = att_punches.new_cycle(project, volunteer_id or city["neighbour"].id, day, NOW, mode="double",
                                  source="makeup", state=att.CONFIRMED, hours=Decimal(hours), confirmed_at=NOW)
    db.session.add(cycle)
    db.session.flush()


def test_star_level_at_each_threshold(record):
    cases = [("99.50", 0), ("100", 1), ("299.99", 1), ("300", 2), ("600", 3), ("999", 3), ("1000", 4), ("1500", 5),
             ("4000", 5)]
    for hours, level in cases:
        assert stars.level_for(Decimal(hours), STARS) == level
        person = make_volunteer()
        _confirmed(record, hours, TODAY - timedelta(days=20), person.id)
        standing = stars.standing(person.id, STARS)
        assert (standing["level"], standing["name"]) == (level, stars.level_name(level)), hours
        if level < 5:
            assert standing["to_next"] == Decimal(STARS[level]) - Decimal(hours)
        else:
            assert standing["next"] is None


def test_reaching_a_level_sends_one_message_and_only_confirmed_hours_count(record):
    neighbour = record["neighbour"].id
    assert stars.award_levels(neighbour, STARS, now=LATER) == []  # 2 h in publicity do not count
    _confirmed(record, "250", TODAY - timedelta(days=30))
    _confirmed(record, "60", TODAY - timedelta(days=29))
    assert stars.award_levels(neighbour, STARS, now=LATER) == [1, 2]
    assert stars.award_levels(neighbour, STARS, now=LATER) == []
    messages = Notification.query.filter_by(volunteer_id=neighbour, kind="star_level_reached").all()
    assert [(m.data["level"], m.data["hours"]) for m in messages] == [("二星志愿者", "310.00")]
    assert StarLevel.query.filter_by(volunteer_id=neighbour).count() == 2
    assert stars.volunteers_confirmed_since(NOW) == [neighbour]


def test_star_thresholds_are_checked():
    assert stars.thresholds_from([50, 150]) == (Decimal(50), Decimal(150))
    for bad in ([], [100, 100], [300, 100], [0, 10], [1, 2, 3, 4, 5, 6], ["x"]):
        with pytest.raises(ValueError):
            stars.thresholds_from(bad)


# ------------------------------------------------------------------------------ 培训、表彰、评价
def test_who_may_record_an_entry(record):
    v, orgs, admins = record["volunteer"], record["orgs"], record["admins"]
    outsider = make_volunteer("未加入")
    ok = dict(kind=TRAINING, title="急救知识培训", detail="", day=TODAY)
    cases = [
        (admins["sibling_street"], v.id, orgs["street"].id, ok, "forbidden"),
        (admins["community"], v.id, orgs["street"].id, ok, "forbidden"),
        (admins["street"], outsider.id, orgs["street"].id, ok, "not_member"),
        (admins["street"], v.id, orgs["street"].id, {**ok, "kind": "gift"}, "entry_kind_invalid"),
        (admins["street"], v.id, orgs["street"].id, {**ok, "title": "培"}, "entry_title_required"),
        (admins["street"], v.id, orgs["street"].id, {**ok, "day": TODAY + timedelta(days=1)}, "entry_day_future"),
        (admins["root"], v.id, orgs["street"].id, {**ok, "kind": AWARD, "title": "五星志愿者"}, None),
    ]
    for actor, volunteer_id, org_id, values, code in cases:
        call = (entries.record_entry, actor, volunteer_id, org_id, values["kind"], values["title"], values["detail"],
                values["day"])
        if code:
            assert violation(*call, now=NOW, today=TODAY).code == code, code
        else:
            call[0](*call[1:], now=NOW, today=TODAY)
    assert [(e.kind_label, e.title) for e in entries.entries_of(v.id)] == [("表彰奖励", "五星志愿者")]
    assert entries.entries_of(v.id, by=orgs["sibling_district"], below=True) == []
    assert PERIOD == "period"


def test_concurrent_checks_send_one_message_on_postgres(app_pg):
    """Eight workers check the same volunteer at the same moment: one level row each, one message."""
    import threading

    app = app_pg.app
    with app.app_context():
        city = served()
        _confirmed(city, "320", TODAY - timedelta(days=10))
        db.session.commit()
        neighbour = city["neighbour"].id
    barrier = threading.Barrier(8)
    won: list[list[int]] = []

    def check():
        with app.app_context():
            try:
                barrier.wait()
                won.append(stars.award_levels(neighbour, STARS, now=LATER))
                db.session.commit()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=check) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(won) == 8 and sorted(level for levels in won for level in levels) == [1, 2]
    with app.app_context():
        assert StarLevel.query.filter_by(volunteer_id=neighbour).count() == 2
        assert Notification.query.filter_by(volunteer_id=neighbour, kind="star_level_reached").count() == 1

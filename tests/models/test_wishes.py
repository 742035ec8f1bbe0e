"""微心愿 rules as unit tests with an injected ``now``: validation, who reviews, the state machine,
who is told what, the 14-day close, and concurrent claims on PostgreSQL (one winner)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from models import Notification, RuleViolation, Wish, WishLog, WishPhoto, db, regions, wish_rules
from models import wish as wishes
from models.organization import REGIONS
from tests.support.orgs import NOW, build_tree, make_volunteer
from tests.support.wishes import WISH_FIELDS as GOOD
from tests.support.wishes import wish_typed


def publish(openid="o_pub", now=NOW, **changes):
    return wish_rules.publish("demo", openid, wish_typed({**GOOD, **changes}), now=now)


def notes(kind=None):
    query = Notification.query.order_by(Notification.id)
    if kind:
        query = query.filter_by(kind=kind)
    return [(n.volunteer_id, n.kind, n.data) for n in query]


# ---------------------------------------------------------------------------------- validation
# Each field alone is checked by the pages' WISH_FORM (tests/wx_service/pages/test_form_fields.py); here the
# rules across fields: district and street make a region, and the phone is a contact phone (手机或固话).
@pytest.mark.parametrize("changes, code", [
    ({}, None),
    ({"street": ""}, None),
    ({"street": "其他"}, None),
    ({"phone": "0513-85123456"}, None),
    ({"phone": "051385123456"}, None),
    ({"phone": "85123456"}, None),
    ({"phone": "0513-85123456-12"}, None),
    ({"phone": "139 1234 5678"}, None),
    ({"age": "0"}, None),
    ({"age": "120"}, None),
    ({"district": "苏州市"}, "wish_region_invalid"),
    ({"street": "观前街道"}, "wish_region_invalid"),
    ({"street": "掘港街道"}, "wish_region_invalid"),  # a street of another district
    ({"phone": "12345"}, "wish_phone_invalid"),
    ({"phone": "12912345678"}, "wish_phone_invalid"),
    ({"phone": "1391234567"}, "wish_phone_invalid"),
    ({"phone": "139123456789"}, "wish_phone_invalid"),
    ({"phone": "0513-8512"}, "wish_phone_invalid"),
    ({"phone": "abc13912345678"}, "wish_phone_invalid"),
])
def test_publish_rules_across_fields(ctx, changes, code):
    if code is None:
        wish = publish(**changes)
        assert 0 <= wish.age <= 120 and wish.phone.replace("-", "").isdigit()
    else:
        with pytest.raises(RuleViolation) as caught:
            publish(**changes)
        assert caught.value.code == code and caught.value.status == 400
        assert any("\u4e00" <= ch <= "\u9fff" for ch in caught.value.message), "a Chinese message"


def test_regions_are_the_org_regions():
    assert regions.DISTRICTS == REGIONS[1:] and regions.CITY == REGIONS[0]
    assert regions.streets_of("崇川区")[-1] == regions.OTHER and regions.streets_of("上海市") == ()


def test_published_wish_keeps_phone_and_address_encrypted(ctx):
    wish = publish()
    db.session.commit()
    raw = db.session.execute(db.text("SELECT phone_encrypted, address_encrypted, phone_masked FROM wish")).one()
    assert "13912345678" not in raw[0] and "和平桥新村" not in raw[1]
    assert raw[2] == "139****5678" and wish.phone == "13912345678" and wish.address == GOOD["address"]
    assert wish.state == wishes.PENDING and wish.masked_name == "张*林" and wish.region_label == "崇川区和平桥街道"


def test_a_publisher_has_at_most_three_wishes_waiting(ctx):
    for _ in range(wishes.MAX_PENDING_PER_PUBLISHER):
        publish()
    with pytest.raises(RuleViolation) as caught:
        publish()
    assert caught.value.code == "wish_too_many_pending" and caught.value.status == 429
    publish(openid="o_other")  # someone else is not held back


# ---------------------------------------------------------------------------------- review
def test_who_reviews_a_wish(tree):
    orgs, admins = tree
    chongchuan, haimen = publish(), publish(openid="o_hm", district="海门区", street="")
    rudong = publish(openid="o_rd", district="如东县", street="")  # no district org: the root reviews
    assert wishes.can_review(admins["district"], chongchuan) and wishes.can_review(admins["root"], chongchuan)
    for key in ("street", "community", "sibling_street", "sibling_district"):
        assert not wishes.can_review(admins[key], chongchuan), key
    assert wishes.can_review(admins["sibling_district"], haimen) and not wishes.can_review(admins["district"], haimen)
    assert wishes.can_review(admins["root"], rudong) and not wishes.can_review(admins["district"], rudong)
    assert wishes.reviewable_districts(admins["district"]) == ["崇川区"]
    assert set(wishes.reviewable_districts(admins["root"])) == set(regions.DISTRICTS)
    assert not wishes.can_review(make_volunteer(), chongchuan)
    with pytest.raises(RuleViolation) as caught:
        wish_rules.approve(admins["street"], chongchuan.id, now=NOW)
    assert caught.value.status == 403
    assert [w.id for w in wishes.for_review(admins["district"])] == [chongchuan.id]


def test_approve_then_a_second_decision_is_refused(tree):
    orgs, admins = tree
    wish = publish()
    wish_rules.approve(admins["district"], wish.id, now=NOW)
    assert (wish.state, wish.reviewed_by_id, wish.reviewed_org_id) == ("open", admins["district"].id,
                                                                       orgs["district"].id)
    for decide in (lambda: wish_rules.approve(admins["root"], wish.id, now=NOW),
                   lambda: wish_rules.reject(admins["root"], wish.id, "重复", now=NOW)):
        with pytest.raises(RuleViolation) as caught:
            decide()
        assert caught.value.code == "wish_not_pending" and caught.value.status == 409


def test_reject_needs_a_reason_the_publisher_sees(tree):
    _orgs, admins = tree
    wish = publish()
    with pytest.raises(RuleViolation) as caught:
        wish_rules.reject(admins["district"], wish.id, "  ", now=NOW)
    assert caught.value.code == "wish_reason_missing"
    wish_rules.reject(admins["district"], wish.id, "信息不完整，请补充联系方式", now=NOW)
    mine = wishes.of_publisher("demo", "o_pub")
    assert [(w.state, w.reject_reason) for w in mine] == [("rejected", "信息不完整，请补充联系方式")]
    assert wishes.published().total == 0


# ---------------------------------------------------------------------------------- state machine
def open_wish(admins, **changes):
    wish = publish(**changes)
    wish_rules.approve(admins["district"], wish.id, now=NOW)
    return wish


def test_the_whole_way_claim_complete_confirm(tree):
    _orgs, admins = tree
    wish = open_wish(admins)
    helper = make_volunteer("李助人")
    assert [w.id for w in wishes.published(state="open").items] == [wish.id]
    with pytest.raises(RuleViolation) as caught:
        wish_rules.claim(helper, wish.id, "", now=NOW)
    assert caught.value.code == "wish_plan_missing"
    wish_rules.claim(helper, wish.id, "周六上午上门维修", now=NOW + timedelta(hours=1))
    assert (wish.state, wish.claimer_id, wish.claim_plan) == ("claimed", helper.id, "周六上午上门维修")
    assert wishes.published(state="open").total == 0 and wishes.published(state="claimed").total == 1
    assert wish.is_claimer(helper) and wishes.sees_contact(wish, "demo", "o_x", helper)
    assert not wishes.sees_contact(wish, "demo", "o_x", make_volunteer())
    assert [w.id for w in wishes.claimed_by(helper.id)] == [wish.id]

    other = make_volunteer()
    for act, code in ((lambda: wish_rules.claim(other, wish.id, "我也来", now=NOW), "wish_not_open"),
                      (lambda: wish_rules.complete(other, wish.id, "完成", ["m1"], account="demo", now=NOW),
                       "wish_not_yours"),
                      (lambda: wish_rules.release(other, wish.id, "不想做了", now=NOW), "wish_not_yours"),
                      (lambda: wish_rules.confirm("demo", "o_pub", wish.id, now=NOW), "wish_not_completed")):
        with pytest.raises(RuleViolation) as caught:
            act()
        assert caught.value.code == code

    with pytest.raises(RuleViolation) as caught:
        wish_rules.complete(helper, wish.id, "收音机修好了", [], account="demo", now=NOW)
    assert caught.value.code == "wish_photo_missing"
    with pytest.raises(RuleViolation) as caught:
        wish_rules.complete(helper, wish.id, "收音机修好了", ["bad id!"], account="demo", now=NOW)
    assert caught.value.code == "wish_photo_invalid"
    with pytest.raises(RuleViolation) as caught:
        wish_rules.complete(helper, wish.id, "收音机修好了", [f"m{i}" for i in range(10)], account="demo", now=NOW)
    assert caught.value.code == "wish_photo_too_many"
    with pytest.raises(RuleViolation) as caught:
        wish_rules.complete(helper, wish.id, "", ["m1"], account="demo", now=NOW)
    assert caught.value.code == "wish_note_missing"
    done_at = NOW + timedelta(days=2)
    wish_rules.complete(helper, wish.id, "收音机修好了", ["m1", "m2", "m1"], account="demo", now=done_at)
    assert wish.state == "completed" and wish.completed_at == done_at
    assert [(p.media_id, p.state) for p in wish.photos] == [("m1", "pending"), ("m2", "pending")]
    with pytest.raises(RuleViolation) as caught:
        wish_rules.release(helper, wish.id, "来不及", now=done_at)
    assert caught.value.code == "wish_not_yours"  # no giving up once completed
    with pytest.raises(RuleViolation) as caught:
        wish_rules.confirm("demo", "o_stranger", wish.id, now=done_at)
    assert caught.value.status == 403
    wish_rules.confirm("demo", "o_pub", wish.id, now=done_at + timedelta(days=1))
    assert wish.state == "confirmed" and wishes.published(state="done").total == 1
    assert [e.action for e in wishes.history(wish.id)] == ["published", "approved", "claimed", "completed",
                                                           "confirmed"]


def test_release_puts_the_wish_back_and_tells_the_admins(tree):
    orgs, admins = tree
    wish = open_wish(admins)
    helper = make_volunteer("王放弃")
    wish_rules.claim(helper, wish.id, "本周内上门", now=NOW)
    with pytest.raises(RuleViolation) as caught:
        wish_rules.release(helper, wish.id, "", now=NOW)
    assert caught.value.code == "wish_reason_missing"
    wish_rules.release(helper, wish.id, "临时出差，无法完成", now=NOW + timedelta(hours=3))
    assert (wish.state, wish.claimer_id, wish.claim_plan) == ("open", None, None)
    assert wishes.claimed_by(helper.id) == [] and wishes.published(state="open").total == 1
    released = notes("wish_released")
    assert [n[0] for n in released] == [admins["district"].id]
    assert "临时出差" in released[0][2]["reason"]
    wish_rules.claim(make_volunteer(), wish.id, "我来接手", now=NOW + timedelta(hours=4))  # claimable again
    assert WishLog.query.filter_by(wish_id=wish.id, action="released").one().note == "临时出差，无法完成"


def test_publisher_cannot_claim_their_own_wish(tree):
    _orgs, admins = tree
    publisher = make_volunteer("张亚林", account="demo", openid="o_pub")
    wish = open_wish(admins)
    with pytest.raises(RuleViolation) as caught:
        wish_rules.claim(publisher, wish.id, "我自己来", now=NOW, account="demo", openid="o_pub")
    assert caught.value.code == "wish_own"


def test_who_is_told(tree):
    _orgs, admins = tree
    # A publisher who is a bound volunteer hears the news; one who is not is told nothing (我的心愿 shows it).
    bound_publisher = make_volunteer("绑定的发布人", account="demo", openid="o_pub")
    told = open_wish(admins)
    silent = open_wish(admins, openid="o_nobody")
    assert notes("wish_review_result") == [(bound_publisher.id, "wish_review_result",
                                            {"wish": told.title, "result": "已通过", "reason": "心愿已发布"})]
    helper = make_volunteer("李助人")
    for wish in (told, silent):
        wish_rules.claim(helper, wish.id, "上门帮忙", now=NOW)
    claimed = notes("wish_claimed")
    assert sorted(n[0] for n in claimed) == sorted([bound_publisher.id, admins["district"].id, admins["district"].id])
    to_publisher = next(n for n in claimed if n[0] == bound_publisher.id)[2]
    assert to_publisher["volunteer"] == "李*人" and to_publisher["time"] == "2026-03-01 10:00"  # Asia/Shanghai
    wish_rules.complete(helper, told.id, "已完成", ["m1"], account="demo", now=NOW)
    assert sorted(n[0] for n in notes("wish_completed")) == sorted([bound_publisher.id, admins["district"].id])
    assert not [n for n in notes() if n[0] == helper.id]


def test_approving_admins_are_the_approver_org(tree):
    orgs, admins = tree
    second = make_volunteer("第二管理员")
    from models.org_rules import add_admin

    add_admin(admins["root"], orgs["district"].id, second.number, now=NOW)
    wish = open_wish(admins)
    assert wish_rules.approving_admin_ids(wish) == [admins["district"].id, second.id]
    by_root = publish(openid="o_r")
    wish_rules.approve(admins["root"], by_root.id, now=NOW)
    assert wish_rules.approving_admin_ids(by_root) == [admins["root"].id]


# ---------------------------------------------------------------------------------- 14-day close
def test_unconfirmed_wishes_close_after_fourteen_days(tree):
    _orgs, admins = tree
    helper = make_volunteer()
    done, confirmed = open_wish(admins), open_wish(admins, openid="o_2")
    for wish in (done, confirmed):
        wish_rules.claim(helper, wish.id, "上门", now=NOW)
        wish_rules.complete(helper, wish.id, "完成了", ["m1"], account="demo", now=NOW)
    wish_rules.confirm("demo", "o_2", confirmed.id, now=NOW + timedelta(days=1))
    just_before = NOW + wishes.CONFIRM_WITHIN - timedelta(seconds=1)
    assert wish_rules.due_for_close(just_before) == []
    assert wish_rules.close_unconfirmed(done.id, now=just_before) is False and done.state == "completed"
    deadline = NOW + wishes.CONFIRM_WITHIN
    assert wish_rules.due_for_close(deadline) == [done.id]
    assert wish_rules.close_unconfirmed(done.id, now=deadline) is True
    assert (done.state, done.closed_at) == ("closed", deadline)
    assert wish_rules.close_unconfirmed(done.id, now=deadline) is False  # idempotent
    assert confirmed.state == "confirmed"
    with pytest.raises(RuleViolation):
        wish_rules.confirm("demo", "o_pub", done.id, now=deadline)


def test_close_job_closes_due_wishes_once(tree):
    from jobs.wishes import close_unconfirmed_wishes

    _orgs, admins = tree
    wish = open_wish(admins)
    helper = make_volunteer()
    wish_rules.claim(helper, wish.id, "上门", now=NOW)
    wish_rules.complete(helper, wish.id, "完成了", ["m1"], account="demo", now=NOW)
    db.session.commit()
    assert close_unconfirmed_wishes(now=NOW + timedelta(days=13)) == []
    assert close_unconfirmed_wishes(now=NOW + timedelta(days=14, minutes=1)) == [wish.id]
    assert close_unconfirmed_wishes(now=NOW + timedelta(days=15)) == []
    assert db.session.get(Wish, wish.id).state == "closed"


# ---------------------------------------------------------------------------------- race
def test_concurrent_claims_have_exactly_one_winner(app_pg):
    app = app_pg.app
    with app.app_context():
        _orgs, admins = build_tree()
        wish = publish()
        wish_rules.approve(admins["district"], wish.id, now=NOW)
        helpers = [make_volunteer(f"抢单{i}") for i in range(8)]
        db.session.commit()
        wish_id, helper_ids = wish.id, [h.id for h in helpers]

    barrier = threading.Barrier(len(helper_ids))
    outcomes: dict[int, str] = {}

    def attempt(volunteer_id):
        with app.app_context():
            from models import Volunteer

            volunteer = db.session.get(Volunteer, volunteer_id)
            barrier.wait()
            try:
                wish_rules.claim(volunteer, wish_id, f"方案{volunteer_id}", now=NOW)
                db.session.commit()
                outcomes[volunteer_id] = "won"
            except RuleViolation as exc:
                db.session.rollback()
                outcomes[volunteer_id] = exc.code
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt, args=(v,)) for v in helper_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    winners = [v for v, outcome in outcomes.items() if outcome == "won"]
    assert len(outcomes) == len(helper_ids) and len(winners) == 1
    assert set(outcomes.values()) == {"won", "wish_not_open"}
    with app.app_context():
        wish = db.session.get(Wish, wish_id)
        assert (wish.state, wish.claimer_id, wish.claim_plan) == ("claimed", winners[0], f"方案{winners[0]}")
        assert WishLog.query.filter_by(wish_id=wish_id, action="claimed").count() == 1
        assert Notification.query.filter_by(kind="wish_claimed").count() == 1  # the approving admin, once
        assert WishPhoto.query.count() == 0

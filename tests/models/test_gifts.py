"""礼遇坊 rules: redeem (stock and balance together), cancel (both back), hand over once, the ledger's
reasons, and the yearly expiry — on SQLite (the PostgreSQL race is in tests/reliability)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from flask import current_app

from models import RuleViolation, db
from models import gifts as gift_rules
from models import points as ledger
from tests.support.gifts import gift_values, give_points
from tests.support.orgs import NOW, build_tree, make_volunteer
from tests.support.rules import code_of


def store():
    return current_app.extensions["wx_store"]


@pytest.fixture
def shop(app_lite):
    with app_lite.app.app_context():
        _orgs, admins = build_tree()
        gift = gift_rules.offer_gift(admins["district"], gift_values(stock=2), now=NOW)
        volunteer = make_volunteer("兑换人")
        give_points(volunteer.id, 25)
        db.session.commit()
        yield admins, gift, volunteer


def test_redeeming_takes_one_of_the_stock_and_the_cost_in_points(shop):
    _admins, gift, volunteer = shop
    made = gift_rules.redeem(volunteer, gift.id, now=NOW)
    db.session.commit()
    assert made.state == gift_rules.RESERVED and len(made.code) == 8 and made.code.isdigit()
    assert made.qr_payload.startswith(gift_rules.QR_PREFIX)
    assert db.session.get(gift_rules.Gift, gift.id).stock == 1
    assert ledger.balance(volunteer.id) == Decimal("15.00")
    assert ledger.total_earned(volunteer.id) == Decimal("25.00")  # a redemption does not lower 累计积分


def test_not_enough_points_takes_nothing_from_the_stock(shop):
    _admins, gift, volunteer = shop
    gift_rules.redeem(volunteer, gift.id, now=NOW)
    gift_rules.redeem(volunteer, gift.id, now=NOW)
    db.session.commit()
    assert ledger.balance(volunteer.id) == Decimal("5.00")
    poor = make_volunteer("积分少")
    give_points(poor.id, 3)
    db.session.commit()
    other = gift_rules.offer_gift(shop[0]["district"], gift_values(name="雨伞", stock=3), now=NOW)
    db.session.commit()
    with pytest.raises(RuleViolation) as refused:
        gift_rules.redeem(poor, other.id, now=NOW)
    assert refused.value.code == "points_insufficient" and "积分不足" in refused.value.message
    db.session.rollback()
    assert db.session.get(gift_rules.Gift, other.id).stock == 3 and ledger.balance(poor.id) == Decimal("3.00")


def test_the_last_one_gone_is_out_of_stock(shop):
    _admins, gift, volunteer = shop
    gift_rules.redeem(volunteer, gift.id, now=NOW)
    gift_rules.redeem(volunteer, gift.id, now=NOW)
    assert code_of(gift_rules.redeem, volunteer, gift.id, now=NOW) == "gift_out_of_stock"
    db.session.rollback()


def test_outside_the_valid_dates_or_withdrawn_nothing_is_redeemed(shop):
    admins, gift, volunteer = shop
    assert code_of(gift_rules.redeem, volunteer, gift.id, now=NOW - timedelta(days=2)) == "gift_not_valid"
    gift_rules.withdraw_gift(admins["district"], gift.id, now=NOW)
    assert code_of(gift_rules.redeem, volunteer, gift.id, now=NOW) == "gift_withdrawn"
    db.session.rollback()


def test_cancelling_an_unclaimed_redemption_returns_points_and_stock(shop):
    _admins, gift, volunteer = shop
    made = gift_rules.redeem(volunteer, gift.id, now=NOW)
    gift_rules.cancel_redemption(volunteer, made.id, now=NOW)
    db.session.commit()
    assert db.session.get(gift_rules.Gift, gift.id).stock == 2
    assert ledger.balance(volunteer.id) == Decimal("25.00") and ledger.total_earned(volunteer.id) == Decimal("25.00")
    reasons = [e.reason for e in ledger.ledger(volunteer.id)]
    assert reasons.count(ledger.R_REDEEM) == 1 and reasons.count(ledger.R_REFUND) == 1
    assert code_of(gift_rules.cancel_redemption, volunteer, made.id, now=NOW) == "redemption_closed"


def test_only_the_offering_org_and_above_hand_over_and_only_once(shop):
    admins, gift, volunteer = shop
    made = gift_rules.redeem(volunteer, gift.id, now=NOW)
    db.session.commit()
    with pytest.raises(RuleViolation) as sibling:
        gift_rules.hand_over(admins["sibling_district"], made.id, proof=made.code, now=NOW)
    assert sibling.value.status == 403
    with pytest.raises(RuleViolation) as elsewhere:  # typed at another org's desk: not theirs to hand over
        gift_rules.find_by_code(admins["sibling_district"], made.code, store=store(), now=NOW)
    assert elsewhere.value.status == 403
    assert gift_rules.find_by_code(admins["district"], f" {made.code[:4]} {made.code[4:]} ", store=store(),
                                   now=NOW).id == made.id
    assert gift_rules.find_by_scan(made.qr_payload).id == made.id
    # the row's id alone, or a wrong number, hands nothing over
    assert code_of(gift_rules.hand_over, admins["root"], made.id, proof="", now=NOW) == "redemption_not_found"
    with pytest.raises(RuleViolation):
        gift_rules.hand_over(admins["root"], made.id, proof="0" * 8 if made.code != "0" * 8 else "1" * 8, now=NOW)
    gift_rules.hand_over(admins["root"], made.id, proof=made.code, now=NOW)
    assert code_of(gift_rules.hand_over, admins["district"], made.id, proof=made.token, now=NOW) == "already_handed"
    assert code_of(gift_rules.cancel_redemption, volunteer, made.id, now=NOW) == "redemption_closed"
    db.session.rollback()


@pytest.mark.parametrize("code", ["", "1234", "abcdefgh", "１２３４５６７８", "123456789"])
def test_a_typed_code_that_is_not_eight_digits_is_refused_in_chinese(shop, code):
    with pytest.raises(RuleViolation) as refused:
        gift_rules.find_by_code(shop[0]["district"], code, store=store(), now=NOW)
    assert refused.value.code == "code_invalid" and "8位数字" in refused.value.message


def test_wrong_numbers_are_rationed_per_admin_and_right_ones_cost_nothing(shop):
    admins, gift, volunteer = shop
    made = gift_rules.redeem(volunteer, gift.id, now=NOW)
    db.session.commit()
    wrong = "0" * 8 if made.code != "0" * 8 else "1" * 8
    for _ in range(gift_rules.WRONG_CODES_PER_DAY - 1):
        assert code_of(gift_rules.find_by_code, admins["district"], wrong, store=store(), now=NOW) == "code_unknown"
    for _ in range(3):  # right numbers give their try back
        assert gift_rules.find_by_code(admins["district"], made.code, store=store(), now=NOW).id == made.id
    with pytest.raises(RuleViolation):
        gift_rules.find_by_code(admins["district"], wrong, store=store(), now=NOW)
    with pytest.raises(RuleViolation) as used_up:  # the day's wrong numbers are spent: even a right one waits
        gift_rules.find_by_code(admins["district"], made.code, store=store(), now=NOW)
    assert used_up.value.code == "code_tries_used_up" and used_up.value.status == 429
    assert "扫码核销" in used_up.value.message
    # another admin has a budget of their own
    assert gift_rules.find_by_code(admins["root"], made.code, store=store(), now=NOW).id == made.id


def test_offering_checks_each_value(shop):
    admins, _gift, _volunteer = shop
    for change, code in [({"name": ""}, "gift_name_missing"), ({"cost": 0}, "gift_cost_invalid"),
                         ({"stock": 0}, "gift_stock_invalid"),
                         ({"valid_until": NOW.date() - timedelta(days=40), "valid_from": NOW.date() - timedelta(days=50)},
                          "gift_dates_past")]:
        assert code_of(gift_rules.offer_gift, admins["district"], gift_values(**change), now=NOW) == code
    plain = make_volunteer("普通志愿者")
    with pytest.raises(RuleViolation) as forbidden:
        gift_rules.offer_gift(plain, gift_values(), now=NOW)
    assert forbidden.value.status == 403


# ------------------------------------------------------------------------------- yearly expiry
def test_expiry_cutoff_is_off_by_default_and_counts_whole_years():
    assert ledger.expiry_cutoff(NOW, 0) is None
    assert ledger.expiry_cutoff(datetime(2026, 12, 1), 1).isoformat() == "2025-01-01"
    # 2026-12-31 17:00 UTC is already 2027 in Shanghai
    assert ledger.expiry_cutoff(datetime(2026, 12, 31, 17), 1).isoformat() == "2026-01-01"


def test_expiry_takes_what_is_left_of_old_credits_once(app_lite):
    with app_lite.app.app_context():
        volunteer = make_volunteer("过期")
        give_points(volunteer.id, 10, now=datetime(2024, 6, 1))
        give_points(volunteer.id, 4, now=datetime(2025, 6, 1))
        ledger.redeem(volunteer.id, 3, "礼品", now=datetime(2025, 7, 1))  # spent from the oldest first
        cutoff = ledger.expiry_cutoff(datetime(2026, 3, 1), 1)  # 2025-01-01: the 2024 points lapse
        assert ledger.volunteers_with_old_points(cutoff) == [volunteer.id]
        assert ledger.expire_points(volunteer.id, cutoff, now=datetime(2026, 3, 1)) == Decimal("7.00")
        assert ledger.expire_points(volunteer.id, cutoff, now=datetime(2026, 3, 1)) == Decimal(0)
        assert ledger.volunteers_with_old_points(cutoff) == []
        assert ledger.balance(volunteer.id) == Decimal("4.00")
        assert ledger.total_earned(volunteer.id) == Decimal("14.00")
        db.session.rollback()

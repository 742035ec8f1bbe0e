"""礼遇坊 under a rush, with real concurrent requests on PostgreSQL: 100 redemptions of the last 5 give
exactly 5, and one volunteer's redemptions of different gifts at once never take the balance below zero
(without the volunteer's row lock in ``models.points.redeem`` they do: three or more of twenty pass)."""

from __future__ import annotations

import re
import threading
from decimal import Decimal

from models import Binding, db
from models import gifts as gift_rules
from models import points as ledger
from tests.support.gifts import gift_values, give_points
from tests.support.orgs import NOW, build_tree, make_volunteer
from tests.support.people import csrf_token, sign_in


def rush(handle, clients_and_gifts) -> list[int]:
    """POST 立即兑换 from every (client, gift id) at once; the status codes and where each went."""
    barrier = threading.Barrier(len(clients_and_gifts))
    outcomes: list[str] = []

    def go(client, token, gift_id):
        barrier.wait(30)
        response = client.post(f"/m/gifts/{gift_id}/redeem?account=demo", data={"csrf_token": token})
        outcomes.append("won" if "/m/me/redemptions/" in (response.location or "") else str(response.status_code))

    threads = [threading.Thread(target=go, args=item) for item in clients_and_gifts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(outcomes) == len(clients_and_gifts)
    return outcomes


def test_a_hundred_redemptions_of_the_last_five(app_pg):
    handle = app_pg
    handle.app.config["CLOCK_NOW"] = NOW
    try:
        with handle.app.app_context():
            _orgs, admins = build_tree()
            last_five = gift_rules.offer_gift(admins["district"], gift_values(stock=5, cost=10), now=NOW).id
            # different gifts: their rows do not serialise the redemptions, only the volunteer's row does
            others = [gift_rules.offer_gift(admins["district"], gift_values(name=f"雨伞{i}", stock=5, cost=10),
                                            now=NOW).id for i in range(20)]
            people = [make_volunteer(f"抢兑{i}", account="demo", openid=f"o-rush{i}").id for i in range(50)]
            for volunteer_id in people:
                give_points(volunteer_id, 9)  # + 1 for today's first page = enough for one
            rich = make_volunteer("多次兑换", account="demo", openid="o-rich").id
            give_points(rich, 24)  # + 1 = enough for two
            db.session.commit()
        rushers = []
        for i in range(50):
            client = sign_in(handle.client(), f"o-rush{i}")
            token = csrf_token(client, f"/m/gifts/{last_five}?account=demo")
            rushers += [(client, token, last_five), (client, token, last_five)]  # each asks twice
        outcomes = rush(handle, rushers)
        assert outcomes.count("won") == 5, outcomes
        assert set(outcomes) <= {"won", "302"}  # the others are sent back with the reason, never a 500

        client = sign_in(handle.client(), "o-rich")
        token = csrf_token(client, f"/m/gifts/{others[0]}?account=demo")
        assert rush(handle, [(client, token, gift) for gift in others]).count("won") == 2

        with handle.app.app_context():
            assert db.session.get(gift_rules.Gift, last_five).stock == 0
            assert gift_rules.Redemption.query.filter_by(gift_id=last_five).count() == 5
            winners = [r.volunteer_id for r in gift_rules.Redemption.query.filter_by(gift_id=last_five)]
            assert len(set(winners)) == 5  # nobody could pay for two
            for volunteer_id in people:
                assert ledger.balance(volunteer_id) >= 0
            assert sum(ledger.balance(v) for v in people) == Decimal(50 * 10 - 5 * 10)
            assert ledger.balance(rich) == Decimal("5.00")
            assert sum(db.session.get(gift_rules.Gift, gift).stock for gift in others) == 20 * 5 - 2
    finally:
        handle.app.config.pop("CLOCK_NOW", None)


def test_flash_of_the_losers_says_why(app_pg):
    """The refusal a loser is sent back with is the rule's Chinese sentence."""
    handle = app_pg
    handle.app.config["CLOCK_NOW"] = NOW
    try:
        with handle.app.app_context():
            _orgs, admins = build_tree()
            gift = gift_rules.offer_gift(admins["district"], gift_values(stock=1, cost=10), now=NOW).id
            make_volunteer("穷", account="demo", openid="o-poor")
            db.session.commit()
        client = sign_in(handle.client(), "o-poor")
        token = csrf_token(client, f"/m/gifts/{gift}?account=demo")
        page = client.post(f"/m/gifts/{gift}/redeem?account=demo", data={"csrf_token": token}, follow_redirects=True)
        assert re.search("当前可用积分不足", page.get_data(as_text=True))
    finally:
        handle.app.config.pop("CLOCK_NOW", None)


def test_wrong_pickup_numbers_typed_at_once_are_rationed(app_pg):
    """40 wrong numbers typed in parallel by one admin: the day's 20 are looked up, the rest refused unchecked."""
    handle = app_pg
    handle.app.config["CLOCK_NOW"] = NOW
    try:
        with handle.app.app_context():
            _orgs, admins = build_tree()
            db.session.add(Binding(account="demo", openid="o-desk", volunteer_id=admins["district"].id))
            db.session.commit()
        admin = sign_in(handle.client(), "o-desk")
        barrier = threading.Barrier(40)
        statuses: list[int] = []

        def guess(n):
            barrier.wait(30)
            statuses.append(admin.get(f"/m/admin/pickup?account=demo&pickup={10_000_000 + n * 7919}").status_code)

        threads = [threading.Thread(target=guess, args=(n,)) for n in range(40)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert sorted(set(statuses)) == [404, 429] and len(statuses) == 40
        assert statuses.count(404) == gift_rules.WRONG_CODES_PER_DAY
    finally:
        handle.app.config.pop("CLOCK_NOW", None)

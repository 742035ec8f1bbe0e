"""Gifts and points for the 礼遇坊 tests (the clock: ``tests.support.orgs.NOW``)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from tests.support.orgs import NOW
from tests.support.projects import TODAY


def gift_values(**overrides) -> dict:
    base = {"name": "爱心保温杯", "description": "不锈钢保温杯一只", "cost": Decimal(10), "stock": 5,
            "valid_from": TODAY, "valid_until": TODAY + timedelta(days=30), "place": "崇川区志愿者协会服务台"}
    base.update(overrides)
    return base


def give_points(volunteer_id: int, amount, now=NOW) -> None:
    """Points as a 双签 service would have credited them (a ledger row, no cycle)."""
    from models import PointEntry, db
    from models.points import R_SERVICE

    db.session.add(PointEntry(volunteer_id=volunteer_id, amount=Decimal(str(amount)), reason=R_SERVICE,
                              note="测试积分", created_at=now))
    db.session.flush()

"""年度活动指标 (part 4 §二.5): the city admins split each place's yearly activity target by month;
a place's admins see done-versus-planned when they open the admin pages (``stats.progress``)."""

from __future__ import annotations

from ..base import RuleViolation, db
from . import places
from .tables import Target

MAX_PER_MONTH = 100_000


def set_targets(actor, place_id: int, year: int, monthly: list[int]) -> list[Target]:
    """Set the twelve monthly targets of ``place_id`` for ``year`` (a city admin only)."""
    if not places.is_city_admin(actor):
        raise RuleViolation("forbidden", "只有市级管理员可以制定活动指标。", 403)
    place = places.get_place(place_id)
    if not 2000 <= year <= 2100:
        raise RuleViolation("target_year_invalid", "年份不正确。")
    if len(monthly) != 12 or any(not isinstance(n, int) or not 0 <= n <= MAX_PER_MONTH for n in monthly):
        raise RuleViolation("target_month_invalid", f"每月指标应为0至{MAX_PER_MONTH}的整数。")
    existing = {t.month: t for t in Target.query.filter_by(place_id=place.id, year=year)}
    rows = []
    for month, planned in enumerate(monthly, start=1):
        row = existing.get(month) or Target(place_id=place.id, year=year, month=month, planned=0)
        row.planned = planned
        db.session.add(row)
        rows.append(row)
    db.session.flush()
    return rows


def of_place(place_id: int, year: int) -> list[int]:
    """The twelve monthly targets of one place (zeros where none is set)."""
    months = [0] * 12
    for t in Target.query.filter_by(place_id=place_id, year=year):
        months[t.month - 1] = t.planned
    return months

"""中心制单 (part 4 §二.4(2), 图4-10): a place's admins publish activity plans residents may order.

A plan offers ``planned_sessions`` sessions between its valid dates; each order takes one
(``models.practice.orders``), settled by the database.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import or_, select

from .. import regions
from ..base import RuleViolation, db, get_or_refuse
from . import places
from .tables import CATEGORIES, Place, Plan, place_subtree

TEXTS = {"name": (2, 50), "audience": (0, 100), "organiser": (0, 100), "team": (0, 100), "activity_time": (0, 100),
         "location": (0, 200), "content": (2, 2000)}
LABELS = {"name": "名称", "category": "所属分类", "planned_sessions": "计划场数", "valid_from": "有效日期起",
          "valid_until": "有效日期止", "accepts_orders": "接受预约", "audience": "服务对象", "organiser": "组织单位",
          "team": "实施团队", "activity_time": "活动时间", "location": "活动地点", "content": "活动内容"}
MAX_SESSIONS = 1000


def get_plan(plan_id) -> Plan:
    return get_or_refuse(Plan, plan_id, "plan_not_found", "活动计划不存在。")


def _checked(fields: dict) -> dict:
    out = {}
    for key, (low, high) in TEXTS.items():
        text = str(fields.get(key) or "").strip()
        if not low <= len(text) <= high:
            raise RuleViolation(f"plan_{key}_invalid", f"请填写{LABELS[key]}（{low}至{high}个字）。" if low
                                else f"{LABELS[key]}不能超过{high}个字。")
        out[key] = text
    if fields.get("category") not in CATEGORIES:
        raise RuleViolation("plan_category_invalid", "请选择所属分类。")
    sessions = fields.get("planned_sessions")
    if not isinstance(sessions, int) or not 1 <= sessions <= MAX_SESSIONS:
        raise RuleViolation("plan_sessions_invalid", f"计划场数应为1至{MAX_SESSIONS}。")
    start, end = fields.get("valid_from"), fields.get("valid_until")
    if not isinstance(start, date) or not isinstance(end, date):
        raise RuleViolation("plan_dates_invalid", "请填写有效日期。")
    if end < start:
        raise RuleViolation("plan_dates_invalid", "有效日期的结束不能早于开始。")
    return {**out, "category": fields["category"], "planned_sessions": sessions, "valid_from": start,
            "valid_until": end, "accepts_orders": bool(fields.get("accepts_orders", True))}


def publish(actor, place_id: int, fields: dict, *, today: date, now) -> Plan:
    """添加活动计划: an admin of the place (or above) publishes a plan of that place."""
    place = places.get_place(place_id)
    places.require_manage(actor, place)
    values = _checked(fields)
    if values["valid_until"] < today:
        raise RuleViolation("plan_dates_invalid", "有效日期已过，请重新选择。")
    plan = Plan(place_id=place.id, created_by_id=actor.id, created_at=now, ordered_count=0, **values)
    db.session.add(plan)
    db.session.flush()
    return plan


def edit(actor, plan_id: int, fields: dict) -> Plan:
    """修改: the sessions may not drop below those already ordered."""
    plan = get_plan(plan_id)
    places.require_manage(actor, plan.place)
    values = _checked(fields)
    if values["planned_sessions"] < plan.ordered_count:
        raise RuleViolation("plan_sessions_below_orders", f"已有{plan.ordered_count}场被预约，计划场数不能少于此数。",
                            409)
    for key, value in values.items():
        setattr(plan, key, value)
    db.session.flush()
    return plan


def open_for_orders(today: date, *, region: str | None = None, category: str | None = None,
                    place: Place | None = None, page: int = 1, per_page: int = 15):
    """活动安排 (图4-11): plans accepting orders today, by area (district or a place's subtree) and category."""
    query = (select(Plan).join(Place, Place.id == Plan.place_id)
             .where(Plan.accepts_orders.is_(True), Plan.valid_from <= today, Plan.valid_until >= today))
    if region in regions.DISTRICTS:
        query = query.where(Place.region == region)
    if category in CATEGORIES:
        query = query.where(Plan.category == category)
    if place is not None:
        query = query.where(place_subtree(place))
    query = query.order_by((Plan.ordered_count >= Plan.planned_sessions), Plan.valid_until, Plan.id)
    return db.paginate(query, page=max(int(page or 1), 1), per_page=per_page, error_out=False)


def of_places(place_ids: list[int], today: date) -> list[Plan]:
    """The plans of these places still valid (admins' list)."""
    if not place_ids:
        return []
    return (Plan.query.filter(Plan.place_id.in_(place_ids), or_(Plan.valid_until >= today))
            .order_by(Plan.valid_until, Plan.id).limit(200).all())


def is_orderable(plan: Plan, today: date) -> bool:
    return plan.accepts_orders and plan.valid_from <= today <= plan.valid_until and plan.sessions_left > 0

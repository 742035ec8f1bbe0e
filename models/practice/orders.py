"""群众点单, 中心派单, 志愿接单, 群众评单 (part 4 §二.4(3)–(6), §三.3).

    pending ──派单──▶ dispatched ──接单 (a project)──▶ accepted ──评单──▶ rating ──评价──▶ rated
       └──上报──▶ reported (at the parent place) ──派单──▶ …

Ordering takes one of the plan's sessions with one conditional ``UPDATE practice_plan SET
ordered_count = ordered_count + 1 WHERE ordered_count < planned_sessions AND …``: under any number of
concurrent orders no plan is overbooked, on SQLite and PostgreSQL alike.  The order moves are
conditional UPDATEs on the state too.  Nothing here commits.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import update

from .. import identity, permissions
from ..base import RuleViolation, db, get_or_refuse
from ..organization import ACTIVE, OrgAdmin, Organization, admin_org_of, subtree_of
from ..project import FINISHED, Project
from . import places, telling
from .plans import get_plan
from .tables import (
    ORDER_ACCEPTED,
    ORDER_DISPATCHED,
    ORDER_OPEN,
    ORDER_PENDING,
    ORDER_RATED,
    ORDER_RATING,
    ORDER_REPORTED,
    Order,
    Plan,
    PracticeProject,
)

LOW_RATING = 2  # a rating this low or lower is reported to the place's parent admins
MAX_OPEN_PER_PLAN = 1  # one live order per person and plan


def get_order(order_id) -> Order:
    return get_or_refuse(Order, order_id, "order_not_found", "点单不存在。")


def find(order_id) -> Order | None:
    return db.session.get(Order, order_id) if order_id else None


def _link(order: Order) -> str:
    return f"/m/practice/orders/{order.id}"


def _admin_link(order: Order) -> str:
    return f"/m/admin/practice/orders/{order.id}"


def _text(value, label: str, low: int, high: int, code: str) -> str:
    text = str(value or "").strip()
    if not text:
        raise RuleViolation(f"{code}_missing", f"请填写{label}。")
    if not low <= len(text) <= high:
        raise RuleViolation(f"{code}_invalid", f"{label}应为{low}至{high}个字。")
    return text


def place_order(account: str, openid: str, plan_id: int, *, name: str, phone: str, wish: str, today: date,
                now) -> Order:
    """点单预约: take one session of the plan (the database decides who gets the last one)."""
    plan = get_plan(plan_id)
    name = _text(" ".join(str(name or "").split()), "姓名", 1, 20, "order_name")
    phone = identity.check_phone(phone)
    wish = _text(wish, "点单内容", 2, 500, "order_wish")
    if not (plan.accepts_orders and plan.valid_from <= today <= plan.valid_until):
        raise RuleViolation("plan_closed", "该活动计划当前不接受预约。", 409)
    live = Order.query.filter(Order.plan_id == plan.id, Order.account == account, Order.openid == openid,
                              Order.state.in_((*ORDER_OPEN, ORDER_DISPATCHED))).count()
    if live >= MAX_OPEN_PER_PLAN:
        raise RuleViolation("order_exists", "您已预约过该活动，请等待处理。", 409)
    took = db.session.execute(
        update(Plan).where(Plan.id == plan.id, Plan.ordered_count < Plan.planned_sessions,
                           Plan.accepts_orders.is_(True))
        .values(ordered_count=Plan.ordered_count + 1).execution_options(synchronize_session=False)).rowcount
    if took != 1:
        raise RuleViolation("plan_full", "该活动计划的场次已全部约满。", 409)
    db.session.expire(plan)
    order = Order(plan_id=plan.id, place_id=plan.place_id, account=account, openid=openid, name=name, wish=wish,
                  state=ORDER_PENDING, created_at=now)
    order.set_phone(phone)
    db.session.add(order)
    db.session.flush()
    telling.log("order", order.id, "ordered", place_id=plan.place_id, actor_id=None, note="", now=now)
    places.tell_admins(places.admin_ids(plan.place), "practice_order_new",
                       {"plan": plan.name, "place": plan.place.name, "time": now.strftime("%Y-%m-%d %H:%M")},
                       link=_admin_link(order), cause=f"order:{order.id}", key=f"order_new:{order.id}")
    return order


def _move(order: Order, from_states, values: dict, *, same_place: bool = True) -> None:
    condition = [Order.id == order.id, Order.state.in_(from_states)]
    if same_place:
        condition.append(Order.place_id == order.place_id)
    moved = db.session.execute(update(Order).where(*condition).values(**values)
                               .execution_options(synchronize_session=False)).rowcount
    db.session.expire(order)
    if moved != 1:
        raise RuleViolation("order_changed", "该点单状态已变化，请刷新后查看。", 409)


def _open_here(actor, order: Order) -> None:
    places.require_manage(actor, order.place)
    if order.state not in ORDER_OPEN:
        raise RuleViolation("order_not_open", "该点单已派出。", 409)


def report(actor, order_id: int, *, note: str = "", now) -> Order:
    """上报: the parent place coordinates the order."""
    order = get_order(order_id)
    _open_here(actor, order)
    parent = places.report_target(order.place, "order_no_parent", "实践中心没有上级阵地，请直接派单。")
    _move(order, ORDER_OPEN, {"state": ORDER_REPORTED, "place_id": parent.id})
    telling.log("order", order.id, "reported", place_id=parent.id, actor_id=actor.id,
                note=" ".join((note or "").split())[:200], now=now)
    telling.tell_submitter(order, "practice_order_update",
                           {"plan": order.plan.name, "state": "已上报", "note": f"已转{parent.name}协调"},
                           link=_link(order), cause=f"order:{order.id}")
    places.tell_admins(places.admin_ids(parent), "practice_order_new",
                       {"plan": order.plan.name, "place": parent.name, "time": now.strftime("%Y-%m-%d %H:%M")},
                       link=_admin_link(order), cause=f"order:{order.id}", key=f"order_reported:{order.id}:{parent.id}")
    return order


def team_choices(order: Order) -> list[Organization]:
    """The orgs an order may be dispatched to: approved orgs of the handling place's org and below."""
    root = order.place.org
    return (Organization.query.filter(Organization.status == ACTIVE, subtree_of(root))
            .order_by(Organization.path).limit(300).all())


def dispatch(actor, order_id: int, *, team_org_id: int, note: str, now) -> Order:
    """派单: hand the order to a team org at or below the handling place's org; its admins are told."""
    order = get_order(order_id)
    _open_here(actor, order)
    team = db.session.get(Organization, team_org_id) if team_org_id else None
    if team is None or team.status != ACTIVE or not team.path.startswith(order.place.org.path):
        raise RuleViolation("order_team_invalid", "请选择本阵地组织或其下级的已审核志愿组织。")
    note = _text(note, "派单说明", 2, 300, "order_note")
    _move(order, ORDER_OPEN, {"state": ORDER_DISPATCHED, "team_org_id": team.id, "dispatch_note": note,
                              "dispatched_by_id": actor.id, "dispatched_at": now})
    telling.log("order", order.id, "dispatched", place_id=order.place_id, actor_id=actor.id,
                note=f"派单给{team.name}：{note}", now=now)
    telling.tell_submitter(order, "practice_order_update",
                           {"plan": order.plan.name, "state": "已派单", "note": f"由{team.name}提供服务"},
                           link=_link(order), cause=f"order:{order.id}")
    team_admins = [a.volunteer_id for a in OrgAdmin.query.filter_by(org_id=team.id)]
    places.tell_admins(team_admins, "practice_order_dispatched",
                       {"plan": order.plan.name, "place": order.place.name, "note": note},
                       link=_admin_link(order), cause=f"order:{order.id}", key=f"order_dispatched:{order.id}")
    return order


def may_accept(actor, order: Order) -> bool:
    """接单: an admin of the team org the order was dispatched to (or of an org above it)."""
    return (order.state == ORDER_DISPATCHED and order.team_org is not None
            and permissions.can(actor, "publish_project", admin_org_of(actor.id))
            and permissions.can(actor, "edit_project", order.team_org))


def accept(actor, order_id: int, project: Project, *, now) -> Order:
    """志愿接单: the project the team published serves the order (called by ``practice.projects``)."""
    order = get_order(order_id)
    if not may_accept(actor, order):
        raise RuleViolation("forbidden", "只有被派单的志愿组织管理员可以接单。", 403)
    _move(order, (ORDER_DISPATCHED,), {"state": ORDER_ACCEPTED, "project_id": project.id}, same_place=False)
    telling.log("order", order.id, "accepted", place_id=order.place_id, actor_id=actor.id,
                note=f"发布项目：{project.name}", now=now)
    telling.tell_submitter(order, "practice_order_update",
                           {"plan": order.plan.name, "state": "已接单", "note": f"服务项目：{project.name}"},
                           link=_link(order), cause=f"order:{order.id}")
    return order


def start_rating(actor, order_id: int, *, now) -> Order:
    """发起评单: once the linked project has ended, its admin asks the resident to rate it."""
    order = get_order(order_id)
    project = db.session.get(Project, order.project_id) if order.project_id else None
    if project is None or order.state != ORDER_ACCEPTED:
        raise RuleViolation("order_not_accepted", "该点单还没有关联的服务项目。", 409)
    permissions.require(actor, "edit_project", project.org, now=now, message="只有项目的管理员可以发起评单。")
    if project.phase(now) != FINISHED:
        raise RuleViolation("project_not_finished", "活动结束后才能发起评单。", 409)
    _move(order, (ORDER_ACCEPTED,), {"state": ORDER_RATING, "rating_started_at": now}, same_place=False)
    telling.log("order", order.id, "rating_started", place_id=order.place_id, actor_id=actor.id, note="", now=now)
    telling.tell_submitter(order, "practice_rating_request", {"plan": order.plan.name, "project": project.name},
                           link=_link(order), cause=f"order:{order.id}")
    return order


def rate(account: str, openid: str, order_id: int, *, stars: int, comment: str, now) -> Order:
    """群众评单: the person who ordered rates 1–5 stars; ≤ 2 stars tells the place's parent admins."""
    order = get_order(order_id)
    if not order.is_submitter(account, openid):
        raise RuleViolation("forbidden", "只有点单人可以评价。", 403)
    if order.state != ORDER_RATING:
        raise RuleViolation("order_not_rating", "该点单现在不能评价。", 409)
    if not isinstance(stars, int) or not 1 <= stars <= 5:
        raise RuleViolation("rating_stars_invalid", "请选择1至5颗星。")
    comment = " ".join(str(comment or "").split())
    if len(comment) > 300:
        raise RuleViolation("rating_comment_invalid", "评价内容不能超过300个字。")
    _move(order, (ORDER_RATING,), {"state": ORDER_RATED, "stars": stars, "comment": comment, "rated_at": now},
          same_place=False)
    telling.log("order", order.id, "rated", place_id=order.place_id, actor_id=None, note=f"{stars}星 {comment}",
                now=now)
    if stars <= LOW_RATING:
        place = order.place
        places.tell_admins(places.parent_admin_ids(place), "practice_low_rating",
                           {"plan": order.plan.name, "place": place.name, "stars": stars, "comment": comment or "无"},
                           link=_admin_link(order), cause=f"order:{order.id}", key=f"order_low:{order.id}")
    return order


# ------------------------------------------------------------------------------------ reads
def queue(actor, *, state: str = "open") -> list[Order]:
    ids = [p.id for p in places.managed_places(actor)]
    if not ids:
        return []
    query = Order.query.filter(Order.place_id.in_(ids))
    query = (query.filter(Order.state.in_(ORDER_OPEN)) if state == "open"
             else query.filter(Order.state.not_in(ORDER_OPEN)))
    return query.order_by(Order.created_at, Order.id).limit(200).all()


def dispatched_to(actor) -> list[Order]:
    """志愿接单: orders dispatched to this admin's org (waiting for a project)."""
    org = admin_org_of(actor.id)
    if org is None:
        return []
    return (Order.query.filter(Order.team_org_id == org.id, Order.state == ORDER_DISPATCHED)
            .order_by(Order.dispatched_at).all())


def of_submitter(account: str, openid: str) -> list[Order]:
    return (Order.query.filter_by(account=account, openid=openid)
            .order_by(Order.created_at.desc(), Order.id.desc()).limit(100).all())


def project_of(order: Order) -> Project | None:
    return db.session.get(Project, order.project_id) if order.project_id else None


def of_project(project_id: int) -> Order | None:
    return Order.query.filter_by(project_id=project_id).first()


def may_view(order: Order, account, openid, volunteer) -> bool:
    if order.is_submitter(account, openid):
        return True
    if volunteer is None:
        return False
    return places.can_manage(volunteer, order.place) or (
        order.team_org is not None and permissions.can(volunteer, "edit_project", order.team_org))


def link_of(project_id: int) -> PracticeProject | None:
    return db.session.get(PracticeProject, project_id)





def reveal_phone(actor, order_id: int, *, now) -> str:
    """The whole phone of the person who ordered, for the handling place's admins or the team's; logged."""
    order = get_order(order_id)
    if not may_view(order, None, None, actor):
        raise RuleViolation("forbidden", "您不能查看该点单的联系电话。", 403)
    telling.log("order", order.id, "phone_viewed", place_id=order.place_id, actor_id=actor.id, note="", now=now)
    return order.phone

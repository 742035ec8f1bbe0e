"""文明实践管理 for place admins (manual part 4 §二): 场所简介, 阵地管理制度 and 场所图片, the need queue (classify,
处理, 上报), 活动计划 (中心制单), the order queue (上报, 派单, 发起评单), 志愿接单 for the team the order went
to, the city admins' yearly targets, and 场所数据统计 with its Excel export and bar chart.

Thin: who may do what is ``models.practice.places.can_manage``; every rule is in ``models.practice``.
"""

from __future__ import annotations

import functools
import re

from flask import flash, g, redirect, render_template, request, url_for

from models import RuleViolation, regions
from models.practice import needs, orders, place_photos, places, plans, stats, targets, telling
from models.practice.tables import CATEGORIES, NEED_KINDS

from .. import clock
from ..config import settings
from . import bp
from .fields import Bool, Choice, Date, Decimal, Form, Int, Text, parse
from .forms import act, as_id, attempt
from .guards import volunteer_required
from .practice_export import stats_workbook

PLACE_FORM = Form({
    "name": Text(places.LABELS["name"], "place_name_invalid", "{label}应为2至100个字。", required=True, low=2, high=100),
    "intro": Text(places.LABELS["intro"], "place_intro_invalid", "{label}不能超过2000个字。", high=2000),
    "phone": Text(places.LABELS["phone"], "place_phone_invalid", "{label}不正确。", high=30),
    "address": Text(places.LABELS["address"], "place_address_invalid", "{label}不能超过200个字。", high=200),
    "latitude": Decimal(places.LABELS["latitude"], "place_point_invalid", "场所位置不正确。", blank=None, low=-90, high=90),
    "longitude": Decimal(places.LABELS["longitude"], "place_point_invalid", "场所位置不正确。", blank=None, low=-180,
                         high=180),
    "organiser": Text(places.LABELS["organiser"], "place_organiser_invalid", "{label}不能超过200个字。", high=200),
    "leaders": Text(places.LABELS["leaders"], "place_leaders_invalid", "{label}不能超过200个字。", high=200),
    "rules_text": Text(places.LABELS["rules_text"], "place_rules_invalid", "{label}不能超过5000个字。", high=5000),
}, missing="place_{key}_missing")

PLAN_FORM = Form({
    "name": Text(plans.LABELS["name"], "plan_name_invalid", "{label}应为2至50个字。", required=True, low=2, high=50),
    "category": Choice(plans.LABELS["category"], "plan_category_invalid", "请选择{label}。", required=True,
                       ask="请选择{label}。", options=CATEGORIES),
    "planned_sessions": Int(plans.LABELS["planned_sessions"], "plan_sessions_invalid",
                            f"{{label}}应为1至{plans.MAX_SESSIONS}。", required=True, low=1, high=plans.MAX_SESSIONS),
    "valid_from": Date(plans.LABELS["valid_from"], "plan_dates_invalid", "请填写有效日期。", required=True),
    "valid_until": Date(plans.LABELS["valid_until"], "plan_dates_invalid", "请填写有效日期。", required=True),
    "accepts_orders": Bool(plans.LABELS["accepts_orders"]),
    **{key: Text(plans.LABELS[key], f"plan_{key}_invalid", f"{{label}}不能超过{high}个字。", high=high)
       for key, (_low, high) in plans.TEXTS.items() if key not in ("name", "content")},
    "content": Text(plans.LABELS["content"], "plan_content_invalid", "{label}应为2至2000个字。", required=True, low=2,
                    high=2000),
}, missing="plan_{key}_missing")

MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


def practice_admin_required(view):
    """Admins of a place (or the city admins): ``g.places`` the places they manage."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        g.places = places.managed_places(g.volunteer)
        if not g.places and not orders.dispatched_to(g.volunteer):
            return render_template("error.html", message="您不是实践阵地的管理员。", status=403), 403
        return view(*args, **kwargs)

    return volunteer_required(wrapper)


def _back(endpoint: str, **values) -> str:
    return url_for(endpoint, account=g.account, **values)


# ----------------------------------------------------------------------------- the admin home
@bp.get("/admin/practice")
@practice_admin_required
def admin_practice():
    now = clock.now()
    year = clock.today().year
    tops = [p for p in g.places if not any(p.path.startswith(q.path) and p.id != q.id for q in g.places)]
    progress = [stats.progress(p, year, now=now, tz=settings().app.timezone) for p in tops]
    return render_template("practice/admin_home.html", progress=progress, year=year,
                           needs=needs.queue(g.volunteer), orders=orders.queue(g.volunteer),
                           dispatched=orders.dispatched_to(g.volunteer), city=places.is_city_admin(g.volunteer))


# ----------------------------------------------------------------------------- places
@bp.route("/admin/practice/places/new", methods=["GET", "POST"])
@practice_admin_required
def admin_practice_place_new():
    parent_id = as_id(request.values.get("parent"))
    parent = places.get_place(parent_id) if parent_id else None
    error = None
    if request.method == "POST":
        def run():
            return places.create_place(g.volunteer, parent_id=parent_id, org_id=as_id(request.form.get("org_id")),
                                       region=request.form.get("region", ""),
                                       fields=parse(PLACE_FORM, request.form), now=clock.now())

        place, error = attempt(run)
        if not error:
            return redirect(_back("pages.practice_place", place_id=place.id))
    return render_template("practice/admin_place.html", place=None, parent=parent, form=request.form, error=error,
                           orgs=places.org_choices(g.volunteer, parent), districts=regions.DISTRICTS), \
        (error.status if error else 200)


@bp.route("/admin/practice/places/<int:place_id>/edit", methods=["GET", "POST"])
@practice_admin_required
def admin_practice_place_edit(place_id):
    place = places.get_place(place_id)
    places.require_manage(g.volunteer, place)
    error, form = None, request.form
    if request.method == "POST":
        _done, error = attempt(lambda: places.edit_place(g.volunteer, place.id, parse(PLACE_FORM, request.form)))
        if not error:
            return redirect(_back("pages.practice_place", place_id=place.id))
    else:
        form = {k: getattr(place, k) if getattr(place, k) is not None else "" for k in places.EDITABLE}
    return render_template("practice/admin_place.html", place=place, parent=place.parent, form=form, error=error,
                           orgs=[], districts=regions.DISTRICTS), (error.status if error else 200)


@bp.route("/admin/practice/places/<int:place_id>/photos", methods=["GET", "POST"])
@practice_admin_required
def admin_practice_place_photos(place_id):
    """场所图片: keep, replace and add the place's photos (JS-SDK serverIds, the one media pipeline)."""
    place = places.get_place(place_id)
    places.require_manage(g.volunteer, place)
    error = None
    if request.method == "POST":
        f = request.form
        _done, error = attempt(lambda: place_photos.set_photos(
            g.volunteer, place.id, g.account, keep=[i for i in map(as_id, f.getlist("keep")) if i],
            outside=f.getlist("outside"), inside=f.getlist("inside"), now=clock.now()))
        if not error:
            flash("场所图片已保存，上传的图片保存后即在场所页展示。", "success")
            return redirect(_back("pages.admin_practice_place_photos", place_id=place.id))
    return render_template("practice/admin_place_photos.html", place=place, photos=place_photos.of_place(place.id),
                           form=request.form, kept=request.form.getlist("keep") if error else None, error=error,
                           least=place_photos.LEAST, most=place_photos.MOST,
                           jsapi_list=["chooseImage", "uploadImage"]), (error.status if error else 200)


# ----------------------------------------------------------------------------- needs
@bp.get("/admin/practice/needs")
@practice_admin_required
def admin_practice_needs():
    status = "handled" if request.args.get("status") == "handled" else "open"
    return render_template("practice/admin_needs.html", needs=needs.queue(g.volunteer, state=status), status=status)


@bp.get("/admin/practice/needs/<int:need_id>")
@practice_admin_required
def admin_practice_need(need_id):
    need = needs.get_need(need_id)
    if not places.can_manage(g.volunteer, need.place):
        return render_template("error.html", message="该需求不在您管理的实践阵地。", status=403), 403
    return render_template("practice/admin_need.html", need=need, history=telling.history("need", need.id),
                           kinds=NEED_KINDS, categories=CATEGORIES, phone=None)


@bp.post("/admin/practice/needs/<int:need_id>/<action>")
@practice_admin_required
def admin_practice_need_act(need_id, action):
    f, now, back = request.form, clock.now(), _back("pages.admin_practice_need", need_id=need_id)
    if action == "phone":
        need = needs.get_need(need_id)
        phone, error = attempt(lambda: needs.reveal_phone(g.volunteer, need_id, now=now))
        if error:
            return render_template("error.html", message=error.message, status=error.status), error.status
        return render_template("practice/admin_need.html", need=need, history=telling.history("need", need.id),
                               kinds=NEED_KINDS, categories=CATEGORIES, phone=phone)
    runs = {
        "classify": (lambda: needs.classify(g.volunteer, need_id, kind=f.get("kind", ""), category=f.get("category", ""),
                                            now=now), "已保存分类。"),
        "handle": (lambda: needs.handle(g.volunteer, need_id, note=f.get("note", ""),
                                        project_id=as_id(f.get("project_id")), now=now), "已处理，提交人会收到通知。"),
        "report": (lambda: needs.report(g.volunteer, need_id, note=f.get("note", ""), now=now), "已上报上级阵地。"),
    }
    if action not in runs:
        raise RuleViolation("not_found", "页面不存在。", 404)
    func, success = runs[action]
    return act(func, success, back, onward=_back("pages.admin_practice_needs") if action != "classify" else None)


# ----------------------------------------------------------------------------- plans (中心制单)
@bp.get("/admin/practice/plans")
@practice_admin_required
def admin_practice_plans():
    return render_template("practice/admin_plans.html", plans=plans.of_places([p.id for p in g.places], clock.today()))


@bp.route("/admin/practice/plans/new", methods=["GET", "POST"])
@practice_admin_required
def admin_practice_plan_new():
    error = None
    if request.method == "POST":
        _plan, error = attempt(lambda: plans.publish(g.volunteer, as_id(request.form.get("place_id")),
                                                     parse(PLAN_FORM, request.form), today=clock.today(),
                                                     now=clock.now()))
        if not error:
            return redirect(_back("pages.admin_practice_plans"))
    return render_template("practice/admin_plan_new.html", form=request.form, error=error, places=g.places,
                           categories=CATEGORIES), (error.status if error else 200)


# ----------------------------------------------------------------------------- orders (派单, 评单)
@bp.get("/admin/practice/orders")
@practice_admin_required
def admin_practice_orders():
    status = "done" if request.args.get("status") == "done" else "open"
    return render_template("practice/admin_orders.html", orders=orders.queue(g.volunteer, state=status),
                           dispatched=orders.dispatched_to(g.volunteer), status=status)


def _order_page(order, phone=None):
    return render_template("practice/admin_order.html", order=order, history=telling.history("order", order.id),
                           teams=orders.team_choices(order), phone=phone, project=orders.project_of(order),
                           manager=places.can_manage(g.volunteer, order.place),
                           may_accept=orders.may_accept(g.volunteer, order))


@bp.get("/admin/practice/orders/<int:order_id>")
@practice_admin_required
def admin_practice_order(order_id):
    order = orders.get_order(order_id)
    if not orders.may_view(order, None, None, g.volunteer):
        return render_template("error.html", message="该点单不在您管理的范围。", status=403), 403
    return _order_page(order)


@bp.post("/admin/practice/orders/<int:order_id>/<action>")
@practice_admin_required
def admin_practice_order_act(order_id, action):
    f, now, back = request.form, clock.now(), _back("pages.admin_practice_order", order_id=order_id)
    if action == "phone":
        phone, error = attempt(lambda: orders.reveal_phone(g.volunteer, order_id, now=now))
        if error:
            return render_template("error.html", message=error.message, status=error.status), error.status
        return _order_page(orders.get_order(order_id), phone)
    runs = {
        "report": (lambda: orders.report(g.volunteer, order_id, note=f.get("note", ""), now=now), "已上报上级阵地。"),
        "dispatch": (lambda: orders.dispatch(g.volunteer, order_id, team_org_id=as_id(f.get("team_org_id")),
                                             note=f.get("note", ""), now=now), "已派单，服务团队会收到通知。"),
        "rating": (lambda: orders.start_rating(g.volunteer, order_id, now=now), "已发起评单，点单人会收到通知。"),
    }
    if action not in runs:
        raise RuleViolation("not_found", "页面不存在。", 404)
    func, success = runs[action]
    return act(func, success, back)


# ----------------------------------------------------------------------------- targets and statistics
@bp.route("/admin/practice/targets", methods=["GET", "POST"])
@practice_admin_required
def admin_practice_targets():
    if not places.is_city_admin(g.volunteer):
        return render_template("error.html", message="只有市级管理员可以制定活动指标。", status=403), 403
    year = as_id(request.values.get("year")) or clock.today().year
    place_id = as_id(request.values.get("place")) or (g.places[0].id if g.places else None)
    error = None
    if request.method == "POST":
        def run():
            monthly = [parse(Form({"n": Int(f"{m}月指标", "target_month_invalid", "{label}应为0至100000的整数。", low=0,
                                            high=targets.MAX_PER_MONTH, blank=0)}),
                             {"n": request.form.get(f"m{m}", "")})["n"] for m in range(1, 13)]
            return targets.set_targets(g.volunteer, place_id, year, monthly)

        _rows, error = attempt(run)
        if not error:
            flash("活动指标已保存。", "success")
            return redirect(_back("pages.admin_practice_targets", place=place_id, year=year))
    monthly = targets.of_place(place_id, year) if place_id else [0] * 12
    return render_template("practice/admin_targets.html", places=g.places, place_id=place_id, year=year,
                           monthly=monthly, error=error), (error.status if error else 200)


def _month(value: str | None, default: tuple[int, int]) -> tuple[int, int]:
    found = MONTH_RE.match((value or "").strip())
    if not found or not 1 <= int(found.group(2)) <= 12 or not 2000 <= int(found.group(1)) <= 2100:
        return default
    return int(found.group(1)), int(found.group(2))


@bp.get("/admin/practice/stats")
@practice_admin_required
def admin_practice_stats():
    """场所数据统计 (图4-15): the managed places' figures for a month range; ``?format=xlsx`` exports them."""
    today = clock.today()
    start = _month(request.args.get("from"), (today.year, 1))
    end = _month(request.args.get("to"), (today.year, today.month))
    if end < start:
        start, end = end, start
    level = as_id(request.args.get("level"))
    level = level if level in (1, 2, 3) else None
    tops = [p for p in g.places if not any(p.path.startswith(q.path) and p.id != q.id for q in g.places)]
    rows = []
    for top in tops:
        rows += stats.report(start, end, now=clock.now(), tz=settings().app.timezone, within=top, level=level)
    if request.args.get("format") == "xlsx":
        return stats_workbook(rows, start, end)
    chosen = as_id(request.args.get("place"))
    focus = next((r for r in rows if r.place.id == chosen), rows[0] if rows else None)
    return render_template("practice/admin_stats.html", rows=rows, start=start, end=end, level=level, focus=focus,
                           chart=stats.bar_chart(focus) if focus else None)

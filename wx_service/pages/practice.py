"""新时代文明实践 for residents (manual part 4 §三.2–4): the 文明实践 entry and each centre's 微主页 with its
风采, places near the person (with their 场所图片), 需求征集 (with an SMS-verified phone and an optional photo),
活动安排 and 群众点单, 我的需求 / 我的点单 and 群众评单.  No volunteer account is needed: OAuth's openid
identifies the person.

Thin: the rules are in ``models.practice``; the forms' strings are typed here by their field specs.
"""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for

from models import regions
from models.practice import gallery, needs, orders, place_photos, places, plans, stats, telling
from models.practice.tables import CATEGORIES

from .. import clock, sms
from ..wechat.binding import bound_volunteer
from ..wechat.oauth import person_required
from . import bp
from .fields import Bool, Choice, Form, Int, Text, parse
from .forms import as_id, attempt, page_arg, position_arg
from .json_body import TEXT, json_fields
from .media_files import send_media

NEED_FORM = Form({
    "place_id": Int(needs.LABELS["place"], "need_place_invalid", "请选择实践阵地。", required=True, ask="请选择{label}。",
                    low=1),
    "title": Text(needs.LABELS["title"], "need_title_invalid", "{label}应为2至50个字。", required=True, low=2, high=50,
                  fold=True),
    "name": Text(needs.LABELS["name"], "need_name_invalid", "{label}应为1至20个字。", required=True, high=20, fold=True),
    "phone": Text(needs.LABELS["phone"], "phone_invalid", "请输入正确的11位手机号码。", required=True, high=11),
    "region": Choice(needs.LABELS["region"], "need_region_invalid", "请选择{label}。", required=True,
                     ask="请选择{label}。", options=regions.DISTRICTS),
    "content": Text(needs.LABELS["content"], "need_content_invalid", "{label}应为2至1000个字。", required=True, low=2,
                    high=1000),
    "sms_code": Text(needs.LABELS["sms_code"], "sms_code_wrong", "验证码不正确。", required=True, high=6),
    "on_behalf": Bool("代录"),
}, missing="need_{key}_missing")

ORDER_FORM = Form({
    "name": Text("姓名", "order_name_invalid", "{label}应为1至20个字。", required=True, high=20, fold=True),
    "phone": Text("联系电话", "phone_invalid", "请输入正确的11位手机号码。", required=True, high=11),
    "wish": Text("点单内容", "order_wish_invalid", "{label}应为2至500个字。", required=True, low=2, high=500),
}, missing="order_{key}_missing")

RATING_FORM = Form({
    "stars": Int("评价星级", "rating_stars_invalid", "请选择1至5颗星。", required=True, ask="请选择1至5颗星。", low=1, high=5),
    "comment": Text("评价内容", "rating_comment_invalid", "{label}不能超过300个字。", high=300),
}, missing="rating_{key}_missing")


def _viewer():
    g.viewer = bound_volunteer(g.account, g.openid)
    return g.viewer


# ----------------------------------------------------------------------------- 文明实践 entry, 微主页
@bp.get("/practice")
@person_required
def practice_home():
    return render_template("practice/home.html", centres=places.centres(), viewer=_viewer(),
                           manages=bool(g.viewer and places.managed_places(g.viewer)))


@bp.get("/practice/centres/<int:place_id>")
@person_required
def practice_centre(place_id):
    """文明实践微主页 (图4-26): a centre's news (activities held), 风采, its places, plans open for orders."""
    centre = places.get_place(place_id)
    now, today = clock.now(), clock.today()
    return render_template("practice/centre.html", centre=centre, places=places.children(centre),
                           news=stats.recent_activities(centre, now=now),
                           shots=gallery.of_centre(centre, per_page=gallery.ON_HOME),
                           plans=plans.open_for_orders(today, place=centre, per_page=6).items, now=now)


@bp.get("/practice/centres/<int:place_id>/gallery")
@person_required
def practice_gallery(place_id):
    """风采: the photos a centre's places and activities published, newest first, a page at a time."""
    centre = places.get_place(place_id)
    return render_template("practice/gallery.html", centre=centre, shots=gallery.of_centre(centre, page=page_arg()))


@bp.get("/practice/photos/<any(place, snap):kind>/<int:photo_id>/<any(file, thumb):size>")
@person_required
def practice_photo(kind, photo_id, size):
    """A photo that stands in a 风采 (a place's, an approved 随手拍, a 结项's): anyone may see it."""
    return send_media(gallery.public_item(kind, photo_id), thumbnail=size == "thumb", max_age=3600)


# ----------------------------------------------------------------------------- places
@bp.get("/practice/places")
@person_required
def practice_places():
    region = request.args.get("region", "").strip()
    position = position_arg()
    return render_template("practice/places.html", rows=places.near(position, region=region or None),
                           region=region if region in regions.DISTRICTS else "", districts=regions.DISTRICTS,
                           located=position is not None, pick=request.args.get("pick") == "need")


@bp.get("/practice/places/<int:place_id>")
@person_required
def practice_place(place_id):
    place = places.get_place(place_id)
    viewer = _viewer()
    return render_template("practice/place.html", place=place, children=places.children(place),
                           photos=place_photos.shown(place.id),
                           plans=plans.open_for_orders(clock.today(), place=place, per_page=20).items,
                           manager=places.can_manage(viewer, place))


# ----------------------------------------------------------------------------- 需求征集
@bp.post("/api/practice/need-code")
@person_required
def practice_need_code():
    """获取验证码 for the need form (JSON)."""
    data = json_fields(phone=TEXT)
    phone, code = needs.request_code(data["phone"] or "", request.remote_addr or "unknown", clock.now(),
                                     **sms.limits())
    return sms.code_sent(phone, code)


@bp.route("/practice/needs/new", methods=["GET", "POST"])
@person_required
def practice_need_new():
    viewer = _viewer()
    choices = places.near(None, limit=2000)  # every place, tree order, for the select
    chosen = as_id(request.values.get("place") or request.form.get("place_id"))
    if request.method == "POST":
        def run():
            typed = parse(NEED_FORM, request.form)
            return needs.submit(g.account, g.openid, needs.NeedForm(**typed),
                                photo_ids=request.form.getlist("server_ids"), recorder=viewer, now=clock.now())

        need, error = attempt(run)
        if not error:
            flash("需求已提交，实践阵地会尽快处理，处理进展请在“我的需求”查看。", "success")
            return redirect(url_for("pages.practice_need", need_id=need.id, account=g.account))
        return render_template("practice/need_new.html", form=request.form, error=error, places=choices,
                               chosen=chosen, districts=regions.DISTRICTS, viewer=viewer,
                               jsapi_list=["chooseImage", "uploadImage"]), error.status
    return render_template("practice/need_new.html", form={}, error=None, places=choices, chosen=chosen,
                           districts=regions.DISTRICTS, viewer=viewer, jsapi_list=["chooseImage", "uploadImage"])


@bp.get("/practice/needs/mine")
@person_required
def practice_needs_mine():
    return render_template("practice/needs_mine.html", needs=needs.of_submitter(g.account, g.openid, _viewer()))


@bp.get("/practice/needs/<int:need_id>")
@person_required
def practice_need(need_id):
    need = needs.get_need(need_id)
    if not needs.may_view(need, g.account, g.openid, _viewer()):
        return render_template("error.html", message="只有提交人和实践阵地管理员可以查看该需求。", status=403), 403
    return render_template("practice/need.html", need=need, history=telling.history("need", need.id))


@bp.get("/practice/needs/<int:need_id>/photo/<any(file, thumb):size>")
@person_required
def practice_need_photo(need_id, size):
    """The need's photo, for whoever may view the need (its submitter, its recorder, the place's admins)."""
    need = needs.get_need(need_id)
    if not needs.may_view(need, g.account, g.openid, _viewer()):
        abort(404)
    return send_media(need.photo, thumbnail=size == "thumb", max_age=3600)


# ----------------------------------------------------------------------------- 活动安排, 群众点单
@bp.get("/practice/plans")
@person_required
def practice_plans():
    region = request.args.get("region", "").strip()
    category = request.args.get("category", "").strip()
    page = plans.open_for_orders(clock.today(), region=region, category=category, page=page_arg())
    return render_template("practice/plans.html", page=page, region=region if region in regions.DISTRICTS else "",
                           category=category if category in CATEGORIES else "", districts=regions.DISTRICTS,
                           categories=CATEGORIES)


@bp.route("/practice/plans/<int:plan_id>", methods=["GET", "POST"])
@person_required
def practice_plan(plan_id):
    plan = plans.get_plan(plan_id)
    today = clock.today()
    if request.method == "POST":
        def run():
            typed = parse(ORDER_FORM, request.form)
            return orders.place_order(g.account, g.openid, plan.id, today=today, now=clock.now(), **typed)

        order, error = attempt(run)
        if not error:
            flash("点单成功，实践阵地会尽快安排，进展请在“我的点单”查看。", "success")
            return redirect(url_for("pages.practice_order", order_id=order.id, account=g.account))
        return render_template("practice/plan.html", plan=plan, form=request.form, error=error,
                               orderable=plans.is_orderable(plan, today)), error.status
    return render_template("practice/plan.html", plan=plan, form={}, error=None,
                           orderable=plans.is_orderable(plan, today))


@bp.get("/practice/orders/mine")
@person_required
def practice_orders_mine():
    return render_template("practice/orders_mine.html", orders=orders.of_submitter(g.account, g.openid))


@bp.route("/practice/orders/<int:order_id>", methods=["GET", "POST"])
@person_required
def practice_order(order_id):
    order = orders.get_order(order_id)
    if not orders.may_view(order, g.account, g.openid, _viewer()):
        return render_template("error.html", message="只有点单人和相关管理员可以查看该点单。", status=403), 403
    error = None
    if request.method == "POST":  # 群众评单
        _done, error = attempt(lambda: orders.rate(g.account, g.openid, order.id, now=clock.now(),
                                                   **parse(RATING_FORM, request.form)))
        if not error:
            flash("感谢您的评价！", "success")
            return redirect(url_for("pages.practice_order", order_id=order.id, account=g.account))
    return render_template("practice/order.html", order=order, history=telling.history("order", order.id),
                           error=error, form=request.form, mine=order.is_submitter(g.account, g.openid),
                           project=orders.project_of(order)), (error.status if error else 200)

"""微心愿 (part 3 §二.10, 图3-15 … 图3-20): publish, list, detail and claim, 我的心愿, 已认领的心愿,
completion with photos, confirmation, and the admins' review page.

Thin: every rule (who may do what, when) is in ``models.wish_rules``; the publish form's strings are
coerced here, field by field, by ``WISH_FORM``.
"""

from __future__ import annotations

import re

from flask import abort, flash, g, redirect, render_template, request, url_for

from models import RuleViolation, db, regions, wish_rules
from models import wish as wishes
from models.base import check_length

from .. import clock
from ..config import settings
from ..wechat.binding import bound_volunteer
from ..wechat.oauth import person_required
from . import bp
from .fields import Choice, Form, Text, parse
from .forms import attempt, page_arg
from .guards import org_admin_required as admin_required
from .guards import volunteer_required
from .media_files import send_media

STATE_FILTERS = [("open", "待认领"), ("claimed", "已认领"), ("done", "已完成")]


# ----------------------------------------------------------------------------- the publish form (图3-15)
def _length(key: str):
    """The check of a text of ``wishes.LIMITS[key]`` characters (an unanswered one is refused before)."""
    return lambda text: check_length(f"wish_{key}", wishes.LABELS[key], text, wishes.LIMITS[key])


def _age(text: str) -> int:
    """年龄: a whole number of years, 0 to 120."""
    if not text.isdigit():
        raise RuleViolation("wish_age_invalid", "年龄请填写整数。")
    age = int(text)
    if not 0 <= age <= 120:
        raise RuleViolation("wish_age_invalid", "年龄应在0至120岁之间。")
    return age


def _phone(text: str) -> str:
    """电话 as typed, without blanks, brackets or wide dashes (``models.identity.is_contact_phone`` judges it)."""
    phone = re.sub(r"[\s()（）]", "", text).replace("—", "-").replace("－", "-")
    if not phone:
        raise RuleViolation("wish_phone_missing", "请填写电话。")
    return phone


def _wish_text(key: str) -> Text:
    return Text(wishes.LABELS[key], required=True, check=_length(key))


#: 我有心愿: each field alone; that district and street make a region, and the phone rule, stay in the model.
WISH_FORM = Form({
    "name": _wish_text("name"),
    "district": Text(wishes.LABELS["district"], required=True, ask="请选择{label}。"),
    "street": Text(wishes.LABELS["street"]),
    "age": Text(wishes.LABELS["age"], required=True, check=_age),
    "gender": Choice(wishes.LABELS["gender"], "wish_gender_missing", "请选择{label}。", required=True,
                     ask="请选择{label}。", options=wishes.GENDERS),
    "phone": Text(wishes.LABELS["phone"], required=True, check=_phone),
    "address": _wish_text("address"),
    "situation": _wish_text("situation"),
    "content": _wish_text("content"),
}, missing="wish_{key}_missing")


def _viewer():
    """The bound volunteer behind this browser, if any (``g.viewer``)."""
    g.viewer = bound_volunteer(g.account, g.openid)
    return g.viewer


def _back(endpoint: str, **values):
    return redirect(url_for(endpoint, account=g.account, **values))


# ----------------------------------------------------------------------------- 微心愿 list
@bp.get("/wishes")
@person_required
def wish_list():
    district = request.args.get("district", "").strip()
    state = request.args.get("status", "open").strip()  # not "state": OAuth adds and strips that one
    if district not in regions.DISTRICTS:
        district = ""
    if state not in ("open", "claimed", "done", "all"):
        state = "open"
    page = wishes.published(district=district or None, state=None if state == "all" else state,
                            page=page_arg(), per_page=15)
    viewer = _viewer()
    reviewer = bool(viewer and wishes.reviewable_districts(viewer))
    return render_template("wishes/list.html", page=page, district=district, state=state,
                           districts=regions.DISTRICTS, state_filters=STATE_FILTERS, reviewer=reviewer)


# ----------------------------------------------------------------------------- 我有心愿
@bp.route("/wishes/new", methods=["GET", "POST"])
@person_required
def wish_new():
    if request.method == "POST":
        wish, error = attempt(lambda: wish_rules.publish(g.account, g.openid, parse(WISH_FORM, request.form),
                                                          now=clock.now()))
        if error:
            return render_template("wishes/new.html", form=request.form, error=error, streets=regions.STREETS,
                                   other=regions.OTHER), error.status
        flash("心愿已提交，审核通过后将在微心愿中发布。", "success")
        return _back("pages.wish_detail", wish_id=wish.id)
    return render_template("wishes/new.html", form={}, error=None, streets=regions.STREETS, other=regions.OTHER)


@bp.get("/wishes/mine")
@person_required
def wish_mine():
    return render_template("wishes/mine.html", wishes=wishes.of_publisher(g.account, g.openid))


# ----------------------------------------------------------------------------- detail, claim
@bp.get("/wishes/<int:wish_id>")
@person_required
def wish_detail(wish_id):
    wish = wish_rules.get_wish(wish_id)
    viewer = _viewer()
    now = clock.now()
    if not wishes.may_view(wish, g.account, g.openid, viewer, now=now):
        return render_template("error.html", message="该心愿尚未发布。", status=404), 404
    publisher = wish.is_publisher(g.account, g.openid)
    return render_template(
        "wishes/detail.html", wish=wish, viewer=viewer, publisher=publisher,
        contact=wishes.sees_contact(wish, g.account, g.openid, viewer),
        claimer=wish.is_claimer(viewer),
        photos=wishes.may_see_photos(wish, g.account, g.openid, viewer, now=now),
        may_claim=wish.state == wishes.OPEN and not publisher)


@bp.post("/wishes/<int:wish_id>/claim")
@volunteer_required
def wish_claim(wish_id):
    _, error = attempt(lambda: wish_rules.claim(g.volunteer, wish_id, request.form.get("plan", ""), now=clock.now(),
                                                account=g.account, openid=g.openid, tz=settings().app.timezone))
    if error:
        if error.status == 404:
            raise error
        wish = wish_rules.get_wish(wish_id)
        return render_template("wishes/detail.html", wish=wish, viewer=g.volunteer, publisher=False,
                               contact=False, claimer=False, photos=False, may_claim=wish.state == wishes.OPEN,
                               error=error, plan=request.form.get("plan", "")), error.status
    flash("认领成功！请在“个人中心 → 已认领的心愿”中查看发布人的联系方式。", "success")
    return _back("pages.wish_detail", wish_id=wish_id)


@bp.post("/wishes/<int:wish_id>/confirm")
@person_required
def wish_confirm(wish_id):
    wish_rules.confirm(g.account, g.openid, wish_id, now=clock.now())  # a refusal becomes its 4xx page
    db.session.commit()
    flash("已确认心愿完成，感谢您的反馈。", "success")
    return _back("pages.wish_detail", wish_id=wish_id)


@bp.get("/wishes/photos/<int:photo_id>")
@person_required
def wish_photo(photo_id):
    photo = db.session.get(wishes.WishPhoto, photo_id)
    if photo is None or not photo.item.stored:
        abort(404)
    if not wishes.may_see_photos(photo.wish, g.account, g.openid, _viewer(), now=clock.now()):
        abort(403)
    return send_media(photo.item)


# ----------------------------------------------------------------------- 已认领的心愿 (个人中心)
@bp.get("/me/wishes")
@volunteer_required
def my_claimed_wishes():
    return render_template("wishes/claimed.html", wishes=wishes.claimed_by(g.volunteer.id))


@bp.route("/me/wishes/<int:wish_id>/complete", methods=["GET", "POST"])
@volunteer_required
def wish_complete(wish_id):
    wish = wish_rules.get_wish(wish_id)
    if not wish.is_claimer(g.volunteer):
        raise RuleViolation("wish_not_yours", "只能完成自己认领的心愿。", 403)
    error = None
    if request.method == "POST":
        _, error = attempt(lambda: wish_rules.complete(
            g.volunteer, wish_id, request.form.get("note", ""), request.form.getlist("server_ids"),
            account=g.account, now=clock.now(), tz=settings().app.timezone))
        if not error:
            flash("已提交完成信息，等待心愿发布人确认。", "success")
            return _back("pages.my_claimed_wishes")
    return render_template("wishes/complete.html", wish=wish, error=error, form=request.form,
                           server_ids=request.form.getlist("server_ids"),
                           jsapi_list=["chooseImage", "uploadImage"]), (error.status if error else 200)


@bp.post("/me/wishes/<int:wish_id>/release")
@volunteer_required
def wish_release(wish_id):
    _, error = attempt(lambda: wish_rules.release(g.volunteer, wish_id, request.form.get("reason", ""),
                                                  now=clock.now()))
    if error:
        if error.status == 404:
            raise error
        return render_template("wishes/complete.html", wish=wish_rules.get_wish(wish_id), error=None, form={},
                               release_error=error, reason=request.form.get("reason", ""),
                               jsapi_list=["chooseImage", "uploadImage"]), error.status
    flash("已放弃认领，该心愿已重新开放认领。", "success")
    return _back("pages.my_claimed_wishes")


# ----------------------------------------------------------------------------- 心愿审核
@bp.get("/admin/wishes")
@admin_required
def admin_wishes():
    tab = request.args.get("tab", "pending")
    if tab not in ("pending", "open", "claimed", "done", "rejected"):
        tab = "pending"
    now = clock.now()
    return render_template("wishes/admin_list.html", tab=tab, wishes=wishes.for_review(g.volunteer, state=tab, now=now),
                           districts=wishes.reviewable_districts(g.volunteer, now=now))


@bp.get("/admin/wishes/<int:wish_id>")
@admin_required
def admin_wish(wish_id):
    wish = wish_rules.get_wish(wish_id)
    if not wishes.can_review(g.volunteer, wish, now=clock.now()):
        raise RuleViolation("forbidden", "您没有审核该地区心愿的权限。", 403)
    return render_template("wishes/admin_detail.html", wish=wish, history=wishes.history(wish.id))


@bp.post("/admin/wishes/<int:wish_id>/review")
@admin_required
def admin_wish_review(wish_id):
    decision = request.form.get("decision")
    def run():
        if decision == "approve":
            wish_rules.approve(g.volunteer, wish_id, now=clock.now())
            return "已审核通过，心愿已发布。"
        if decision == "reject":
            wish_rules.reject(g.volunteer, wish_id, request.form.get("reason", ""), now=clock.now())
            return "已驳回该心愿。"
        abort(400)

    message, error = attempt(run)
    if error:
        if error.status in (403, 404):
            raise error
        wish = wish_rules.get_wish(wish_id)
        return render_template("wishes/admin_detail.html", wish=wish, history=wishes.history(wish.id), error=error,
                               reason=request.form.get("reason", "")), error.status
    flash(message, "success")
    return _back("pages.admin_wishes")

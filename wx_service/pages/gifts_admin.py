"""礼遇坊 for org admins: offer a gift (with a picture), the org's gifts, 下架, and 礼品核销 — a pickup
code typed (or scanned in chat, ``handlers.pickup``) and handed over once.  Rules: ``models.gifts``."""

from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, url_for

from models import RuleViolation
from models import gifts as gift_rules

from .. import clock
from ..config import settings
from ..uploads import removed_if_refused, store_image
from . import bp
from .fields import Date, Decimal, Form, Int, Text, parse
from .forms import act, attempt
from .guards import org_admin_required

PICTURE_MAX_BYTES = 5 * 1024 * 1024
PICTURE_SIDE = 800

GIFT_FORM = Form({
    "name": Text("礼遇名称", required=True, high=gift_rules.LIMITS["name"], fold=True,
                 message="{label}不能超过40个字。"),
    "cost": Decimal("所需积分", "gift_cost_invalid", "{label}应在1至100000之间。", required=True, low=1, high=100000),
    "stock": Int("库存数量", "gift_stock_invalid", "{label}应为1至100000的整数。", required=True, low=1, high=100000),
    "valid_from": Date("有效期开始", "gift_date_invalid", "{label}日期不正确。", required=True),
    "valid_until": Date("有效期结束", "gift_date_invalid", "{label}日期不正确。", required=True),
    "place": Text("领取地点", required=True, high=gift_rules.LIMITS["place"], fold=True,
                  message="{label}不能超过100个字。"),
    "description": Text("说明", high=gift_rules.LIMITS["description"], message="{label}不能超过500个字。"),
})


@bp.get("/admin/gifts")
@org_admin_required
def admin_gifts():
    return render_template("gifts/admin_list.html", gifts=gift_rules.gifts_of_org(g.admin_org.id))


@bp.route("/admin/gifts/new", methods=["GET", "POST"])
@org_admin_required
def admin_gift_new():
    if request.method == "GET":
        return render_template("gifts/admin_new.html", form={}, error=None)

    def offer():
        values = parse(GIFT_FORM, request.form)
        upload = request.files.get("picture")
        if upload is not None and upload.filename:
            values["picture"] = store_image(upload, "gifts", what="礼遇图片", max_bytes=PICTURE_MAX_BYTES,
                                            side=PICTURE_SIDE)
        with removed_if_refused(values.get("picture")):  # a refused gift keeps nothing, its picture neither
            return gift_rules.offer_gift(g.volunteer, values, now=clock.now(), tz=settings().app.timezone)

    gift, refused = attempt(offer)
    if refused is not None:
        return render_template("gifts/admin_new.html", form=request.form, error=refused), refused.status
    flash("礼遇已发布。", "success")
    return redirect(url_for("pages.gift_detail", gift_id=gift.id, account=g.account))


@bp.post("/admin/gifts/<int:gift_id>/withdraw")
@org_admin_required
def admin_gift_withdraw(gift_id: int):
    return act(lambda: gift_rules.withdraw_gift(g.volunteer, gift_id, now=clock.now()), "已下架。",
               url_for("pages.admin_gifts", account=g.account))


@bp.get("/admin/pickup")
@org_admin_required
def admin_pickup():
    """礼品核销: type the short number; the redemption is shown with its 确认领取 button."""
    code = request.args.get("pickup", "")
    redemption, error = None, None
    if code:
        try:
            redemption = gift_rules.find_by_code(g.volunteer, code, store=current_app.extensions["wx_store"],
                                                 now=clock.now())
        except RuleViolation as exc:
            redemption, error = None, exc
    status = error.status if error is not None else 200
    return render_template("gifts/admin_pickup.html", code=code, r=redemption, error=error), status


@bp.post("/admin/pickup/<int:redemption_id>")
@org_admin_required
def admin_hand_over(redemption_id: int):
    return act(lambda: gift_rules.hand_over(g.volunteer, redemption_id, proof=request.form.get("pickup", ""),
                                           now=clock.now()),
               "已确认领取。", url_for("pages.admin_pickup", account=g.account))

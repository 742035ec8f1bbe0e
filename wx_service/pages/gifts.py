"""礼遇坊 for volunteers: the gifts on offer, 立即兑换, 我的兑换 with the pickup code (QR + short
number), and cancelling an unclaimed redemption.  Every rule is in ``models.gifts``."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, url_for

from models import RuleViolation
from models import gifts as gift_rules
from models import points as points_ledger

from .. import clock
from ..config import settings
from . import bp
from .forms import act, attempt, page_arg
from .guards import volunteer_required
from .me import qr_png_response
from .media_files import send_picture


def _gift_or_404(gift_id: int):
    try:
        return gift_rules.get_gift(gift_id)
    except RuleViolation:
        abort(404)


@bp.get("/gifts")
@volunteer_required
def gifts():
    page = page_arg()
    offered = gift_rules.offered_gifts(now=clock.now(), tz=settings().app.timezone, page=page)
    return render_template("gifts/list.html", gifts=offered, page=page,
                           balance=points_ledger.balance(g.volunteer.id))


@bp.get("/gifts/<int:gift_id>")
@volunteer_required
def gift_detail(gift_id: int):
    gift = _gift_or_404(gift_id)
    return render_template("gifts/detail.html", gift=gift, balance=points_ledger.balance(g.volunteer.id),
                           available=gift.available(clock.now(), settings().app.timezone))


@bp.get("/gifts/<int:gift_id>/picture")
@volunteer_required
def gift_picture(gift_id: int):
    return send_picture(_gift_or_404(gift_id).picture, max_age=3600)


@bp.post("/gifts/<int:gift_id>/redeem")
@volunteer_required
def gift_redeem(gift_id: int):
    redemption, refused = attempt(lambda: gift_rules.redeem(g.volunteer, gift_id, now=clock.now(),
                                                            tz=settings().app.timezone))
    if refused is not None:
        flash(refused.message, "error")
        return redirect(url_for("pages.gift_detail", gift_id=gift_id, account=g.account))
    flash("兑换成功，请凭兑换码到领取地点领取。", "success")
    return redirect(url_for("pages.my_redemption", redemption_id=redemption.id, account=g.account))


@bp.get("/me/redemptions")
@volunteer_required
def my_redemptions():
    return render_template("gifts/mine.html", redemptions=gift_rules.redemptions_of(g.volunteer.id))


def _mine_or_404(redemption_id: int):
    try:
        return gift_rules.redemption_of(g.volunteer.id, redemption_id)
    except RuleViolation:
        abort(404)


@bp.get("/me/redemptions/<int:redemption_id>")
@volunteer_required
def my_redemption(redemption_id: int):
    return render_template("gifts/redemption.html", r=_mine_or_404(redemption_id))


@bp.get("/me/redemptions/<int:redemption_id>/qr.png")
@volunteer_required
def my_redemption_qr(redemption_id: int):
    redemption = _mine_or_404(redemption_id)
    return qr_png_response(redemption.qr_payload)


@bp.post("/me/redemptions/<int:redemption_id>/cancel")
@volunteer_required
def my_redemption_cancel(redemption_id: int):
    back = url_for("pages.my_redemption", redemption_id=redemption_id, account=g.account)
    return act(lambda: gift_rules.cancel_redemption(g.volunteer, redemption_id, now=clock.now()),
               "已取消兑换，积分和库存已退回。", back)

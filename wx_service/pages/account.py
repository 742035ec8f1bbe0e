"""账号绑定与解绑 (bind page reached through OAuth; a bound user sees the unbind form)."""

from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, url_for

from models import RuleViolation, accounts, db

from .. import clock
from ..wechat.binding import bound_volunteer
from ..wechat.oauth import person_required
from . import bp
from .forms import attempt


@bp.route("/bind", methods=["GET", "POST"])
@person_required
def bind():
    volunteer = bound_volunteer(g.account, g.openid)
    error = None
    if request.method == "POST" and volunteer is None:
        bound, error = attempt(lambda: accounts.bind(g.account, g.openid, request.form.get("id_number", ""),
                                                     request.form.get("password", ""), now=clock.now(),
                                                     store=current_app.extensions["wx_store"]))
        if not error:
            volunteer = bound
            if volunteer.password_must_change:
                flash("您使用的是一次性密码，请先设置新密码。", "error")
                return redirect(url_for("pages.change_password", account=g.account))
            flash("绑定成功。", "success")
            return redirect(url_for("pages.bind", account=g.account))
    status = error.status if error else 200
    return render_template("pages/bind.html", volunteer=volunteer, error=error), status


@bp.post("/unbind")
@person_required
def unbind():
    try:
        accounts.unbind(g.account, g.openid)
        db.session.commit()
    except RuleViolation as exc:
        flash(exc.message, "error")
    else:
        flash("已解除绑定，本微信将不再收到该志愿者账号的消息。", "success")
    return redirect(url_for("pages.bind", account=g.account))

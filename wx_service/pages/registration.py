"""志愿者注册 and 忘记密码: forms with an SMS code."""

from __future__ import annotations

from datetime import date

from flask import flash, g, redirect, render_template, request, url_for

from models import RuleViolation, accounts, db, identity

from .. import clock, sms
from ..config import settings
from ..wechat.oauth import person_required
from . import bp
from .forms import attempt
from .json_body import TEXT, json_fields


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError as exc:
        raise RuleViolation("birth_date_invalid", "出生日期格式不正确。") from exc


def _client_ip() -> str:
    return request.remote_addr or "unknown"


@bp.route("/register", methods=["GET", "POST"])
@person_required
def register():
    error = None
    if request.method == "POST":
        f = request.form
        def run():
            form = accounts.Registration(
                id_type=f.get("id_type", ""), id_number=f.get("id_number", ""), name=f.get("name", ""),
                gender=f.get("gender", ""), password=f.get("password", ""),
                password_repeat=f.get("password_repeat", ""), phone=f.get("phone", ""),
                sms_code=f.get("sms_code", ""), birth_date=_date(f.get("birth_date")),
                guardian_name=f.get("guardian_name") or None, guardian_phone=f.get("guardian_phone") or None,
                guardian_consent=f.get("guardian_consent") == "on")
            now = clock.now()
            volunteer = accounts.register(form, now=now, today=clock.today(),
                                          number_prefix=settings().app.volunteer_number_prefix)
            accounts.bind_new(g.account, g.openid, volunteer, now)
            return volunteer

        volunteer, error = attempt(run)
        if not error:
            flash(f"注册成功！您的志愿者编号是 {volunteer.number}。", "success")
            return redirect(url_for("pages.my_qrcode", account=g.account))
    return render_template("pages/register.html", error=error, form=request.form, id_types=identity.ID_TYPES,
                           genders=identity.GENDERS), (error.status if error else 200)


@bp.post("/api/sms-code")
@person_required
def send_sms_code():
    """Send a registration code to a phone (JSON; the register page calls it)."""
    data = json_fields(phone=TEXT)
    phone, code = accounts.request_register_code(data["phone"] or "", _client_ip(), clock.now(), **sms.limits())
    return sms.code_sent(phone, code)


@bp.route("/password/forgot", methods=["GET", "POST"])
@person_required
def forgot_password():
    """Step 1 answers the same whether or not the ID number and the name match (see accounts)."""
    error, step = None, request.form.get("step", "identify")
    if request.method == "POST":
        f = request.form
        try:
            if step == "identify":
                matched = accounts.request_reset_code(f.get("id_number", ""), f.get("name", ""), _client_ip(),
                                                      clock.now(), **sms.limits())
                db.session.commit()
                if matched:
                    volunteer, code = matched
                    sms.send_code(volunteer.phone, code)
                step = "reset"
            else:
                accounts.reset_password(f.get("id_number", ""), f.get("name", ""), f.get("sms_code", ""),
                                        f.get("password", ""), f.get("password_repeat", ""), clock.now(),
                                        account=g.account, openid=g.openid)
                db.session.commit()
                flash("密码已重置，请用新密码绑定。", "success")
                return redirect(url_for("pages.bind", account=g.account))
        except RuleViolation as exc:
            db.session.rollback()
            error = exc
    return render_template("pages/forgot_password.html", error=error, step=step, form=request.form,
                           daily_limit=settings().sms.daily_limit), \
        (error.status if error else 200)

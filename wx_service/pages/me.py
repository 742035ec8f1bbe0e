"""个人中心: basic data, profile edit, avatar, password, the volunteer's QR code."""

from __future__ import annotations

import io

import qrcode
from flask import abort, flash, g, redirect, render_template, request, send_file, url_for

from jobs.storage import storage
from models import RuleViolation, accounts, db, identity, volunteer_qr
from models.integrity import audit_log, codes
from models.organization import ACTIVE, admin_org_of
from models.records import national, stars

from .. import clock
from ..config import settings
from ..uploads import store_image
from . import bp
from .forms import attempt
from .guards import volunteer_required
from .integrity import personal_payload
from .media_files import send_picture

AVATAR_MAX_BYTES = 2 * 1024 * 1024
AVATAR_SIZE = 256

# Functions later issues fill; each page says plainly that it is not available yet.
NOT_YET: dict[str, str] = {}


@bp.get("/me")
@volunteer_required
def me():
    admin_org = admin_org_of(g.volunteer.id)
    return render_template("pages/me.html", v=g.volunteer, not_yet=NOT_YET, id_types=identity.ID_TYPES,
                           star=stars.standing(g.volunteer.id, settings().records.star_hours),
                           may_export_national=national.may_export(g.volunteer, settings().records.export_max_level)
                           is not None,
                           may_audit=audit_log.may_audit(admin_org),
                           genders=identity.GENDERS, admin_org=admin_org if admin_org and admin_org.status == ACTIVE
                           else None)


@bp.route("/me/profile", methods=["GET", "POST"])
@volunteer_required
def profile():
    error = None
    if request.method == "POST":
        _, error = attempt(lambda: accounts.update_profile(g.volunteer, request.form.to_dict()))
        if not error:
            flash("资料已保存。", "success")
            return redirect(url_for("pages.profile", account=g.account))
    return render_template("pages/profile.html", v=g.volunteer, error=error, id_types=identity.ID_TYPES,
                           genders=identity.GENDERS), (error.status if error else 200)


def _store_avatar(upload) -> str:
    return store_image(upload, "avatars", what="头像图片", max_bytes=AVATAR_MAX_BYTES, side=AVATAR_SIZE, square=True,
                       prefix=f"{g.volunteer.id}-")


@bp.route("/me/avatar", methods=["GET", "POST"])
@volunteer_required
def avatar():
    if request.method == "POST":
        upload = request.files.get("avatar")
        if upload is None or not upload.filename:
            raise RuleViolation("avatar_missing", "请选择一张图片。")
        old = g.volunteer.avatar_path
        g.volunteer.avatar_path = _store_avatar(upload)
        db.session.commit()
        if old:
            storage().delete(old)
        flash("头像已更新。", "success")
        return redirect(url_for("pages.me", account=g.account))
    return render_template("pages/avatar.html", v=g.volunteer)


@bp.get("/me/avatar.jpg")
@volunteer_required
def avatar_image():
    return send_picture(g.volunteer.avatar_path)


@bp.route("/me/password", methods=["GET", "POST"])
@volunteer_required
def change_password():
    error = None
    if request.method == "POST":
        f = request.form
        _, error = attempt(lambda: accounts.change_password(g.volunteer, f.get("old_password", ""), f.get("password", ""),
                                                            f.get("password_repeat", "")))
        if not error:
            flash("密码已修改。", "success")
            return redirect(url_for("pages.me", account=g.account))
    return render_template("pages/change_password.html", error=error,
                           must_change=g.volunteer.password_must_change), (error.status if error else 200)


def qr_png(data: str, box_size: int = 8) -> bytes:
    image = qrcode.make(data, box_size=box_size, border=2)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def qr_png_response(data: str):
    response = send_file(io.BytesIO(qr_png(data)), mimetype="image/png")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/me/qrcode")
@volunteer_required
def my_qrcode():
    return render_template("pages/qrcode.html", v=g.volunteer,
                           refresh_in=codes.seconds_left(clock.now(), codes.PERSONAL_WINDOW),
                           window=codes.PERSONAL_WINDOW)


@bp.get("/me/qrcode.png")
@volunteer_required
def my_qrcode_png():
    """The personal centre's code: signed, changing every minute (a screenshot goes stale)."""
    return qr_png_response(personal_payload(g.volunteer, clock.now()))


@bp.get("/me/qrcode/card.png")
@volunteer_required
def my_qrcode_card_png():
    """The printed card's static code: accepted only at a desk (服务台), for 单签."""
    return qr_png_response(volunteer_qr.payload(g.volunteer))


@bp.get("/me/qrcode/card")
@volunteer_required
def my_qrcode_card():
    return render_template("pages/qrcode_card.html", v=g.volunteer)


@bp.post("/me/qrcode/regenerate")
@volunteer_required
def regenerate_qrcode():
    volunteer_qr.regenerate(g.volunteer)
    db.session.commit()
    flash("二维码已重新生成，旧二维码已失效。", "success")
    return redirect(url_for("pages.my_qrcode", account=g.account))


@bp.get("/me/<section>")
@volunteer_required
def not_available(section):
    if section not in NOT_YET:
        abort(404)
    return render_template("pages/not_yet.html", title=NOT_YET[section])

"""一喊就来 for admins (manual part 4 §三.1 (1), 图4-16/4-17): 结对人列表, 增加 / 修改 求助人 and
their paired volunteers, 审核 by the 上级实践所, and the open / escalated requests with 指派."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for

from models import RuleViolation, identity
from models import help_request as hr
from models import help_seeker as hs

from .. import clock
from ..config import settings
from ..uploads import store_image
from . import bp
from .fields import Form, Text, parse
from .forms import act, attempt
from .guards import org_admin_required as admin_required

PHOTO_MAX_BYTES = 4 * 1024 * 1024
PHOTO_SIDE = 480
TABS = ("list", "review", "requests")


def _store_photo(upload) -> str | None:
    if upload is None or not upload.filename:
        return None
    return store_image(upload, "help_photos", what="照片", max_bytes=PHOTO_MAX_BYTES, side=PHOTO_SIDE)


#: The checks of each field alone, beside its label, length and whether it is required (``hs.FIELDS``).
_CHECKS = {"name": identity.check_name, "phone": hs.check_contact_phone, "mobile": identity.check_phone,
           "emergency_phone": identity.check_phone}

#: 增加求助人 / 修改 (图4-17): blanks folded (the notes keep their lines); the ID number against today and the
#: emergency contact are checked by ``models.help_seeker``.
SEEKER_FORM = Form({
    key: Text(label, f"{key}_too_long", f"{{label}}不能超过{limit}个字。", required=required, high=limit,
              fold=key != "notes", check=_CHECKS.get(key))
    for key, (label, limit, required) in hs.FIELDS.items()
}, missing="{key}_required", strict_edit=True)


def _fields(*, edit: bool = False) -> dict:
    """The posted seeker fields, typed; on an edit, only those present, and a blank ID number is kept."""
    form = {k: request.form[k] for k in SEEKER_FORM.fields if k in request.form}
    if edit and not form.get("id_number", "").strip():  # the form shows it masked: left blank, it is kept
        form.pop("id_number", None)
    return parse(SEEKER_FORM, form, partial=edit)


@bp.get("/admin/seekers")
@admin_required
def admin_seekers():
    tab = request.args.get("tab", "list")
    if tab not in TABS:
        tab = "list"
    keyword = request.args.get("q", "").strip()
    seekers = hs.seekers_for_admin(g.volunteer, keyword=keyword) if tab == "list" else []
    review = hs.seekers_to_review(g.volunteer)
    requests = hr.requests_for_admin(g.volunteer, states=(hr.ESCALATED, hr.OPEN, hr.CLAIMED))
    return render_template("help/admin_seekers.html", tab=tab, keyword=keyword, seekers=seekers, review=review,
                           requests=requests)


@bp.route("/admin/seekers/new", methods=["GET", "POST"])
@admin_required
def admin_seeker_new():
    error, form = None, {}
    if request.method == "POST":
        form = request.form.to_dict()
        def run():
            photo = _store_photo(request.files.get("photo"))
            return hs.add_seeker(g.volunteer, _fields(), request.form.get("volunteers", ""), now=clock.now(),
                                 photo_path=photo)

        seeker, error = attempt(run)
        if not error:
            flash("已增加求助人，等待上级实践所审核。", "success")
            return redirect(url_for("pages.admin_seeker", seeker_id=seeker.id))
    return render_template("help/admin_seeker_form.html", seeker=None, form=form, error=error,
                           labels=hs.FIELDS), (error.status if error else 200)


@bp.route("/admin/seekers/<int:seeker_id>", methods=["GET", "POST"])
@admin_required
def admin_seeker(seeker_id):
    seeker = hs.get_seeker(seeker_id)
    if not (hs.is_station_admin(g.volunteer, seeker) or hs.may_review(g.volunteer, seeker)):
        raise RuleViolation("forbidden", "您没有管理该求助人的权限。", 403)
    error = None
    if request.method == "POST":
        def run():
            photo = _store_photo(request.files.get("photo"))
            hs.edit_seeker(g.volunteer, seeker_id, _fields(edit=True), now=clock.now(), photo_path=photo)

        _, error = attempt(run)
        if not error:
            flash("已保存。", "success")
            return redirect(url_for("pages.admin_seeker", seeker_id=seeker_id))
    seeker = hs.get_seeker(seeker_id)
    form = {"name": seeker.name, "id_number": "", "address": seeker.address, "phone": seeker.phone,
            "mobile": seeker.mobile, "emergency_name": seeker.emergency_name or "",
            "emergency_phone": seeker.emergency_phone, "notes": seeker.notes}
    if error:
        form.update({k: v for k, v in request.form.items() if k != "id_number"})  # never echoed whole
    return render_template("help/admin_seeker_form.html", seeker=seeker, form=form, error=error, labels=hs.FIELDS,
                           can_edit=hs.is_station_admin(g.volunteer, seeker),
                           can_review=hs.may_review(g.volunteer, seeker) and seeker.state == hs.PENDING
                           ), (error.status if error else 200)


@bp.post("/admin/seekers/<int:seeker_id>/<op>")
@admin_required
def admin_seeker_action(seeker_id, op):
    now, actor, form = clock.now(), g.volunteer, request.form
    back = url_for("pages.admin_seeker", seeker_id=seeker_id)
    if op == "pair":
        return act(lambda: hs.add_pairings(actor, seeker_id, form.get("volunteers", ""), now=now),
                   "已添加结对志愿者（现有 {result} 人）。", back)
    if op == "unpair":
        return act(lambda: hs.remove_pairing(actor, seeker_id, form.get("volunteer_id", type=int), now=now),
                   "已解除结对。", back)
    if op == "review":
        approve = form.get("decision") == "approve"
        return act(lambda: hs.review_seeker(actor, seeker_id, approve, now=now),
                   "已审核通过，老人现在可以求助了。" if approve else "已退回该求助人资料。",
                   url_for("pages.admin_seekers", tab="review"))
    abort(404)


@bp.post("/admin/help/requests/<int:request_id>/assign")
@admin_required
def admin_help_assign(request_id):
    key = request.form.get("volunteer", "")
    return act(lambda: hr.assign(g.volunteer, request_id, key, now=clock.now(),
                                 tz=settings().app.timezone),
               "已指派，并已通知该志愿者。", url_for("pages.help_request_page", request_id=request_id))

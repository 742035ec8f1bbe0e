"""随手拍 (upload from a running project's page with JS-SDK chooseImage/uploadImage), 审照 by the project's
admins, 我的相册, 文明万象 (the city-wide wall) and 撤下.  Rules: ``models.photos``; files: the media pipeline."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for

from models import RuleViolation, db
from models import photos as ph
from models import project as pr

from .. import clock
from . import bp
from .forms import act, attempt, ids_of, next_path, page_arg
from .guards import volunteer_required
from .media_files import send_media


def _project_or_404(project_id: int):
    try:
        return pr.get_project(project_id)
    except RuleViolation:
        abort(404)


@bp.route("/projects/<int:project_id>/photos/new", methods=["GET", "POST"])
@volunteer_required
def photo_upload(project_id: int):
    project = _project_or_404(project_id)
    error = None
    if request.method == "POST":
        made, error = attempt(lambda: ph.upload(g.volunteer, project_id, g.account, request.form.getlist("server_ids"),
                                                now=clock.now()))
        if error is None:
            flash(f"已上传 {len(made)} 张照片，项目管理员审核后将在文明万象中展示。", "success")
            return redirect(url_for("pages.my_photos", account=g.account))
    status = error.status if error is not None else 200
    return render_template("photos/upload.html", project=project, error=error,
                           jsapi_list=["chooseImage", "uploadImage"]), status


@bp.get("/photos")
@volunteer_required
def photo_wall():
    page = page_arg()
    return render_template("photos/wall.html", photos=ph.wall(page=page), page=page)


@bp.get("/me/photos")
@volunteer_required
def my_photos():
    return render_template("photos/album.html", groups=ph.album(g.volunteer.id))


@bp.get("/photos/<int:photo_id>/<any(file, thumb):size>")
@volunteer_required
def photo_file(photo_id: int, size: str):
    photo = db.session.get(ph.ProjectPhoto, photo_id)
    if photo is None or not ph.may_see(g.volunteer, photo, now=clock.now()):
        abort(404)
    return send_media(photo.item, thumbnail=size == "thumb", max_age=3600)


@bp.route("/admin/projects/<int:project_id>/photos", methods=["GET", "POST"])
@volunteer_required
def admin_photos(project_id: int):
    """审照: approve or reject the photos waiting; withdraw one already shown."""
    project = _project_or_404(project_id)
    if not ph.may_manage(g.volunteer, project, now=clock.now()):
        abort(403)
    back = url_for("pages.admin_photos", project_id=project_id, account=g.account)
    if request.method == "POST":
        approve = request.form.get("decision") == "approve"
        return act(lambda: ph.review(g.volunteer, project_id, ids_of(request.form.getlist("photo_ids")), approve,
                                     now=clock.now()),
                   "已审核 {result} 张照片。", back)
    return render_template("photos/review.html", project=project, pending=ph.to_review(project_id),
                           shown=ph.shown_of_project(project_id))


@bp.post("/photos/<int:photo_id>/withdraw")
@volunteer_required
def photo_withdraw(photo_id: int):
    return act(lambda: ph.withdraw(g.volunteer, photo_id, now=clock.now()), "照片已撤下。",
               next_path(url_for("pages.my_photos", account=g.account)))

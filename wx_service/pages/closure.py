"""结项 (发布小结): an admin of the project's org writes the summary and adds photos (JS-SDK), received by
the one media pipeline (``models.closure.PHOTO``); the photos are served to the same admins."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for

from models import closure
from models import project as pr

from .. import clock
from . import bp
from .forms import attempt
from .guards import volunteer_required
from .media_files import send_media


@bp.route("/admin/projects/<int:project_id>/closure", methods=["GET", "POST"])
@volunteer_required
def project_closure(project_id):
    project = pr.get_project(project_id)
    pr.require_project(g.volunteer, project, "close_project", now=clock.now())
    error = None
    if request.method == "POST":
        _made, error = attempt(lambda: closure.close_project(
            g.volunteer, project.id, request.form.get("summary", ""), request.form.getlist("media_id"),
            account=g.account, now=clock.now()))
        if not error:
            flash("小结已发布，项目已结项。", "success")
            return redirect(url_for("pages.project_closure", project_id=project.id, account=g.account))
    return render_template("projects/closure.html", p=project, closed=closure.closure_of(project.id),
                           photos=closure.photos_of(project.id), error=error, form=request.form,
                           min_han=closure.SUMMARY_MIN_HAN, max_photos=closure.MAX_PHOTOS,
                           jsapi_list=["chooseImage", "uploadImage"]), (error.status if error else 200)


@bp.get("/admin/projects/<int:project_id>/closure/photos/<int:photo_id>/<any(file, thumb):size>")
@volunteer_required
def closure_photo_file(project_id: int, photo_id: int, size: str):
    project = pr.get_project(project_id)
    pr.require_project(g.volunteer, project, "close_project", now=clock.now())
    photo = closure.photo_of(project.id, photo_id)
    if photo is None:
        abort(404)
    return send_media(photo.item, thumbnail=size == "thumb", max_age=3600)

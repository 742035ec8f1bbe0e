"""结项 (发布小结): an admin of the project's org writes the summary and adds photos (JS-SDK)."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for

from jobs.closure import download_closure_photos
from models import closure
from models import project as pr

from .. import clock
from . import bp
from .forms import attempt
from .guards import volunteer_required


@bp.route("/admin/projects/<int:project_id>/closure", methods=["GET", "POST"])
@volunteer_required
def project_closure(project_id):
    project = pr.get_project(project_id)
    pr.require_project(g.volunteer, project, "close_project", now=clock.now())
    error = None
    if request.method == "POST":
        def run():
            made = closure.close_project(g.volunteer, project.id, request.form.get("summary", ""),
                                         request.form.getlist("media_id"), account=g.account, now=clock.now())
            download_closure_photos.later(project.id)
            return made

        _made, error = attempt(run)
        if not error:
            flash("小结已发布，项目已结项。", "success")
            return redirect(url_for("pages.project_closure", project_id=project.id, account=g.account))
    return render_template("projects/closure.html", p=project, closed=closure.closure_of(project.id),
                           photos=closure.photos_of(project.id), error=error, form=request.form,
                           min_han=closure.SUMMARY_MIN_HAN, max_photos=closure.MAX_PHOTOS,
                           jsapi_list=["chooseImage", "uploadImage"]), (error.status if error else 200)

"""数据导出 pages: ask for an export (成员 / 时长, CSV or Excel), watch its progress, download the file.

The export runs as a job (``jobs.exports.run_export``); the page polls ``/m/api/exports/<id>`` for the
bar and shows the download link when done.  Only the admin who asked sees an export or its file; each
download is counted on the export row (the audit).
"""

from __future__ import annotations

from flask import g, jsonify, redirect, render_template, request, url_for

from jobs.exports import content_type, run_export
from models import RuleViolation, db
from models import exports as ex
from models.stats import exports as stats_exports
from models.stats import reads

from .. import clock
from . import bp
from .forms import as_id
from .guards import org_admin_required
from .media_files import send_stored


def _form_params(org_id: int) -> dict:
    params = {"org_id": org_id, "children": request.form.get("children", "1") != "0"}
    if request.form.get("kind") == stats_exports.HOURS.name:
        first, last = reads.month_range(request.form.get("first", "").strip(), request.form.get("last", "").strip(),
                                        clock.today())
        params.update(first=first, last=last)
    return params


@bp.route("/admin/exports", methods=["GET", "POST"])
@org_admin_required
def admin_exports():
    org_id = as_id(request.values.get("org")) or g.admin_org.id
    if request.method == "POST":
        kind = request.form.get("kind", "")
        if kind not in ex.listed_kinds():  # a kind with a page of its own (全国系统数据) is asked for there
            raise RuleViolation("export_kind", "未知的导出类型。", 404)
        export = ex.request_export(g.volunteer, kind, _form_params(org_id), request.form.get("fmt", ""), now=clock.now())
        run_export.later(export.id)
        db.session.commit()
        return redirect(url_for("pages.admin_export", export_id=export.id))
    first, last = reads.month_range("", "", clock.today())
    return render_template("stats/exports.html", org_id=org_id, exports=ex.exports_of(g.volunteer),
                           kinds=ex.listed_kinds(), formats=ex.FORMATS, first=first, last=last)


@bp.get("/admin/exports/<int:export_id>")
@org_admin_required
def admin_export(export_id):
    return render_template("stats/export.html", export=ex.get_export(g.volunteer, export_id))


@bp.get("/api/exports/<int:export_id>")
@org_admin_required
def export_progress(export_id):
    export = ex.get_export(g.volunteer, export_id)
    return jsonify(state=export.state, label=export.state_label, percent=export.percent, rows_done=export.rows_done,
                   rows_total=export.rows_total,
                   download=url_for("pages.admin_export_download", export_id=export.id) if export.state == ex.DONE
                   else None)


@bp.get("/admin/exports/<int:export_id>/download")
@org_admin_required
def admin_export_download(export_id):
    export = ex.get_export(g.volunteer, export_id)
    ex.record_download(export, clock.now())
    db.session.commit()
    name = f"{export.title}_{export.created_at:%Y%m%d%H%M}.{ex.extension(export)}"
    return send_stored(export.path, content_type(export), as_attachment=True, download_name=name)

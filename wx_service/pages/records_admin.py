"""Org admins' side of the record: 培训/表彰奖励/评价 for a member, the member's 统一编号 (city admins), 证书打印 for a
participant of a project (参与成员), revoking a certificate issued in the org's name, and the export to 全国志愿服务信息系统 (a kind of the one export mechanism:
a job with progress, audited by its ``Export`` row)."""

from __future__ import annotations

from flask import g, redirect, render_template, request, url_for

from jobs.exports import run_export
from models import RuleViolation, db
from models import exports as ex
from models import membership as ms
from models.records import certificates as certs
from models.records import entries, national
from models.records.tables import ENTRY_KINDS, STATE_LABELS

from .. import clock
from ..config import settings
from . import bp
from .certificates import send_certificate, verify_url
from .fields import Choice, Date, Form, Text, parse
from .forms import act, attempt
from .guards import org_admin_required as admin_required
from .punch_context import origin

ENTRY_FORM = Form({
    "kind": Choice("记录类别", required=True, options=ENTRY_KINDS, message="请选择记录类别。"),
    "title": Text("名称", required=True, low=2, high=entries.TITLE_MAX, fold=True,
                  message=f"名称为2至{entries.TITLE_MAX}字。"),
    "detail": Text("说明", high=entries.DETAIL_MAX, fold=True, message=f"说明不超过{entries.DETAIL_MAX}字。"),
    "day": Date("日期", required=True, message="请填写正确的日期。"),
})


# ------------------------------------------------------------------------------ a member's record
@bp.route("/admin/members/<int:volunteer_id>/record", methods=["GET", "POST"])
@admin_required
def admin_member_record(volunteer_id):
    org_id = request.args.get("org", g.admin_org.id, type=int)
    membership = ms.member_profile(g.volunteer, org_id, volunteer_id, now=clock.now())
    error = None
    if request.method == "POST":
        def record():
            values = parse(ENTRY_FORM, request.form)
            return entries.record_entry(g.volunteer, volunteer_id, membership.org_id, values["kind"], values["title"],
                                        values.get("detail", ""), values["day"], now=clock.now(), today=clock.today())

        _, error = attempt(record)
        if not error:
            return redirect(url_for("pages.admin_member_record", volunteer_id=volunteer_id, org=membership.org_id))
    return render_template("records/admin_member_record.html", membership=membership, person=membership.volunteer,
                           entries=entries.entries_of(volunteer_id, by=membership.org), kinds=ENTRY_KINDS, error=error,
                           national_number=certs.national_number_of(volunteer_id), city_admin=g.admin_org.level == 1,
                           form=request.form), (error.status if error else 200)


@bp.post("/admin/members/<int:volunteer_id>/national-number")
@admin_required
def admin_member_national_number(volunteer_id):
    org_id = request.args.get("org", g.admin_org.id, type=int)
    ms.member_profile(g.volunteer, org_id, volunteer_id, now=clock.now())
    return act(lambda: national.set_national_number(g.volunteer, volunteer_id, request.form.get("number", ""),
                                                    now=clock.now()),
               "统一编号已保存。", url_for("pages.admin_member_record", volunteer_id=volunteer_id, org=org_id))


# ------------------------------------------------------------------------------ 证书撤销
@bp.route("/admin/certificates", methods=["GET", "POST"])
@admin_required
def admin_certificates():
    """Look a certificate up by its number; revoke it (issuer's admins and above) with a reason."""
    number = request.values.get("number", "")
    cert = certs.by_number(number) if number else None
    if request.method == "POST" and cert is not None:
        return act(lambda: certs.revoke(g.volunteer, cert.id, request.form.get("reason", ""), now=clock.now()),
                   "证书已撤销。", url_for("pages.admin_certificates", number=cert.number))
    if request.method == "POST":
        raise RuleViolation("certificate_not_found", "未查到该编号的证书。", 404)
    return render_template("records/admin_certificates.html", number=number, cert=cert,
                           status=certs.status_of(cert) if cert else None, labels=STATE_LABELS,
                           asked=bool(number)), (404 if number and cert is None else 200)


# ------------------------------------------------------------------------------ 证书打印 (参与成员)
@bp.post("/admin/signups/<int:project_id>/volunteers/<int:volunteer_id>/certificate")
@admin_required
def admin_print_certificate(project_id, volunteer_id):
    """证书打印 on 参与成员: the participant's certificate of this project, issued by the project's org, audited."""
    conf = settings()
    cert = certs.print_for_member(g.volunteer, project_id, volunteer_id, thresholds=conf.records.star_hours,
                                  now=clock.now(), tz=conf.app.timezone, origin=origin())
    db.session.commit()
    return redirect(url_for("pages.admin_certificate", certificate_id=cert.id, project=project_id))


@bp.get("/admin/certificates/<int:certificate_id>")
@admin_required
def admin_certificate(certificate_id):
    cert = certs.for_admin(g.volunteer, certificate_id, now=clock.now())
    return render_template("records/admin_certificate.html", cert=cert, content=cert.content,
                           status=certs.status_of(cert), labels=STATE_LABELS, verify=verify_url(cert.number),
                           project_id=request.args.get("project", type=int))


@bp.get("/admin/certificates/<int:certificate_id>.<any(pdf, png):extension>")
@admin_required
def admin_certificate_file(certificate_id, extension):
    return send_certificate(certs.for_admin(g.volunteer, certificate_id, now=clock.now()), extension)


# ------------------------------------------------------------------------------ 全国系统数据导出
@bp.route("/admin/national", methods=["GET", "POST"])
@admin_required
def admin_national():
    """The national record's own page on the one export mechanism: progress and download are the shared ones."""
    conf = settings().records
    if national.may_export(g.volunteer, conf.export_max_level) is None:
        raise RuleViolation("forbidden", "只有市级组织管理员可以导出全国志愿服务信息系统数据。", 403)
    if request.method == "POST":
        def start():
            export = national.request_export(g.volunteer, request.form.get("fmt", "csv"),
                                             max_level=conf.export_max_level, whole_id_level=conf.id_number_max_level,
                                             tz=settings().app.timezone, now=clock.now())
            run_export.later(export.id)
            return export

        return act(start, "导出已开始，完成后可在本页下载。", url_for("pages.admin_national"))
    return render_template("records/admin_national.html", exports=ex.exports_of(g.volunteer, kind=national.NAME),
                           sheets=national.NATIONAL.sheets, formats=ex.FORMATS)

"""考勤 pages of admins: a project's 考勤管理 (定位, 查看, 扫码签到, 时长清单), the page a chat scan's
numbered link completes, 补签审核, 时长异议 (part 3 §三.5, §三.7, §三.9; part 2 §三.15, §三.18)."""

from __future__ import annotations

from flask import abort, flash, g, jsonify, redirect, render_template, request, url_for

from handlers.scan import read_scan_link_token
from models import RuleViolation, Volunteer, db, positions, project_rules, volunteer_qr
from models import hours as service_hours
from models import project as pr
from models.attendance import makeup as att_makeup
from models.attendance import objection as att_objection
from models.attendance import punches as att_punches
from models.integrity import flags, offline

from .. import clock
from . import bp
from .attendance import _position, rules
from .forms import act, attempt
from .guards import volunteer_required
from .json_body import POSITION, TEXT, json_fields
from .punch_context import PERSONAL, key, origin


def _manageable(project, now) -> dict:
    can = {a: pr.can_manage_project(g.volunteer, project, a, now=now)
           for a in ("locate_project", "scan_assist", "edit_project")}
    if not any(can.values()):
        raise RuleViolation("forbidden", "您没有管理该项目的权限。", 403)
    return can


@bp.get("/admin/projects/<int:project_id>/attendance")
@volunteer_required
def admin_attendance(project_id):
    project = pr.get_project(project_id)
    now = clock.now()
    can = _manageable(project, now)
    sites = [(s, positions.map_link(positions.Position(s.latitude, s.longitude), s.label or "活动位置"))
             for s in project.sites]
    return render_template("attendance/admin_project.html", p=project, can=can, sites=sites, now=now,
                           hours=service_hours.project_hours(project.id), local=clock.local_text,
                           flags=flags.flags_for_project(project.id), late=offline.late_punches(project.id),
                           public=att_objection.public_cycles(project.id, now=now),
                           jsapi_list=["getLocation", "scanQRCode", "chooseImage", "uploadImage"])


@bp.post("/api/admin/projects/<int:project_id>/locate")
@volunteer_required
def admin_locate(project_id):
    """定位: a site at the admin's current position (several allowed)."""
    data = json_fields(label=TEXT, **POSITION)
    position = _position(data, required=True)
    site = project_rules.add_site(g.volunteer, project_id, position.latitude, position.longitude,
                       (data["label"] or "").strip()[:100] or "现场定位", now=clock.now())
    db.session.commit()
    accuracy = f"（定位精度约{position.accuracy:.0f}米）" if position.accuracy is not None else ""
    return jsonify(ok=True, site_id=site.id, message=f"已将当前位置设为活动位置{accuracy}。",
                   link=positions.map_link(position, "活动位置"))


@bp.post("/api/admin/projects/<int:project_id>/scan")
@volunteer_required
def admin_scan(project_id):
    """扫码签到 on the project page: the payload from ``wx.scanQRCode``."""
    data = json_fields(payload=TEXT, **POSITION)
    now = clock.now()
    volunteer, _ = volunteer_qr.scanned_volunteer(data["payload"] or "", key(PERSONAL), now)
    cycle = att_punches.scan_assist(g.volunteer, project_id, volunteer, now=now, rules=rules(),
                                    position=_position(data), origin=origin())
    db.session.commit()
    return jsonify(ok=True, message=f"{volunteer.masked_name} 签到成功，计{cycle.hours}小时。")


@bp.route("/admin/scan/<int:project_id>", methods=["GET", "POST"])
@volunteer_required
def admin_scan_link(project_id):
    """The numbered link of a chat scan with several running projects: confirm to sign the volunteer in."""
    project = pr.get_project(project_id)
    scanned = request.values.get("scanned", "")
    volunteer_id = read_scan_link_token(scanned, g.volunteer.id)
    volunteer = db.session.get(Volunteer, volunteer_id) if volunteer_id else None
    if volunteer is None:
        raise RuleViolation("scan_link_expired", "链接已失效，请重新扫码。", 410)
    error = None
    if request.method == "POST":
        cycle, error = attempt(lambda: att_punches.scan_assist(g.volunteer, project.id, volunteer, now=clock.now(),
                                                               rules=rules(), origin=origin()))
        if not error:
            flash(f"{volunteer.masked_name} 已在“{project.name}”签到，计{cycle.hours}小时。", "success")
            return redirect(url_for("pages.admin_attendance", project_id=project.id, account=g.account))
    return render_template("attendance/scan_confirm.html", p=project, v=volunteer, scanned=scanned,
                           error=error), (error.status if error else 200)


# ---------------------------------------------------------------------------------- 补签审核
@bp.get("/admin/makeups")
@volunteer_required
def admin_makeups():
    return render_template("attendance/admin_makeups.html", makeups=att_makeup.pending_makeups_for(g.volunteer),
                           local=clock.local_text)


@bp.get("/admin/makeups/<int:makeup_id>")
@volunteer_required
def admin_makeup(makeup_id):
    made = att_makeup.get_makeup(makeup_id)
    if not att_makeup.may_review_makeup(g.volunteer, made, now=clock.now()):
        abort(403)
    return render_template("attendance/makeup_detail.html", m=made, local=clock.local_text, admin=True)


@bp.post("/admin/makeups/<int:makeup_id>")
@volunteer_required
def admin_makeup_action(makeup_id):
    now, op = clock.now(), request.form.get("op")
    back = url_for("pages.admin_makeup", makeup_id=makeup_id, account=g.account)
    onward = url_for("pages.admin_makeups", account=g.account)
    if op == "approve":
        return act(lambda: att_makeup.approve_makeup(g.volunteer, makeup_id, now=now, rules=rules(), origin=origin()),
                   "已通过，补签时长 {result.hours} 小时进入公示。", back, onward)
    if op == "reject":
        return act(lambda: att_makeup.reject_makeup(g.volunteer, makeup_id, request.form.get("reason", ""), now=now),
                   "已拒绝该补签申请。", back, onward)
    abort(400)


# ---------------------------------------------------------------------------------- 时长异议
@bp.get("/admin/objections")
@volunteer_required
def admin_objections():
    return render_template("attendance/admin_objections.html", objections=att_objection.pending_objections_for(g.volunteer),
                           local=clock.local_text)


@bp.post("/admin/objections/<int:objection_id>")
@volunteer_required
def admin_objection_action(objection_id):
    now, op, reply = clock.now(), request.form.get("op"), request.form.get("reply", "")
    back = url_for("pages.admin_objections", account=g.account)
    if op == "uphold":
        return act(lambda: att_objection.uphold_objection(g.volunteer, objection_id, reply, now=now, origin=origin()),
                   "异议成立：该时长记录及相应积分已取消。", back)
    if op == "dismiss":
        return act(lambda: att_objection.dismiss_objection(g.volunteer, objection_id, reply, now=now),
                   "异议不成立：该时长记录保持不变。", back)
    abort(400)

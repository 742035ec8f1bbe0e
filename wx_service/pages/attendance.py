"""考勤 pages of volunteers: 打卡签到, 申请补签 / 我的补签申请, 时长公示 / 我有异议 / 我的异议,
我的服务记录, 我的积分 (part 3 §二.7–8, §二.11; part 2 §二.9–10, §二.12).

Thin: read input, call ``models.attendance``, commit, render.  The time comes from ``clock.now()``
(tests stop it), positions from the JS-SDK in gcj02.
"""

from __future__ import annotations

from flask import (
    abort,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)

from models import RuleViolation, db, positions
from models import attendance as att
from models import hours as service_hours
from models import points as points_ledger
from models import project as pr
from models import signup as su
from models.attendance import makeup as att_makeup
from models.attendance import objection as att_objection
from models.attendance import punches as att_punches
from models.integrity import noshows

from .. import clock
from ..config import settings
from ..wechat.binding import bound_volunteer
from ..wechat.oauth import person_required
from . import bp
from .forms import attempt
from .guards import volunteer_required
from .json_body import NUMBER, POSITION, TEXT, json_fields
from .media_files import send_media
from .punch_context import extras


def rules() -> att_punches.Rules:
    return att_punches.rules_of(settings())


def _position(data, *, required: bool = False):
    """A gcj02 position from ``latitude``/``longitude``/``accuracy`` (``datum`` wgs84 is converted)."""
    lat, lng = data.get("latitude"), data.get("longitude")
    if lat in (None, "") or lng in (None, ""):
        if required:
            raise RuleViolation("position_required", "需要获取您的位置，请允许获取位置后重试。")
        return None
    return positions.parse(lat, lng, data.get("accuracy"), data.get("datum") or positions.GCJ02)


def _local(moment):
    return clock.local_text(moment, "%H:%M") if moment else ""


# ------------------------------------------------------------------------------- 打卡签到
@bp.get("/checkin")
@volunteer_required
def checkin_list():
    now = clock.now()
    return render_template("attendance/checkin_list.html", projects=att_punches.checkin_projects(g.volunteer.id, now=now),
                           makeup_projects=att_makeup.makeup_projects(g.volunteer.id, now=now, tz=rules().tz),
                           open_cycle=att_punches.open_cycle_of(g.volunteer.id), now=now)


def _checkin_state(project, volunteer, now):
    tz = rules().tz
    today = pr.local_now(now, tz).date()
    signup = su.signup_of(volunteer.id, project.id)
    open_cycle = att_punches.open_cycle_of(volunteer.id)
    if open_cycle is not None and open_cycle.deadline is not None and open_cycle.deadline < now:
        open_cycle = None  # past its deadline: it lapses at the next punch or job run
    cycles = att_punches.cycles_today(volunteer.id, project.id, now=now, tz=tz)
    state = {"accepted": signup is not None and signup.state == su.ACCEPTED, "today": today,
             "activity_day": project.start_date <= today <= project.end_date, "cycles": cycles,
             "open_here": open_cycle if open_cycle is not None and open_cycle.project_id == project.id else None,
             "open_elsewhere": open_cycle if open_cycle is not None and open_cycle.project_id != project.id else None}
    if project.checkin_mode == pr.SINGLE:
        state["action"], state["label"] = "single", "活动打卡"
        state["done_today"] = any(c.state in att.COUNTED for c in cycles)
    elif state["open_here"]:
        state["action"], state["label"] = "sign_out", "签退"
    else:
        state["action"], state["label"] = "sign_in", "签到"
    return state


@bp.get("/checkin/<int:project_id>")
@volunteer_required
def checkin_page(project_id):
    project = pr.get_project(project_id)
    now = clock.now()
    return render_template("attendance/checkin.html", p=project, now=now, s=_checkin_state(project, g.volunteer, now),
                           sites=project.sites, local=_local,
                           manager=pr.can_manage_project(g.volunteer, project, "locate_project", now=now),
                           can_makeup=project.checkin_mode == pr.DOUBLE and bool(
                               att_makeup.makeup_open_days(project, now=now, tz=rules().tz)),
                           jsapi_list=["getLocation", "openLocation", "scanQRCode"])


@bp.get("/api/checkin/<int:project_id>/distance")
@volunteer_required
def checkin_distance(project_id):
    project = pr.get_project(project_id)
    position = _position(request.args, required=True)
    site, distance = att_punches.nearest_site(project, position)
    if site is None:
        raise RuleViolation("no_site", "该项目尚未设置活动位置。", 409)
    radius = project.punch_radius if project.checkin_mode == pr.DOUBLE else None
    return jsonify(distance=round(distance), site=site.label, radius=radius,
                   within=radius is None or distance <= radius, accuracy=position.accuracy,
                   site_link=positions.map_link(positions.Position(site.latitude, site.longitude), "活动位置"),
                   my_link=positions.map_link(position, "我的位置"))


@bp.post("/api/checkin/<int:project_id>/punch")
@volunteer_required
def checkin_punch(project_id):
    data = json_fields(action=TEXT, onsite_code=TEXT, fix_age=NUMBER, **POSITION)
    action = data["action"] or ""
    cycle = att_punches.punch(g.volunteer, project_id, action, _position(data), now=clock.now(), rules=rules(),
                              extras=extras(data))
    # The answer is read before the commit, which expires the row (reading it after costs a SELECT).
    if cycle.state == att.UNPAIRED:
        message = f"未找到签到记录，已记录签退时间 {_local(cycle.signed_out_at)}；如漏签到，请申请补签。"
    elif action == "sign_in":
        message = f"签到成功（{_local(cycle.signed_in_at)}），请在活动结束时签退。"
    elif action == "sign_out":
        message = f"签退成功，本次服务时长 {cycle.hours} 小时，进入时长公示。"
    else:
        message = f"打卡成功，计 {cycle.hours} 小时。"
    answer = {"ok": True, "message": message, "state": cycle.state, "hours": str(cycle.hours or "")}
    db.session.commit()
    flash(message, "success")
    return jsonify(answer)


# ---------------------------------------------------------------------------------- 补签
@bp.route("/checkin/<int:project_id>/makeup", methods=["GET", "POST"])
@volunteer_required
def makeup_new(project_id):
    project = pr.get_project(project_id)
    now, error = clock.now(), None
    if request.method == "POST":
        made, error = attempt(lambda: att_makeup.submit_makeup(g.volunteer, project.id, request.form.to_dict(),
                                                               account=g.account, now=now, rules=rules()))
        if not error:
            flash("补签申请已提交，请等待管理员审核。", "success")
            return redirect(url_for("pages.my_makeup", makeup_id=made.id, account=g.account))
    days = att_makeup.makeup_open_days(project, now=now, tz=rules().tz) if project.checkin_mode == pr.DOUBLE else []
    return render_template("attendance/makeup_form.html", p=project, days=days, kinds=att.MAKEUP_KINDS, error=error,
                           form=request.form, jsapi_list=["chooseImage", "uploadImage"]), (error.status if error else 200)


@bp.get("/me/makeups")
@volunteer_required
def my_makeups():
    return render_template("attendance/my_makeups.html", makeups=att_makeup.makeups_of(g.volunteer.id), local=clock.local_text)


@bp.get("/me/makeups/<int:makeup_id>")
@volunteer_required
def my_makeup(makeup_id):
    made = att_makeup.get_makeup(makeup_id)
    if made.volunteer_id != g.volunteer.id:
        abort(404)
    return render_template("attendance/makeup_detail.html", m=made, local=clock.local_text, admin=False)


@bp.get("/makeups/<int:makeup_id>/photo")
@volunteer_required
def makeup_photo(makeup_id):
    made = att_makeup.get_makeup(makeup_id)
    if made.volunteer_id != g.volunteer.id and not att_makeup.may_review_makeup(g.volunteer, made, now=clock.now()):
        abort(404)
    return send_media(made.photo)


# ---------------------------------------------------------------------- 时长公示 and 异议
@bp.get("/projects/<int:project_id>/publicity")
@person_required
def publicity(project_id):
    project = pr.get_project(project_id)
    now = clock.now()
    return render_template("attendance/publicity.html", p=project, cycles=att_objection.public_cycles(project.id, now=now),
                           local=clock.local_text, volunteer=bound_volunteer(g.account, g.openid))


@bp.route("/publicity/<int:cycle_id>/object", methods=["GET", "POST"])
@volunteer_required
def object_to(cycle_id):
    cycle = att_objection.get_cycle(cycle_id)
    error = None
    if request.method == "POST":
        _, error = attempt(lambda: att_objection.object_to(g.volunteer, cycle.id, request.form.get("reason", ""),
                                                           now=clock.now()))
        if not error:
            flash("异议已提交，发布活动的组织管理员将进行处理。", "success")
            return redirect(url_for("pages.my_objections", account=g.account))
    return render_template("attendance/object.html", c=cycle, error=error, local=clock.local_text,
                           form=request.form), (error.status if error else 200)


@bp.get("/me/objections")
@volunteer_required
def my_objections():
    return render_template("attendance/my_objections.html", objections=att_objection.objections_of(g.volunteer.id),
                           local=clock.local_text)


# ------------------------------------------------------------------- 服务记录, 我的积分
@bp.get("/me/hours")
@volunteer_required
def my_hours():
    now = clock.now()
    return render_template("attendance/my_hours.html", summary=service_hours.service_summary(g.volunteer.id, now=now,
                                                                                   tz=rules().tz),
                           cycles=service_hours.service_list(g.volunteer.id), local=clock.local_text, now=now,
                           no_shows=noshows.for_volunteer(g.volunteer.id, now))


@bp.get("/me/points")
@volunteer_required
def my_points():
    return render_template("attendance/my_points.html", earned=points_ledger.total_earned(g.volunteer.id),
                           balance=points_ledger.balance(g.volunteer.id), entries=points_ledger.ledger(g.volunteer.id),
                           local=clock.local_text)

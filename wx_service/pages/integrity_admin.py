"""Integrity on the admins' side: the rotating on-site code (现场签到码) and whether 双签 requires it,
服务台 (desk mode: find by phone or volunteer number, or the card's code, and punch for people without
smartphones), and the audit of admin actions on hours for a level-1/2 admin's subtree."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, current_app, g, jsonify, redirect, render_template, request, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer

from models import Organization, RuleViolation, Volunteer, db, volunteer_qr
from models import project as pr
from models.integrity import audit_log, codes, desk, noshows

from .. import clock
from . import bp
from .attendance import _position, rules
from .forms import act, as_id
from .guards import org_admin_required, volunteer_required
from .json_body import TEXT, json_fields
from .me import qr_png_response
from .media_files import send_stored
from .punch_context import ONSITE, PERSONAL, key, origin

DESK_SALT, DESK_MAX_AGE = "desk-scan", 300  # a scanned card's confirmation stays valid 5 minutes
AUDIT_DAYS = 30


def _today(now):
    return pr.local_now(now, rules().tz).date()


# ----------------------------------------------------------------------------- 现场签到码
def _code_project(project_id, now):
    project = pr.get_project(project_id)
    pr.require_project(g.volunteer, project, "scan_assist", now=now)
    return project


@bp.get("/admin/projects/<int:project_id>/onsite-code")
@volunteer_required
def admin_onsite_code(project_id):
    now = clock.now()
    project = _code_project(project_id, now)
    return render_template("integrity/onsite_code.html", p=project, window=codes.ONSITE_WINDOW,
                           refresh_in=codes.seconds_left(now, codes.ONSITE_WINDOW),
                           can_edit=pr.can_manage_project(g.volunteer, project, "edit_project", now=now))


@bp.get("/admin/projects/<int:project_id>/onsite-code.png")
@volunteer_required
def admin_onsite_code_png(project_id):
    now = clock.now()
    project = _code_project(project_id, now)
    return qr_png_response(codes.onsite_code(key(ONSITE), project.id, _today(now), now))


@bp.get("/api/admin/projects/<int:project_id>/onsite-code")
@volunteer_required
def admin_onsite_code_state(project_id):
    now = clock.now()
    _code_project(project_id, now)
    return jsonify(refresh_in=codes.seconds_left(now, codes.ONSITE_WINDOW))


@bp.post("/admin/projects/<int:project_id>/onsite-code/require")
@volunteer_required
def admin_onsite_code_require(project_id):
    """双签须扫现场码: on or off, by an admin who may edit the project."""
    now = clock.now()
    project = pr.get_project(project_id)
    required = request.form.get("required") == "1"

    def run():
        pr.require_project(g.volunteer, project, "edit_project", now=now)
        if project.checkin_mode != pr.DOUBLE:
            raise RuleViolation("onsite_double_only", "只有签到/签退（双签）项目可以要求扫现场签到码。", 409)
        project.require_onsite_code = required

    return act(run, "已设置：双签须扫现场签到码。" if required else "已取消：双签无需扫现场签到码。",
               url_for("pages.admin_onsite_code", project_id=project.id, account=g.account))


# ----------------------------------------------------------------------------------- 服务台
def _desk_token(actor_id, volunteer_id, card) -> str:
    return URLSafeTimedSerializer(current_app.secret_key, salt=DESK_SALT).dumps([actor_id, volunteer_id, card])


def _read_desk_token(token: str, actor_id: int):
    try:
        made_for, volunteer_id, card = URLSafeTimedSerializer(current_app.secret_key, salt=DESK_SALT).loads(
            token, max_age=DESK_MAX_AGE)
    except (BadSignature, ValueError, TypeError):
        raise RuleViolation("desk_token_expired", "确认已过期，请重新查找或扫码。", 410) from None
    if made_for != actor_id:
        raise RuleViolation("desk_token_expired", "确认已过期，请重新查找或扫码。", 410)
    return int(volunteer_id), bool(card)


@bp.get("/admin/desk")
@volunteer_required
def admin_desk_projects():
    now = clock.now()
    return render_template("integrity/desk_projects.html",
                           projects=desk.desk_projects(g.volunteer, now=now, tz=rules().tz))


@bp.get("/admin/desk/<int:project_id>")
@volunteer_required
def admin_desk(project_id):
    now = clock.now()
    project = desk.desk_project(g.volunteer, project_id, now)
    q, found, error = (request.args.get("q") or "").strip(), [], None
    if q:
        try:
            found = desk.find(g.volunteer, project.id, q, now=now, tz=rules().tz)
        except RuleViolation as exc:
            error = exc
    rates = noshows.for_volunteers([f.volunteer_id for f in found], now)
    tokens = {f.volunteer_id: _desk_token(g.volunteer.id, f.volunteer_id, False) for f in found}
    return render_template("integrity/desk.html", p=project, q=q, found=found, error=error, tokens=tokens,
                           rates=rates, jsapi_list=["scanQRCode", "getLocation"]), (error.status if error else 200)


@bp.get("/admin/desk/<int:project_id>/avatar/<int:volunteer_id>.jpg")
@volunteer_required
def admin_desk_avatar(project_id, volunteer_id):
    """The volunteer's photo, for the admin to compare with the face (only of those accepted on the project)."""
    volunteer = db.session.get(Volunteer, volunteer_id)
    if volunteer is None:
        abort(404)
    desk.found_one(g.volunteer, project_id, volunteer, now=clock.now(), tz=rules().tz)
    if not volunteer.avatar_path:
        return redirect(url_for("static", filename="avatar.svg"))
    return send_stored(volunteer.avatar_path, "image/jpeg")


@bp.post("/api/admin/desk/<int:project_id>/scan")
@volunteer_required
def admin_desk_scan(project_id):
    """A code scanned at the desk: the personal centre's dynamic code, or the printed card's (单签 only)."""
    now = clock.now()
    data = json_fields(payload=TEXT)
    volunteer, card = volunteer_qr.scanned_volunteer(data["payload"] or "", key(PERSONAL), now, at_desk=True)
    found = desk.found_one(g.volunteer, project_id, volunteer, now=now, tz=rules().tz)
    if card and found.action not in (None, "single"):
        raise RuleViolation("card_single_only", "志愿者卡上的固定二维码仅可用于单签项目的服务台签到。", 409)
    return jsonify(ok=True, name=found.masked_name, phone=found.masked_phone, number=found.number, action=found.action,
                   label=found.label, token=_desk_token(g.volunteer.id, volunteer.id, card),
                   avatar=url_for("pages.admin_desk_avatar", project_id=project_id, volunteer_id=volunteer.id,
                                  account=g.account))


@bp.post("/admin/desk/<int:project_id>/punch")
@volunteer_required
def admin_desk_punch(project_id):
    now = clock.now()
    back = url_for("pages.admin_desk", project_id=project_id, account=g.account)
    position = None
    if request.form.get("latitude"):
        position = _position(request.form)

    def run():
        volunteer_id, card = _read_desk_token(request.form.get("token", ""), g.volunteer.id)
        cycle = desk.desk_punch(g.volunteer, project_id, volunteer_id, request.form.get("action", ""), position,
                                now=now, rules=rules(), origin=origin(), card=card)
        name = db.session.get(Volunteer, volunteer_id).masked_name
        return f"{name}：{cycle.state_label}" + (f"，计{cycle.hours}小时" if cycle.hours else "")

    return act(run, "服务台打卡成功 — {result}。", back)


# ----------------------------------------------------------------------------------- 审计
def _range():
    days = as_id(request.args.get("days")) or AUDIT_DAYS
    days = min(days, 366)
    end = clock.now()
    return days, end - timedelta(days=days), end + timedelta(seconds=1)


@bp.get("/admin/audit")
@org_admin_required
def admin_audit():
    """A level-1/2 admin's subtree: admin actions on hours, admins whose 补签 approvals stand out, and the
    no-shows per org."""
    if not audit_log.may_audit(g.admin_org):
        return render_template("error.html", message="审计记录仅限区县级（二级）及以上组织管理员查看。", status=403), 403
    days, start, end = _range()
    actions = audit_log.actions_for(g.admin_org, start, end)
    standouts = audit_log.standout_approvers(g.admin_org, start, end)
    people = {v.id: v for v in Volunteer.query.filter(Volunteer.id.in_(
        {s.actor_id for s in standouts} | {s.volunteer_id for s in standouts})).all()} if standouts else {}
    per_org = noshows.for_orgs(g.admin_org, clock.now())
    org_names = dict(db.session.execute(db.select(Organization.id, Organization.name)
                                        .where(Organization.id.in_(per_org))).all()) if per_org else {}
    return render_template("integrity/audit.html", org=g.admin_org, days=days, actions=actions, standouts=standouts,
                           people=people, threshold=audit_log.STANDOUT_SAME_PERSON, local=clock.local_text,
                           no_shows=sorted(per_org.items(), key=lambda item: -item[1].no_shows), org_names=org_names)


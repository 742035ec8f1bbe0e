"""Admin pages of projects: 项目发布, 项目审核, 实施中的项目 / 已完成项目, 报名审核, 邀请/招募
(part 2 §三.13–17, part 3 §三.1–4).  Every action calls a model function that checks permission."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for

from models import RuleViolation, organization, project_rules, regions
from models import membership as ms
from models import project as pr
from models import signup as su
from models.integrity import noshows
from models.practice import orders as practice_orders
from models.practice import projects as practice_projects

from .. import clock
from ..config import settings
from . import bp
from .fields import Bool, Choice, Date, Decimal, Field, Form, Int, Many, Text, Time, parse
from .forms import act, as_id, attempt, ids_of, next_path
from .guards import org_admin_required, volunteer_required


def _text(key: str, high: int, **kw) -> Text:
    return Text(pr.LABELS[key], "project_field_too_long", "{label}过长。", high=high, **kw)


def _when(key: str, kind) -> Field:
    code = "project_date_invalid" if kind is Date else "project_time_invalid"
    return kind(pr.LABELS[key], code, "请正确填写{label}。", required=True)


def _point(key: str, bound: float) -> Decimal:
    return Decimal(pr.LABELS[key], "project_point_invalid", "请在地图上标注活动地点。", required=True, low=-bound,
                   high=bound)


#: 项目发布 / 修改: each field alone, in the order it is checked (the rules across fields are in models.project_rules).
PROJECT_FORM = Form({
    "name": Text(pr.LABELS["name"], "project_name_invalid", "项目名称应为2至100个字。", required=True, low=2, high=100),
    "short_name": Text(pr.LABELS["short_name"], "short_name_invalid", f"项目简称应在{pr.SHORT_NAME_MAX}个字以内。",
                       required=True, low=1, high=pr.SHORT_NAME_MAX, check=project_rules.check_short_name),
    "recruit_count": Int(pr.LABELS["recruit_count"], "recruit_count_invalid", "招募人数应为正整数。", required=True,
                         low=1, high=100000),
    "scope": Choice(pr.LABELS["scope"], "scope_invalid", "请选择参与对象。", options=pr.SCOPES),
    "needs_review": Bool(pr.LABELS["needs_review"]),
    "category": Choice(pr.LABELS["category"], "category_invalid", "请选择所属类别。", required=True,
                       options=pr.CATEGORIES),
    "service_targets": Many(pr.LABELS["service_targets"], "service_target_invalid", "服务对象不正确。",
                            options=pr.SERVICE_TARGETS),
    "topic": Choice(pr.LABELS["topic"], "topic_invalid", "专题项目不正确。", blank=None, options=pr.TOPICS),
    "region": Choice(pr.LABELS["region"], "region_invalid", "请选择所在地区。", required=True, options=organization.REGIONS),
    "place": _text("place", 200, required=True),
    "region_detail": _text("region_detail", 60),
    "contact_name": _text("contact_name", 50),
    "contact_phone": _text("contact_phone", 30),
    "description": _text("description", 5000),
    "requirements": _text("requirements", 5000),
    "latitude": _point("latitude", 90),
    "longitude": _point("longitude", 180),
    **{key: _when(key, Date) for key in ("signup_start", "signup_end", "start_date", "end_date")},
    **{key: _when(key, Time) for key in pr.WINDOW_FIELDS},
    "checkin_mode": Choice(pr.LABELS["checkin_mode"], "checkin_mode_invalid", "请选择计时方式。", required=True,
                           options=pr.CHECKIN_MODES),
    "preset_hours": Decimal(pr.LABELS["preset_hours"], "preset_hours_invalid", "单次时长不正确。", blank=None,
                            check=project_rules.check_preset_hours),
    "punch_radius": Int(pr.LABELS["punch_radius"], "punch_radius_invalid", "打卡有效距离不正确。", blank=None,
                        low=10, high=5000),
    "checkout_mode": Choice(pr.LABELS["checkout_mode"], "checkout_mode_invalid", "请选择签出限制。", blank=None,
                            options=pr.CHECKOUT_MODES),
    "temp_admin_id_numbers": Text(pr.LABELS["temp_admin_id_numbers"]),
}, missing="project_field_missing")


def form_fields(project: pr.Project | None = None, *, partial: bool = False) -> dict:
    """The project form's typed values (a refusal is a RuleViolation naming the field)."""
    fields = {k: request.form[k] for k in PROJECT_FORM.fields if k in request.form and k != "temp_admin_id_numbers"}
    fields["service_targets"] = request.form.getlist("service_targets")
    if "temp_admin_id_numbers" in request.form or "temp_admin_vid" in request.form:
        fields["temp_admin_id_numbers"] = temp_admin_numbers(project)
    return parse(PROJECT_FORM, fields, partial=partial)


def temp_admin_numbers(project: pr.Project | None) -> str:
    """项目临时管理员 as the form sends them: the kept ones by volunteer id (only those the project
    already has: an id cannot add anyone), and new ones by the ID numbers typed beside them.

    The page never carries a kept admin's ID number; the model still reads ID numbers.
    """
    kept = set(ids_of(request.form.getlist("temp_admin_vid")))
    numbers = [v.id_number for v in (project.temp_admins if project else []) if v.id in kept]
    return ";".join([*numbers, request.form.get("temp_admin_id_numbers", "")])


def temp_admin_choices(project: pr.Project | None, *, posted: bool) -> list[tuple]:
    """(volunteer, checked) for each temporary admin of the project, shown masked; after a refused
    POST, checked as the form had them."""
    kept = set(ids_of(request.form.getlist("temp_admin_vid"))) if posted else None
    return [(v, kept is None or v.id in kept) for v in (project.temp_admins if project else [])]


def refused_values() -> dict:
    """The form's values for showing it again after a refusal, without the typed ID numbers (never echoed)."""
    return {k: v for k, v in request.form.items() if k != "temp_admin_id_numbers"}


def form_choices(org) -> dict:
    return {"regions": organization.REGIONS, "streets": regions.STREETS, "categories": pr.CATEGORIES, "targets": pr.SERVICE_TARGETS,
            "topics": project_rules.allowed_topics(org, settings().projects.topic_orgs), "scopes": pr.SCOPES, "modes": pr.CHECKIN_MODES,
            "checkouts": pr.CHECKOUT_MODES, "hours": pr.PRESET_HOURS, "radii": pr.RADII}


def values_of(project: pr.Project) -> dict:
    values = {k: getattr(project, k) for k in pr.EDITABLE_FIELDS if k != "service_targets"}
    values["checkin_mode"] = project.checkin_mode
    values["needs_review"] = "1" if project.needs_review else "0"
    for key in pr.WINDOW_FIELDS:
        values[key] = project.daily_start.strftime("%H:%M") if key == "daily_start" else project.daily_end.strftime("%H:%M")
    return values


def _ids(name: str) -> list[int]:
    return ids_of(request.form.getlist(name))


# ------------------------------------------------------------------------------- 项目发布
@bp.route("/admin/publish", methods=["GET", "POST"])
@org_admin_required
def admin_publish():
    if request.method == "POST":
        # 新时代文明实践: the project names its place, and may serve a dispatched order (models.practice.projects)
        project, error = attempt(lambda: practice_projects.publish(
            g.volunteer, form_fields(), place_id=as_id(request.form.get("practice_place")),
            order_id=as_id(request.values.get("order")), now=clock.now(), tz=settings().app.timezone,
            topic_orgs=settings().projects.topic_orgs))
        if error:
            return render_template("projects/publish.html", values=refused_values(), chosen=request.form.getlist("service_targets"),
                                   error=error, org=g.admin_org, project=None, temp_admins=[],
                                   retype=bool(request.form.get("temp_admin_id_numbers", "").strip()),
                                   **form_choices(g.admin_org), **practice_choices()), error.status
        message = "项目已发布。" if project.status == pr.APPROVED else "项目已提交，请等待上级组织审核。"
        flash(message, "success")
        return redirect(url_for("pages.project_detail", project_id=project.id))
    defaults = {"scope": pr.SCOPE_ALL, "needs_review": "1", "checkin_mode": pr.DOUBLE, "checkout_mode": pr.CENTRAL,
                "region": g.admin_org.region, "contact_name": g.admin_org.contact_name,
                "contact_phone": g.admin_org.contact_phone, "latitude": g.admin_org.latitude or "",
                "longitude": g.admin_org.longitude or ""}
    if as_id(request.args.get("order")):
        defaults["topic"] = pr.TOPIC_PRACTICE
    return render_template("projects/publish.html", values=defaults, chosen=[], error=None, org=g.admin_org,
                           project=None, temp_admins=[], **form_choices(g.admin_org), **practice_choices())


def practice_choices() -> dict:
    """活动场所 for a 新时代文明实践 project, and the order it would serve (``?order=``)."""
    order_id = as_id(request.values.get("order"))
    return {"practice_places": practice_projects.place_choices(g.volunteer),
            "practice_default": practice_projects.default_place(g.admin_org),
            "practice_order": practice_orders.find(order_id)}


@bp.route("/admin/projects/<int:project_id>/edit", methods=["GET", "POST"])
@volunteer_required
def admin_project_edit(project_id):
    project = pr.get_project(project_id)
    pr.require_project(g.volunteer, project, "edit_project", now=clock.now())
    if request.method == "POST":
        def run():
            fields = form_fields(project, partial=True)
            if fields.get("checkin_mode") == project.checkin_mode:
                fields.pop("checkin_mode")
            project_rules.edit_project(g.volunteer, project.id, fields, now=clock.now(), tz=settings().app.timezone, topic_orgs=settings().projects.topic_orgs)

        _, error = attempt(run)
        if error:
            return render_template("projects/publish.html", values=refused_values(), chosen=request.form.getlist("service_targets"),
                                   error=error, org=project.org, project=project,
                                   temp_admins=temp_admin_choices(project, posted=True),
                                   retype=bool(request.form.get("temp_admin_id_numbers", "").strip()),
                                   **form_choices(project.org)), error.status
        flash("项目已修改。" if project.status == pr.APPROVED else "项目已修改，需重新审核。", "success")
        return redirect(url_for("pages.admin_projects"))
    return render_template("projects/publish.html", values=values_of(project), chosen=project.service_targets,
                           error=None, org=project.org, project=project,
                           temp_admins=temp_admin_choices(project, posted=False), **form_choices(project.org))


@bp.post("/admin/projects/<int:project_id>/<op>")
@volunteer_required
def admin_project_action(project_id, op):
    now, back = clock.now(), url_for("pages.admin_projects")
    if op == "delete":
        return act(lambda: project_rules.delete_project(g.volunteer, project_id, now=now, reason=request.form.get("reason", "")),
                   "项目已删除。", back)
    if op == "revoke":
        return act(lambda: project_rules.revoke_project(g.volunteer, project_id, now=now, reason=request.form.get("reason", "")),
                   "已撤销审核，项目回到待审核状态。", next_path(back))
    abort(404)


# --------------------------------------------------------------------- 实施中 / 已完成项目
@bp.get("/admin/projects")
@volunteer_required
def admin_projects():
    now = clock.now()
    tab = "finished" if request.args.get("tab") == "finished" else "running"
    keyword = request.args.get("q", "").strip()
    projects = pr.projects_of_admin(g.volunteer, now=now, finished=tab == "finished", keyword=keyword or None)
    return render_template("projects/admin_list.html", tab=tab, projects=projects, keyword=keyword, now=now,
                           pending=su.pending_counts(p.id for p in projects),
                           can=lambda p, a: pr.can_manage_project(g.volunteer, p, a, now=now))


# ------------------------------------------------------------------------------- 项目审核
@bp.get("/admin/reviews")
@org_admin_required
def admin_reviews():
    tab = "approved" if request.args.get("tab") == "approved" else "pending"
    keyword = request.args.get("q", "").strip()
    projects = (pr.reviewed_below(g.volunteer, keyword=keyword or None) if tab == "approved"
                else pr.pending_reviews_for(g.volunteer))
    return render_template("projects/reviews.html", tab=tab, projects=projects, keyword=keyword, now=clock.now())


@bp.post("/admin/reviews/<int:project_id>")
@org_admin_required
def admin_review_action(project_id):
    now, back = clock.now(), url_for("pages.admin_reviews")
    decision = request.form.get("decision")
    if decision == "approve":
        return act(lambda: project_rules.review_project(g.volunteer, project_id, now=now), "已审核通过，项目已发布。", back)
    if decision == "delete":
        return act(lambda: project_rules.reject_project(g.volunteer, project_id, request.form.get("reason", ""), now=now),
                   "已删除该项目。", back)
    abort(400)


# ------------------------------------------------------------------------------- 报名审核
@bp.get("/admin/signups")
@volunteer_required
def admin_signups():
    now = clock.now()
    projects = [p for p in pr.projects_of_admin(g.volunteer, now=now)
                if pr.can_manage_project(g.volunteer, p, "review_signups", now=now)]
    return render_template("projects/signup_projects.html", projects=projects, now=now,
                           pending=su.pending_counts(p.id for p in projects))


@bp.get("/admin/signups/<int:project_id>")
@volunteer_required
def admin_signups_of(project_id):
    now = clock.now()
    project = pr.get_project(project_id)
    pr.require_project(g.volunteer, project, "review_signups", now=now)
    tab = request.args.get("tab", "pending")
    if tab not in (su.PENDING, su.ACCEPTED, su.WAITLISTED):
        tab = su.PENDING
    signups = su.signups_of_project(project.id, tab)
    return render_template("projects/signups.html", p=project, tab=tab, signups=signups,
                           no_shows=noshows.for_volunteers([s.volunteer_id for s in signups], now),
                           counts=su.counts(project), now=now,
                           can_invite=pr.can_manage_project(g.volunteer, project, "invite_volunteers", now=now),
                           can_print=pr.can_manage_project(g.volunteer, project, "print_certificate", now=now))


@bp.post("/admin/signups/<int:project_id>")
@volunteer_required
def admin_signups_action(project_id):
    now, action = clock.now(), request.form.get("action")
    ids, reason = _ids("sid"), request.form.get("reason", "")
    rules = {"approve": (lambda: su.approve_signups(g.volunteer, project_id, ids, now=now), "已录用 {result} 人。", "pending"),
             "reject": (lambda: su.reject_signups(g.volunteer, project_id, ids, now=now, reason=reason),
                        "已拒绝 {result} 人。", "pending"),
             "cancel": (lambda: su.cancel_accepted(g.volunteer, project_id, ids, now=now, reason=reason),
                        "已取消 {result} 人的报名。", "accepted")}
    if action not in rules:
        abort(400)
    func, message, tab = rules[action]
    return act(func, message, url_for("pages.admin_signups_of", project_id=project_id, tab=tab))


@bp.get("/admin/signups/<int:project_id>/volunteers/<int:volunteer_id>")
@volunteer_required
def admin_signup_volunteer(project_id, volunteer_id):
    project = pr.get_project(project_id)
    pr.require_project(g.volunteer, project, "review_signups", now=clock.now())
    signup = su.signup_of(volunteer_id, project.id)
    if signup is None:
        raise RuleViolation("signup_not_found", "该志愿者没有报名本项目。", 404)
    return render_template("projects/signup_volunteer.html", p=project, s=signup, person=signup.volunteer,
                           summary=su.volunteer_summary(volunteer_id, now=clock.now(), tz=settings().app.timezone),
                           no_shows=noshows.for_volunteer(volunteer_id, clock.now()),
                           can_print=pr.can_manage_project(g.volunteer, project, "print_certificate", now=clock.now()))


# ------------------------------------------------------------------------------- 邀请/招募
@bp.route("/admin/projects/<int:project_id>/invite", methods=["GET", "POST"])
@volunteer_required
def admin_invite(project_id):
    now = clock.now()
    project = pr.get_project(project_id)
    pr.require_project(g.volunteer, project, "invite_volunteers", now=now)
    back = url_for("pages.admin_invite", project_id=project.id)
    if request.method == "POST":
        group = request.form.get("group", "")

        def run():
            result = (su.invite_group(g.volunteer, project.id, group, now=now, tz=settings().app.timezone) if group
                      else su.invite(g.volunteer, project.id, _ids("vid"), now=now))
            text = f"已录用 {result['accepted']} 人"
            if result["already"]:
                text += f"，{result['already']} 人此前已录用"
            if result["full"]:
                text += f"，名额已满，{result['full']} 人未录用"
            return text + "。"

        return act(run, "{result}", back)
    name = request.args.get("q", "").strip()
    found, error = [], None
    if "q" in request.args:
        try:
            found = su.search_members(g.volunteer, project.id, name, now=now)
        except RuleViolation as exc:
            error = exc
    groups = ms.groups_of(g.volunteer, project.org_id, now=now, tz=settings().app.timezone)
    return render_template("projects/invite.html", p=project, name=name, found=found, error=error, groups=groups,
                           counts=su.counts(project))

"""做志愿: the project list, a project's page (我要参加, 关注, 留言), and 我的活动 (part 3 §二.6)."""

from __future__ import annotations

from flask import g, render_template, request, url_for

from models import organization, personal_data, positions, project_rules
from models import project as pr
from models import signup as su
from models.practice import projects as practice_projects

from .. import clock
from ..wechat.binding import bound_volunteer
from ..wechat.oauth import person_required
from . import bp
from .forms import act, as_id, page_arg, position_arg
from .guards import volunteer_required

FILTER_CHOICES = {"regions": organization.REGIONS, "categories": pr.CATEGORIES, "phases": pr.PHASE_LABELS,
                  "sorts": {"newest": "最新发布", "soonest": "即将开始", "nearest": "离我最近"}}


@bp.get("/projects")
@person_required
def project_list():
    filters = {k: request.args.get(k, "").strip() for k in ("region", "category", "phase", "keyword", "org", "sort")}
    if filters["phase"] not in pr.PHASE_LABELS:
        filters["phase"] = ""
    if filters["sort"] not in FILTER_CHOICES["sorts"]:
        filters["sort"] = "newest"
    position = position_arg()
    now = clock.now()
    page = pr.search_projects(now=now, region=filters["region"] or None, category=filters["category"] or None,
                              phase=filters["phase"] or None, keyword=filters["keyword"] or None,
                              org_id=as_id(filters["org"]),
                              sort=filters["sort"], position=position, page=page_arg(), per_page=15)
    distances = {p.id: positions.distance_m(position, positions.Position(p.latitude, p.longitude))
                 for p in page.items} if position else {}
    return render_template("projects/list.html", page=page, filters=filters, now=now, distances=distances,
                           position=position, **FILTER_CHOICES)


@bp.get("/projects/<int:project_id>")
@person_required
def project_detail(project_id):
    project = pr.get_project(project_id)
    volunteer = bound_volunteer(g.account, g.openid)
    now = clock.now()
    manager = pr.can_manage_project(volunteer, project, "edit_project", now=now) or \
        pr.can_manage_project(volunteer, project, "review_signups", now=now) or \
        pr.can_manage_project(volunteer, project, "review_project", now=now)
    if project.status != pr.APPROVED and not manager:
        return render_template("error.html", message="该项目尚未发布。", status=404), 404
    counts = su.counts(project)
    counts["followers"] = project_rules.follow_count(project.id)
    return render_template(
        "projects/detail.html", p=project, now=now, volunteer=volunteer, counts=counts, manager=manager,
        signup=su.signup_of(volunteer.id if volunteer else None, project.id),
        following=project_rules.is_following(volunteer.id if volunteer else None, project.id),
        accepted=[personal_data.mask_name(v.name) for v in su.accepted_volunteers(project.id)],
        comments=project_rules.comments_of(project.id), full=project.accepted_count >= project.recruit_count,
        attendance_manager=pr.can_manage_project(volunteer, project, "locate_project", now=now),
        practice=practice_projects.link_of(project.id))


@bp.post("/projects/<int:project_id>/signup")
@volunteer_required
def project_signup(project_id):
    waitlist = request.form.get("waitlist") == "1"

    def run():
        signup = su.sign_up(g.volunteer, project_id, now=clock.now(), waitlist=waitlist)
        return {"accepted": "报名成功，您已被录取。", "pending": "报名成功，请等待组织管理员审核。",
                "waitlisted": "名额已满，您已加入候补名单，有名额空出时将自动录取并通知您。"}[signup.state]

    return act(run, "{result}", url_for("pages.project_detail", project_id=project_id))


@bp.post("/projects/<int:project_id>/cancel")
@volunteer_required
def project_cancel(project_id):
    back = request.form.get("back") == "mine"
    return act(lambda: su.cancel_signup(g.volunteer, project_id, now=clock.now()), "已取消报名。",
               url_for("pages.my_activities") if back else url_for("pages.project_detail", project_id=project_id))


@bp.post("/projects/<int:project_id>/follow")
@volunteer_required
def project_follow(project_id):
    on = request.form.get("on") == "1"
    return act(lambda: project_rules.follow(g.volunteer, project_id, on, now=clock.now()), "已关注。" if on else "已取消关注。",
               url_for("pages.project_detail", project_id=project_id))


@bp.post("/projects/<int:project_id>/comments")
@volunteer_required
def project_comment(project_id):
    return act(lambda: project_rules.add_comment(g.volunteer, project_id, request.form.get("body", ""), now=clock.now()),
               "留言已发表。", url_for("pages.project_detail", project_id=project_id) + "#comments")


@bp.get("/me/activities")
@volunteer_required
def my_activities():
    now = clock.now()
    tab = request.args.get("tab", "current")
    if tab not in ("waiting", "current", "done"):
        tab = "current"
    mine = su.my_activities(g.volunteer.id, now=now)
    return render_template("projects/mine.html", tab=tab, mine=mine, now=now)

"""数据统计 pages for org admins: 志愿活动统计 (with the hours chart), 成员服务概况 and a member's
活动清单, 异常数据; and 排行榜 for everyone.  Thin: read the query, call ``models.stats``, render."""

from __future__ import annotations

from flask import g, render_template, request
from markupsafe import Markup

from models import organization, permissions
from models.stats import rankings, reads
from models.stats.periods import months_between

from .. import clock
from . import bp
from .charts import hours_chart
from .forms import as_id, page_arg
from .guards import org_admin_required, volunteer_required


def _org_in_view():
    """The org asked for (``?org=``, default the admin's own), which the admin may view."""
    org_id = as_id(request.args.get("org"))
    org = organization.get_org(org_id) if org_id else g.admin_org
    permissions.require(g.volunteer, "view_stats", org, now=clock.now(), message="只能查看本组织及下级组织的数据。")
    return org


def _months():
    return reads.month_range(request.args.get("first", "").strip(), request.args.get("last", "").strip(),
                             clock.today())


@bp.get("/admin/stats")
@org_admin_required
def admin_stats():
    org = _org_in_view()
    first, last = _months()
    rows = reads.activity_stats(org, first, last)
    months = months_between(first, last)
    chart = Markup(hours_chart(months, [(r.org.name, r.months) for r in rows], title=f"{org.name} 每月服务时长"))
    return render_template("stats/activity.html", org=org, rows=rows, first=first, last=last, chart=chart,
                           target=reads.monthly_target())


@bp.get("/admin/stats/members")
@org_admin_required
def admin_member_stats():
    org = _org_in_view()
    first, last = _months()
    include_children = request.args.get("children", "1") != "0"
    key_type = request.args.get("key", reads.KEY_NAME)
    keyword = request.args.get("q", "")
    result = reads.member_overview(org, today=clock.today(), include_children=include_children, key_type=key_type,
                                   keyword=keyword, first=first, last=last, page=page_arg())
    return render_template("stats/members.html", org=org, result=result, first=first, last=last,
                           include_children=include_children, key_type=key_type, keyword=keyword,
                           key_types=reads.KEY_TYPES)


@bp.get("/admin/stats/members/<int:volunteer_id>")
@org_admin_required
def admin_member_activities(volunteer_id):
    volunteer = reads.require_member_of(g.admin_org, volunteer_id)
    return render_template("stats/member_activities.html", volunteer=volunteer,
                           records=reads.member_activities(volunteer.id))


@bp.get("/admin/stats/anomalies")
@org_admin_required
def admin_anomalies():
    org = _org_in_view()
    first, last = _months()
    kind = request.args.get("kind", "no_hours_ever")
    result = reads.anomalies(org, kind, first=first, last=last, page=page_arg())
    return render_template("stats/anomalies.html", org=org, result=result, kind=kind, kinds=reads.ANOMALIES,
                           first=first, last=last)


@bp.get("/rankings")
@volunteer_required
def rankings_page():
    span = request.args.get("span", "month")
    scopes = rankings.scopes_for(g.volunteer.id)
    scope_key = request.args.get("scope", "city")
    if scope_key not in scopes:
        scope_key = "city"
    today = clock.today()
    scope = scopes[scope_key]
    return render_template("stats/rankings.html", span=span, spans=rankings.SPANS, scope_key=scope_key,
                           scopes={k: rankings.SCOPES[k] for k in scopes},
                           volunteers=rankings.top_volunteers(span, today, scope),
                           orgs=rankings.top_orgs(span, today, scope))

"""找组织, 组织详情 (申请加入 / 退出组织), 志愿组织注册, 我的组织 (manual part 3 §二.5)."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for

from models import membership as ms
from models import org_rules, organization, permissions
from models import project as pr

from .. import clock
from ..uploads import store_image
from ..wechat.binding import bound_volunteer
from ..wechat.oauth import person_required
from . import bp
from .fields import Choice, Decimal, Form, Many, Text, parse
from .forms import act, as_id, attempt, page_arg
from .guards import volunteer_required
from .media_files import send_picture

# ------------------------------------------------------------------------------- helpers






def _text(key: str, high: int, **kw) -> Text:
    return Text(org_rules.FIELD_LABELS[key], "org_field_too_long", "{label}过长。", high=high, **kw)


def _point(key: str, bound: float) -> Decimal:
    return Decimal(org_rules.FIELD_LABELS[key], "org_point_invalid", "地图位置不正确。", blank=None, low=-bound,
                   high=bound)


#: 志愿组织注册 / 组织信息修改: each field alone (the LOGO is an upload, stored by ``form_fields``).
ORG_FORM = Form({
    "name": Text(org_rules.FIELD_LABELS["name"], required=True, check=org_rules.check_name),
    "org_type": Choice(org_rules.FIELD_LABELS["org_type"], "org_type_invalid", "请选择组织类型。", required=True,
                       options=organization.ORG_TYPES),
    "region": Choice(org_rules.FIELD_LABELS["region"], "org_region_invalid", "请选择组织所在地区。", required=True,
                     options=organization.REGIONS),
    "service_domains": Many(org_rules.FIELD_LABELS["service_domains"], "org_domain_invalid", "服务领域不正确。",
                            options=organization.SERVICE_DOMAINS),
    "latitude": _point("latitude", 90),
    "longitude": _point("longitude", 180),
    "contact_phone": _text("contact_phone", 30, check=org_rules.check_contact_phone),
    "address": _text("address", 200),
    "intro": _text("intro", 5000),
    "contact_name": _text("contact_name", 50),
}, missing="org_field_missing")


def form_fields(*, partial: bool = False) -> dict:
    """The org fields of a posted form, typed (``partial``: only those present, for an edit)."""
    fields = {k: request.form[k] for k in ORG_FORM.fields if k in request.form}
    if "service_domains" in request.form or request.form.get("has_domains"):
        fields["service_domains"] = request.form.getlist("service_domains")
    fields = parse(ORG_FORM, fields, partial=partial)
    logo = request.files.get("logo")
    if logo is not None and logo.filename:
        fields["logo_path"] = store_image(logo, "org_logos", what="组织LOGO", max_bytes=LOGO_MAX_BYTES, side=256,
                                          square=True)
    return fields


LOGO_MAX_BYTES = 2 * 1024 * 1024


@bp.get("/orgs/<int:org_id>/logo")
@person_required
def org_logo(org_id):
    return send_picture(organization.get_org(org_id).logo_path)


@bp.app_template_filter("local_dt")
def local_dt(value, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC time shown in the rules' zone."""
    return clock.local_text(value, fmt)


CHOICES = {"regions": organization.REGIONS, "domains": organization.SERVICE_DOMAINS, "types": organization.ORG_TYPES,
           "levels": range(1, organization.MAX_LEVEL + 1)}


# --------------------------------------------------------------------------------- pages
@bp.get("/orgs")
@person_required
def org_list():
    filters = {k: request.args.get(k, "").strip() for k in ("region", "domain", "org_type", "level", "keyword")}
    if as_id(filters["level"]) is None:
        filters["level"] = ""
    page = organization.search_orgs(**{k: v or None for k, v in filters.items()}, page=page_arg(), per_page=15)
    return render_template("orgs/list.html", page=page, filters=filters, **CHOICES)


@bp.get("/orgs/<int:org_id>")
@person_required
def org_detail(org_id):
    org = organization.get_org(org_id)
    volunteer = bound_volunteer(g.account, g.openid)
    if org.status != organization.ACTIVE and not permissions.can(volunteer, "edit_org", org):
        return render_template("error.html", message="该组织暂未开放。", status=404), 404
    membership = ms.membership_of(volunteer.id, org.id) if volunteer else None
    projects = [{"name": p.name, "url": url_for("pages.project_detail", project_id=p.id)}
                for p in pr.current_projects_of_org(org.id, now=clock.now())]
    return render_template("orgs/detail.html", org=org, volunteer=volunteer, membership=membership,
                           projects=projects)


@bp.post("/orgs/<int:org_id>/join")
@volunteer_required
def org_join(org_id):
    return act(lambda: ms.join_org(g.volunteer, org_id, now=clock.now()), "已提交申请，请等待组织管理员审核。",
               url_for("pages.org_detail", org_id=org_id))


@bp.post("/orgs/<int:org_id>/leave")
@volunteer_required
def org_leave(org_id):
    return act(lambda: ms.leave_org(g.volunteer, org_id, now=clock.now()), "已退出该组织。",
               url_for("pages.org_detail", org_id=org_id))


@bp.route("/orgs/new", methods=["GET", "POST"])
@volunteer_required
def org_new():
    admin_of = organization.admin_org_of(g.volunteer.id)
    if request.method == "POST":
        org, error = attempt(lambda: org_rules.register_org(g.volunteer, request.form.get("parent_id", type=int),
                                                            form_fields(), now=clock.now()))
        if error:
            flash(error.message, "error")
            return render_template("orgs/new.html", admin_of=admin_of, parents=organization.parent_choices(),
                                   form=request.form, chosen=request.form.getlist("service_domains"),
                                   **CHOICES), error.status
        flash(f"“{org.name}”已提交，请等待上级组织审核。", "success")
        return redirect(url_for("pages.my_orgs"))
    return render_template("orgs/new.html", admin_of=admin_of, parents=organization.parent_choices(), form={},
                           chosen=[], **CHOICES)


@bp.get("/me/orgs")
@volunteer_required
def my_orgs():
    return render_template("orgs/mine.html", memberships=ms.memberships_of(g.volunteer.id),
                           admin_of=organization.admin_org_of(g.volunteer.id))

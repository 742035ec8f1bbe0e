"""Admin pages on the phone: 成员管理 (part 3 §三.6) and 子组织管理 (part 2 §三.11–12).

Each action calls the same model function the tests use; the permission check lives there.
"""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for

from models import db, org_rules, organization, permissions
from models import membership as ms
from models.audit import reveal_phone

from .. import clock
from . import bp
from .forms import attempt, ids_of
from .guards import org_admin_required as admin_required
from .orgs import CHOICES, act, form_fields, page_arg


def _ids() -> list[int]:
    return ids_of(request.form.getlist("vid"))


# ------------------------------------------------------------------------------- 成员管理
@bp.get("/admin/members")
@admin_required
def admin_members():
    org = organization.get_org(request.args.get("org", g.admin_org.id, type=int))
    permissions.require(g.volunteer, "view_members", org, now=clock.now())
    tab = "pending" if request.args.get("tab") == "pending" else "approved"
    keyword = request.args.get("q", "").strip()
    page = ms.member_list(org.id, state=tab, keyword=keyword, page=page_arg(), per_page=20)
    pending_count = ms.member_list(org.id, state="pending", per_page=1).total
    return render_template("orgs/admin_members.html", org=org, tab=tab, keyword=keyword, page=page,
                           pending_count=pending_count)


@bp.post("/admin/members")
@admin_required
def admin_members_action():
    org_id = request.form.get("org_id", type=int)
    action = request.form.get("action")
    rules = {"approve": (ms.approve_members, "已审核通过 {result} 人。", "pending"),
             "reject": (ms.reject_members, "已拒绝 {result} 人。", "pending"),
             "remove": (ms.remove_members, "已将 {result} 人移出本组织。", "approved")}
    if action not in rules:
        abort(400)
    func, message, tab = rules[action]
    ids = _ids()
    return act(lambda: func(g.volunteer, org_id, ids, now=clock.now()), message,
               url_for("pages.admin_members", org=org_id, tab=tab))


@bp.get("/admin/members/<int:volunteer_id>")
@admin_required
def admin_member_view(volunteer_id):
    org_id = request.args.get("org", g.admin_org.id, type=int)
    membership = ms.member_profile(g.volunteer, org_id, volunteer_id, now=clock.now())
    return render_template("orgs/admin_member.html", membership=membership, person=membership.volunteer)


@bp.post("/admin/members/<int:volunteer_id>/phone")
@admin_required
def admin_member_phone(volunteer_id):
    """显示完整电话: the whole number, for this one view, and an audit row of who saw it."""
    org_id = request.args.get("org", g.admin_org.id, type=int)
    membership = ms.member_profile(g.volunteer, org_id, volunteer_id, now=clock.now())
    phone = reveal_phone(g.volunteer, membership.volunteer, clock.now(), reason=f"成员管理:{membership.org.name}")
    db.session.commit()
    return render_template("orgs/admin_member.html", membership=membership, person=membership.volunteer,
                           full_phone=phone)


# ----------------------------------------------------------------------------- 子组织管理
@bp.get("/admin/suborgs")
@admin_required
def admin_suborgs():
    tab = request.args.get("tab", "list")
    if tab not in ("list", "pending", "changes"):
        tab = "list"
    orgs = organization.suborgs(g.admin_org, status="pending" if tab == "pending" else "active")
    changes = organization.pending_changes_below(g.admin_org)
    pending_count = len(organization.suborgs(g.admin_org, status="pending"))
    return render_template("orgs/admin_suborgs.html", tab=tab, orgs=orgs, changes=changes,
                           pending_count=pending_count, labels=org_rules.FIELD_LABELS)


@bp.get("/admin/suborgs/<int:org_id>")
@admin_required
def admin_suborg(org_id):
    org = organization.get_org(org_id)
    now = clock.now()
    permissions.require(g.volunteer, "manage_admins", org, now=now)
    return render_template("orgs/admin_suborg.html", org=org, change=organization.pending_change_of(org.id),
                           can_exempt=permissions.can(g.volunteer, "set_review_exempt", org, now=now),
                           labels=org_rules.FIELD_LABELS, **CHOICES)


@bp.post("/admin/suborgs/<int:org_id>/<op>")
@admin_required
def admin_suborg_action(org_id, op):
    now, actor, form = clock.now(), g.volunteer, request.form
    back = url_for("pages.admin_suborg", org_id=org_id)
    if op == "review":
        approve = form.get("decision") == "approve"
        return act(lambda: org_rules.review_org(actor, org_id, approve, now=now),
                   "已通过该组织的审核。" if approve else "已拒绝该组织的申请。",
                   url_for("pages.admin_suborgs", tab="pending"))
    if op == "admin-add":
        return act(lambda: org_rules.add_admin(actor, org_id, form.get("number", ""), now=now), "已新增管理员。",
                   back)
    if op == "admin-remove":
        return act(lambda: org_rules.remove_admin(actor, org_id, form.get("volunteer_id", type=int), now=now),
                   "已注销该管理员。", back)
    if op == "edit":
        return act(lambda: org_rules.edit_org(actor, org_id, form_fields(partial=True), now=now), "组织资料已修改。", back)
    if op == "deregister":
        return act(lambda: org_rules.deregister_org(actor, org_id, now=now), "已注销该组织，其状态变为待审。",
                   url_for("pages.admin_suborgs"))
    if op == "exempt":
        exempt = form.get("exempt") == "1"
        return act(lambda: org_rules.set_review_exempt(actor, org_id, exempt, now=now),
                   "已设置活动免审。" if exempt else "已取消活动免审。", back)
    if op == "reset-password":
        password, error = attempt(lambda: org_rules.reset_admin_password(actor, org_id, form.get("volunteer_id", type=int),
                                                                         now=now))
        if error:
            flash(error.message, "error")
            return redirect(back)
        # Shown once, on this answer only: never put in a flash (the session cookie is not encrypted).
        return render_template("orgs/admin_password.html", password=password, back=back)
    abort(404)


@bp.post("/admin/changes/<int:change_id>/review")
@admin_required
def admin_change_review(change_id):
    approve = request.form.get("decision") == "approve"
    return act(lambda: org_rules.review_change(g.volunteer, change_id, approve, now=clock.now()),
               "已通过该变更。" if approve else "已驳回该变更。", url_for("pages.admin_suborgs", tab="changes"))


# --------------------------------------------------------------------------- 本组织信息
@bp.route("/admin/org", methods=["GET", "POST"])
@admin_required
def admin_org():
    org = g.admin_org
    if request.method == "POST":
        return act(lambda: org_rules.edit_org(g.volunteer, org.id, form_fields(partial=True), now=clock.now()),
                   "已保存。名称等信息的修改需上级组织审核后生效。", url_for("pages.admin_org"))
    return render_template("orgs/admin_org.html", org=org, change=organization.pending_change_of(org.id),
                           labels=org_rules.FIELD_LABELS, **CHOICES)

"""成员分组: the built-in groups (computed) and the org's custom groups, on the phone."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for

from models import RuleViolation, Volunteer
from models import membership as ms

from .. import clock
from ..config import settings
from . import bp
from .forms import act, as_id, ids_of
from .guards import org_admin_required


def _back(group=None):
    if group is None:
        return url_for("pages.admin_groups", account=g.account)
    return url_for("pages.admin_group", group=group, account=g.account)


@bp.get("/admin/groups")
@org_admin_required
def admin_groups():
    groups = ms.groups_of(g.volunteer, g.admin_org.id, now=clock.now(), tz=settings().app.timezone)
    return render_template("orgs/groups.html", org=g.admin_org, groups=groups)


@bp.post("/admin/groups")
@org_admin_required
def admin_groups_action():
    f, now = request.form, clock.now()
    op = f.get("op")
    if op == "create":
        return act(lambda: ms.create_group(g.volunteer, g.admin_org.id, f.get("name", ""), now=now),
                   "分组已创建。", _back())
    if op == "delete":
        return act(lambda: ms.delete_group(g.volunteer, f.get("group_id", type=int) or 0, now=now),
                   "分组已删除。", _back())
    if op == "copy":
        source = f.get("source", "")
        return act(lambda: ms.copy_group_members(g.volunteer, g.admin_org.id, as_id(source) or source, f.get("target_id", type=int) or 0, now=now, tz=settings().app.timezone),
                   "已复制{result}名成员。", _back())
    raise RuleViolation("bad_op", "不支持的操作。")


@bp.get("/admin/groups/<group>")
@org_admin_required
def admin_group(group):
    key = as_id(group) or group
    ids = ms.group_member_ids(g.volunteer, g.admin_org.id, key, now=clock.now(), tz=settings().app.timezone)
    people = Volunteer.query.filter(Volunteer.id.in_(ids)).order_by(Volunteer.number).all() if ids else []
    groups = ms.groups_of(g.volunteer, g.admin_org.id, now=clock.now(), tz=settings().app.timezone)
    name = (dict((k, n) for k, n, _ in groups["builtin"]).get(group)
            or next((c.name for c, _ in groups["custom"] if c.id == key), group))
    return render_template("orgs/group.html", key=group, custom=isinstance(key, int), name=name, people=people)


@bp.post("/admin/groups/<int:group_id>/members")
@org_admin_required
def admin_group_members(group_id):
    f, now = request.form, clock.now()
    if f.get("op") == "remove":
        ids = ids_of(f.getlist("vid"))
        return act(lambda: ms.remove_from_group(g.volunteer, group_id, ids, now=now), "已移出{result}人。",
                   _back(group_id))
    numbers = [n for n in f.get("numbers", "").replace("，", ",").replace(" ", ",").split(",") if n]
    ids = [v.id for v in Volunteer.query.filter(Volunteer.number.in_(numbers))] if numbers else []
    if not ids:
        flash("没有找到这些志愿者编号。", "error")
        return redirect(_back(group_id))
    return act(lambda: ms.add_to_group(g.volunteer, group_id, ids, now=now), "已添加{result}人（仅本组织成员）。",
               _back(group_id))

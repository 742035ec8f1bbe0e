"""文明实践活动 (part 4 §二.1, 图4-1): projects of topic 新时代文明实践 are always 双签 (``project_rules``
refuses anything else) and name the place where they happen — by default the place the publishing
org runs, or the nearest place above it; an admin may pick another place they manage.  A project
published for a dispatched order (志愿接单) serves that order.
"""

from __future__ import annotations

from ..base import RuleViolation, db
from ..organization import Organization, admin_org_of
from ..project import TOPIC_PRACTICE
from ..project_rules import publish_project
from . import orders, places
from .tables import Place, PracticeProject


def default_place(org: Organization | None) -> Place | None:
    """The place the org runs, else the place run by its nearest ancestor org."""
    if org is None:
        return None
    ids = [int(i) for i in org.path.strip("/").split("/")]
    rows = {p.org_id: p for p in Place.query.filter(Place.org_id.in_(ids))}
    for org_id in reversed(ids):
        if org_id in rows:
            return rows[org_id]
    return None


def place_choices(actor) -> list[Place]:
    """Where the actor may hold a practice activity: their default place and the places they manage."""
    chosen = {p.id: p for p in places.managed_places(actor)}
    default = default_place(admin_org_of(actor.id))
    if default is not None:
        chosen.setdefault(default.id, default)
    return sorted(chosen.values(), key=lambda p: p.path)


def publish(actor, fields: dict, *, place_id: int | None = None, order_id: int | None = None, now, tz: str,
            topic_orgs: dict | None = None):
    """项目发布 for every topic: a 新时代文明实践 project is tied to its place (and to the order it serves)."""
    fields = dict(fields)
    if order_id is not None:
        fields["topic"] = TOPIC_PRACTICE
    if fields.get("topic") != TOPIC_PRACTICE:
        return publish_project(actor, fields, now=now, tz=tz, topic_orgs=topic_orgs)
    choices = {p.id: p for p in place_choices(actor)}
    if place_id is None:
        place = default_place(admin_org_of(actor.id))
        if place is None:
            raise RuleViolation("practice_place_missing", "文明实践活动必须选择开展活动的实践阵地。")
    elif place_id in choices:
        place = choices[place_id]
    else:
        raise RuleViolation("practice_place_invalid", "请选择您所在组织绑定的或您管理的实践阵地。")
    order = orders.get_order(order_id) if order_id is not None else None
    if order is not None and not orders.may_accept(actor, order):
        raise RuleViolation("forbidden", "只有被派单的志愿组织管理员可以接单。", 403)
    project = publish_project(actor, fields, now=now, tz=tz, topic_orgs=topic_orgs)
    db.session.add(PracticeProject(project_id=project.id, place_id=place.id, order_id=order.id if order else None))
    db.session.flush()
    if order is not None:
        orders.accept(actor, order.id, project, now=now)
    return project


def link_of(project_id: int) -> PracticeProject | None:
    return db.session.get(PracticeProject, project_id)

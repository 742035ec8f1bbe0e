"""实践阵地 (part 4 §二.2): the three-level place tree, who administers a place, and places near a person.

A place's admins are the admins of the (approved) org that runs it; an admin of a higher place views
and edits every place below it (上级阵地可直接查看修改下级阵地).  The city admins — admins of the
approved level-1 org — stand above every centre: they open centres and set the yearly targets.
A place's children are one level down (中心 → 所 → 站), each run by an org of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from .. import identity, regions
from ..base import RuleViolation, db, get_or_refuse
from ..notification import notify_many
from ..organization import ACTIVE, OrgAdmin, Organization, admin_org_of, subtree_of
from ..positions import Position, distance_m
from .tables import CENTRE, STATION, Place, place_subtree

EDITABLE = ("name", "intro", "phone", "address", "latitude", "longitude", "organiser", "leaders", "rules_text")
LIMITS = {"name": (2, 100), "intro": (0, 2000), "phone": (0, 30), "address": (0, 200), "organiser": (0, 200),
          "leaders": (0, 200), "rules_text": (0, 5000)}
LABELS = {"name": "场所名称", "intro": "场所介绍", "phone": "联系电话", "address": "详细地址", "organiser": "组织架构",
          "leaders": "负责人", "rules_text": "管理制度", "latitude": "纬度", "longitude": "经度", "org": "运行组织",
          "region": "所在地区"}


def get_place(place_id) -> Place:
    return get_or_refuse(Place, place_id, "place_not_found", "实践阵地不存在。")


def ancestors(place: Place) -> list[Place]:
    """The places above ``place``, nearest first."""
    ids = [int(i) for i in place.path.strip("/").split("/")[:-1]]
    rows = {p.id: p for p in Place.query.filter(Place.id.in_(ids))} if ids else {}
    return [rows[i] for i in reversed(ids) if i in rows]


# ------------------------------------------------------------------------------------ who manages
def is_city_admin(volunteer) -> bool:
    org = admin_org_of(volunteer.id) if volunteer is not None else None
    return org is not None and org.status == ACTIVE and org.level == 1


def managed_root(volunteer) -> Place | None:
    """The place this volunteer's approved org runs (its admins manage it and everything below)."""
    org = admin_org_of(volunteer.id) if volunteer is not None else None
    if org is None or org.status != ACTIVE:
        return None
    return Place.query.filter_by(org_id=org.id).one_or_none()


def can_manage(volunteer, place: Place) -> bool:
    """May ``volunteer`` view the queue of, and edit, ``place``?"""
    if volunteer is None or place is None:
        return False
    if is_city_admin(volunteer):
        return True
    own = managed_root(volunteer)
    return own is not None and place.path.startswith(own.path)


def require_manage(volunteer, place: Place) -> None:
    if not can_manage(volunteer, place):
        raise RuleViolation("forbidden", "您不是该实践阵地的管理员。", 403)


def report_target(place: Place, code: str, message: str) -> Place:
    """Where 上报 sends a need or an order: the parent place; a 实践中心 has none (``message``, 409)."""
    if place.parent is None:
        raise RuleViolation(code, message, 409)
    return place.parent


def managed_places(volunteer) -> list[Place]:
    """Every place this volunteer manages, tree order (all of them for a city admin)."""
    if volunteer is None:
        return []
    if is_city_admin(volunteer):
        return Place.query.order_by(Place.path).all()
    own = managed_root(volunteer)
    return Place.query.filter(place_subtree(own)).order_by(Place.path).all() if own else []


def admin_ids(place: Place) -> list[int]:
    """The volunteers who administer the org running ``place``."""
    return list(db.session.scalars(select(OrgAdmin.volunteer_id).where(OrgAdmin.org_id == place.org_id)
                                   .order_by(OrgAdmin.volunteer_id)))


def city_admin_ids() -> list[int]:
    return list(db.session.scalars(
        select(OrgAdmin.volunteer_id).join(Organization, Organization.id == OrgAdmin.org_id)
        .where(Organization.level == 1, Organization.status == ACTIVE).order_by(OrgAdmin.volunteer_id)))


def parent_admin_ids(place: Place) -> list[int]:
    """Who answers for ``place`` from above: the parent place's admins (the city admins above a centre)."""
    return admin_ids(place.parent) if place.parent is not None else city_admin_ids()


def tell_admins(volunteer_ids, kind: str, data: dict, *, link: str, cause: str, key: str) -> None:
    if volunteer_ids:
        notify_many(sorted(set(volunteer_ids)), kind, data, link=link, cause=cause, key_prefix=key)


# ------------------------------------------------------------------------------------ the fields
def _checked(fields: dict) -> dict:
    out = {}
    for key, value in fields.items():
        if key not in EDITABLE:
            continue
        if key in ("latitude", "longitude"):
            out[key] = value
            continue
        text = (value or "").strip() if isinstance(value, str) or value is None else str(value)
        low, high = LIMITS[key]
        if len(text) < low or len(text) > high:
            raise RuleViolation(f"place_{key}_invalid", f"{LABELS[key]}应为{low}至{high}个字。")
        out[key] = text
    if out.get("phone") and not identity.is_contact_phone(out["phone"]):
        raise RuleViolation("place_phone_invalid", "联系电话不正确。")
    lat, lng = out.get("latitude"), out.get("longitude")
    if (lat is None) != (lng is None):
        raise RuleViolation("place_point_invalid", "请在地图上标注场所位置（经纬度需同时填写）。")
    if lat is not None and not (-90 <= lat <= 90 and -180 <= lng <= 180):
        raise RuleViolation("place_point_invalid", "场所位置不正确。")
    return out


def create_place(actor, *, parent_id: int | None, org_id: int, region: str, fields: dict, now) -> Place:
    """Open a place: a city admin opens a 实践中心; a place's admin opens one a level below theirs."""
    parent = get_place(parent_id) if parent_id else None
    if parent is None:
        if not is_city_admin(actor):
            raise RuleViolation("forbidden", "只有市级管理员可以设立实践中心。", 403)
        level = CENTRE
    else:
        require_manage(actor, parent)
        if parent.level >= STATION:
            raise RuleViolation("place_too_deep", "实践站下不能再设立阵地。")
        level = parent.level + 1
    org = db.session.get(Organization, org_id) if org_id else None
    if org is None or org.status != ACTIVE:
        raise RuleViolation("place_org_invalid", "请选择一个已审核的志愿组织运行该阵地。")
    if parent is not None and not org.path.startswith(parent.org.path):
        raise RuleViolation("place_org_invalid", "运行组织须是上级阵地组织的下级组织。")
    if Place.query.filter_by(org_id=org.id).first() is not None:
        raise RuleViolation("place_org_taken", "该组织已绑定了一个实践阵地。", 409)
    if region not in regions.DISTRICTS:
        raise RuleViolation("place_region_invalid", "请选择所在地区。")
    values = _checked(fields)
    if not values.get("name"):
        raise RuleViolation("place_name_invalid", "请填写场所名称。")
    place = Place(parent_id=parent.id if parent else None, level=level, org_id=org.id, region=region,
                  created_at=now, **values)
    db.session.add(place)
    db.session.flush()
    place.path = (parent.path if parent else "/") + f"{place.id}/"
    db.session.flush()
    return place


def edit_place(actor, place_id: int, fields: dict) -> Place:
    """场所简介 / 阵地管理制度: the place's admins, or an admin of a place above, edit it at once."""
    place = get_place(place_id)
    require_manage(actor, place)
    for key, value in _checked(fields).items():
        setattr(place, key, value)
    db.session.flush()
    return place


def org_choices(actor, parent: Place | None) -> list[Organization]:
    """Orgs that may run a new place under ``parent``: approved, below the parent's org, not yet bound."""
    taken = select(Place.org_id)
    query = Organization.query.filter(Organization.status == ACTIVE, Organization.id.not_in(taken))
    if parent is not None:
        query = query.filter(subtree_of(parent.org, include_self=False))
    return query.order_by(Organization.path).limit(200).all()


# ------------------------------------------------------------------------------------ near me
@dataclass(frozen=True)
class Nearby:
    place: Place
    metres: float | None

    @property
    def distance_text(self) -> str:
        if self.metres is None:
            return "未标注位置"
        return f"{self.metres:.0f}米" if self.metres < 1000 else f"{self.metres / 1000:.1f}公里"


def near(position: Position | None, *, region: str | None = None, limit: int = 50) -> list[Nearby]:
    """Places nearest first (geodesic, gcj02); without a position, tree order; ``region`` narrows."""
    query = Place.query
    if region:
        query = query.filter(Place.region == region)
    places = query.order_by(Place.path).limit(2000).all()
    rows = [Nearby(p, distance_m(position, Position(p.latitude, p.longitude))
                   if position is not None and p.has_point else None) for p in places]
    if position is not None:
        rows.sort(key=lambda r: (r.metres is None, r.metres or 0))
    return rows[:limit]


def children(place: Place) -> list[Place]:
    return Place.query.filter_by(parent_id=place.id).order_by(Place.id).all()


def centres() -> list[Place]:
    return Place.query.filter_by(level=CENTRE).order_by(Place.id).all()

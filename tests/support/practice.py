"""A practice-place tree on top of ``tests.support.orgs.build_tree``, and plan/need fields for tests.

    崇川区新时代文明实践中心 (district org) ─┬─ 和平桥街道新时代文明实践所 (street org) ── 百花社区新时代文明实践站 (community)
                                          └─ 城东街道新时代文明实践所 (sibling street)
    海门区新时代文明实践中心 (sibling district)
"""

from __future__ import annotations

from datetime import date, timedelta

POINTS = {"centre": (32.0100, 120.8600), "institute": (32.0200, 120.8700), "station": (32.0210, 120.8710),
          "sibling_institute": (32.0400, 120.9000), "other_centre": (31.9000, 121.1700)}

PLAN_FIELDS = {"name": "家庭教育讲学志愿服务", "category": "教育服务", "planned_sessions": 10,
               "valid_from": date(2026, 1, 1), "valid_until": date(2026, 12, 31), "accepts_orders": True,
               "audience": "学生家长", "organiser": "市教育局", "team": "德育志愿者", "activity_time": "全年",
               "location": "各新时代文明实践所(站)", "content": "开展家庭教育指导志愿服务"}


def build_places(orgs, admins, now):
    """The tree above; returns {key: Place}."""
    from models import db
    from models.practice import places

    root = admins["root"]

    def make(key, parent, org, region, name):
        lat, lng = POINTS[key]
        return places.create_place(root, parent_id=parent.id if parent else None, org_id=orgs[org].id, region=region,
                                   fields={"name": name, "latitude": lat, "longitude": lng, "phone": "0513-85123456",
                                           "address": "崇川区某路1号", "intro": "场所介绍"}, now=now)

    centre = make("centre", None, "district", "崇川区", "崇川区新时代文明实践中心")
    institute = make("institute", centre, "street", "崇川区", "和平桥街道新时代文明实践所")
    station = make("station", institute, "community", "崇川区", "百花社区新时代文明实践站")
    sibling = make("sibling_institute", centre, "sibling_street", "崇川区", "城东街道新时代文明实践所")
    other = make("other_centre", None, "sibling_district", "海门区", "海门区新时代文明实践中心")
    db.session.flush()
    return {"centre": centre, "institute": institute, "station": station, "sibling_institute": sibling,
            "other_centre": other}


def practice_city(handle):
    """A ``city`` fixture's body (``yield from practice_city(app_lite)``): ``build_tree``'s orgs, the place tree
    above and each admin bound as ``o-<key>``, committed; then ``(handle, ids)`` with the clock stopped an hour
    after NOW.  ``ids``: ``{"places": {key: id}, "orgs": {key: id}, "admins": {key: id}}``."""
    from models import db
    from tests.support.orgs import NOW, bind_admins, build_tree

    with handle.clock_at(NOW + timedelta(hours=1)):
        with handle.app.app_context():
            orgs, admins = build_tree(NOW)
            tree = build_places(orgs, admins, NOW)
            bind_admins(admins)
            db.session.commit()
            ids = {"places": {k: p.id for k, p in tree.items()}, "orgs": {k: o.id for k, o in orgs.items()},
                   "admins": {k: a.id for k, a in admins.items()}}
        yield handle, ids

"""A small served record for the records tests: a tree, two projects of two orgs, a volunteer with real punches.

``served()`` (inside an app context) publishes a 双签 project of the district association and a 单签 project of
the street station, both running today and tomorrow, signs the volunteer (and a neighbour) up, and records:
双签 today 09:00–10:16 (1.50 h), 单签 today and tomorrow (2.00 h each).  The clock is ``tests.support.orgs.NOW``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from models import db, project_rules
from models import membership as ms
from models import project as pr
from models import signup as su
from models.attendance import punches as att_punches
from models.positions import Position
from tests.support.orgs import NOW, build_tree, make_volunteer
from tests.support.projects import TODAY, fields, typed

SITE = Position(32.0100, 120.8600, 20)


def at(hh: int, mm: int = 0, day=TODAY) -> datetime:
    return pr.to_utc(day, datetime.min.time().replace(hour=hh, minute=mm))


def _live(**overrides) -> dict:
    return fields(start_date=TODAY.isoformat(), end_date=(TODAY + timedelta(days=1)).isoformat(),
                  signup_end=(TODAY + timedelta(days=1)).isoformat(), needs_review="0", **overrides)


def served(*, account: str | None = None, openid: str | None = None) -> dict:
    orgs, admins = build_tree()
    double = project_rules.publish_project(admins["district"], typed(_live()), now=NOW)
    single = project_rules.publish_project(admins["street"], typed(_live(
        name="文明交通劝导志愿服务", short_name="文明劝导", category="文明实践", checkin_mode="single", preset_hours="2",
        punch_radius="", checkout_mode="", description="路口文明交通劝导")), now=NOW)
    project_rules.review_project(admins["district"], single.id, now=NOW)  # a street station's project is reviewed
    volunteer = make_volunteer("李桂芳", account=account, openid=openid)
    neighbour = make_volunteer("顾秀英")
    for person in (volunteer, neighbour):
        su.sign_up(person, double.id, now=NOW)
        su.sign_up(person, single.id, now=NOW)
    ms.join_org(volunteer, orgs["street"].id, now=NOW)
    ms.approve_members(admins["street"], orgs["street"].id, [volunteer.id], now=NOW)
    att_punches.sign_in(volunteer, double.id, SITE, now=at(9, 0))
    double_cycle = att_punches.sign_out(volunteer, double.id, SITE, now=at(10, 16))
    first = att_punches.punch_single(volunteer, single.id, SITE, now=at(9, 30))
    second = att_punches.punch_single(volunteer, single.id, SITE, now=at(9, 30, TODAY + timedelta(days=1)))
    att_punches.punch_single(neighbour, single.id, SITE, now=at(9, 40))
    db.session.flush()
    return {"orgs": orgs, "admins": admins, "double": double, "single": single, "volunteer": volunteer,
            "neighbour": neighbour, "cycles": {"double": double_cycle, "single": [first, second]}}

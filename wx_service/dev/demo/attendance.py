"""The demo city's attendance: a few records in 时长公示, through the same model rules the pages use.

``seed_attendance(projects, volunteers, *, now=None, tz=...)`` takes the ``{key: Project}`` of
``seed_projects`` and some volunteers:

- each volunteer is accepted on the running 单签 project and punches once (``now``): 2 hours each;
- a 双签 project running today (window 00:00–23:59, 200 m around 濠河风景区南大门) is published by the
  root's admin; each volunteer signs in 75 minutes ago (or at the window's start) and out now, so
  1.50 hours and 1.50 points each enter publicity (skipped in the first half hour of the day).

Returns ``{"running_double": Project, "cycles": [Cycle, ...]}``.  Does not commit.
"""

from __future__ import annotations

from datetime import timedelta

from models import attendance as att
from models import signup as su
from models.attendance import punches as att_punches
from models.positions import Position
from models.project import DEFAULT_TZ, local_now, to_utc
from models.project_rules import publish_project

from ... import clock
from ...pages.fields import parse
from ...pages.project_admin import PROJECT_FORM

HERE = Position(32.0045, 120.8590, 20)  # 濠河风景区南大门, the demo projects' point


def seed_attendance(projects: dict, volunteers: list, *, now=None, tz: str = DEFAULT_TZ) -> dict:
    now = now or clock.now()
    today = local_now(now, tz).date()
    rules = att_punches.Rules(tz=tz)
    single = projects["running_single"]
    root_admin = single.org.admins[0]
    double = publish_project(root_admin, parse(PROJECT_FORM, {
        "name": "濠河风景区文明游览引导", "short_name": "文明游览", "recruit_count": 20, "scope": "all",
        "needs_review": "0", "category": "文明实践", "service_targets": ["社会公众"], "region": "崇川区",
        "place": "濠河风景区南大门", "latitude": HERE.latitude, "longitude": HERE.longitude,
        "description": "引导游客文明游览、垃圾分类。", "signup_start": today.isoformat(), "signup_end": today.isoformat(),
        "start_date": today.isoformat(), "end_date": today.isoformat(), "daily_start": "00:00", "daily_end": "23:59",
        "checkin_mode": "double", "punch_radius": 200, "checkout_mode": "central"}), now=now, tz=tz)
    cycles = []
    start = max(now - timedelta(minutes=75), to_utc(today, double.daily_start, tz))
    for volunteer in volunteers:
        for project in (single, double):
            if su.signup_of(volunteer.id, project.id) is None:
                su.sign_up(volunteer, project.id, now=now)
        cycles.append(att_punches.punch_single(volunteer, single.id, HERE, now=now, rules=rules))
        if now - start >= att.MIN_CYCLE:
            att_punches.sign_in(volunteer, double.id, HERE, now=start, rules=rules)
            cycles.append(att_punches.sign_out(volunteer, double.id, HERE, now=now, rules=rules))
    return {"running_double": double, "cycles": cycles}

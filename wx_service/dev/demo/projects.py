"""The demo city's projects, published through the same model rules the pages use.

``seed_projects(orgs, *, now=None, tz=...)`` takes the ``{key: Organization}`` of ``seed_orgs`` and
publishes, as each org's first admin:

- at the root (level 1, approved at once): a 单签 project running today (window 00:00–23:59 local,
  so it is 进行 whenever the demo is opened that day), and a 双签 project recruiting (starts in a week);
- below a level-2 org, when its street station has an admin: a 双签 project waiting for review, so
  项目审核 has something to show.

Returns ``{key: Project}``.  Does not commit.
"""

from __future__ import annotations

from datetime import timedelta

from models.project import DEFAULT_TZ, local_now
from models.project_rules import publish_project

from ... import clock
from ...pages.fields import parse
from ...pages.project_admin import PROJECT_FORM


def _base(org, today, **overrides) -> dict:
    fields = {
        "recruit_count": 20, "scope": "all", "needs_review": "1", "category": "环保绿化",
        "service_targets": ["社会公众"], "region": org.region if org.region != "南通市" else "崇川区",
        "place": "濠河风景区南大门", "latitude": 32.0045, "longitude": 120.8590,
        "contact_name": "总站办公室", "contact_phone": "0513-85000000",
        "signup_start": today.isoformat(), "signup_end": (today + timedelta(days=6)).isoformat(),
        "start_date": (today + timedelta(days=7)).isoformat(), "end_date": (today + timedelta(days=7)).isoformat(),
        "daily_start": "08:30", "daily_end": "11:30", "checkin_mode": "double", "punch_radius": 200,
        "checkout_mode": "central",
    }
    fields.update(overrides)
    return parse(PROJECT_FORM, fields)


def seed_projects(orgs: dict, *, now=None, tz: str = DEFAULT_TZ) -> dict:
    now = now or clock.now()
    today = local_now(now, tz).date()
    out = {}
    root = orgs["root"]
    root_admin = root.admins[0]
    out["running_single"] = publish_project(root_admin, _base(
        root, today, name="濠河沿岸环境清洁志愿服务", short_name="濠河清洁", needs_review="0",
        signup_end=today.isoformat(), start_date=today.isoformat(), end_date=today.isoformat(),
        daily_start="00:00", daily_end="23:59", checkin_mode="single", preset_hours=2, punch_radius="",
        checkout_mode="", description="沿濠河步道拾捡垃圾、劝导文明游览。"), now=now, tz=tz)
    out["recruiting_double"] = publish_project(root_admin, _base(
        root, today, name="南通马拉松赛会志愿服务", short_name="马拉松赛会", category="赛会服务",
        place="南通体育会展中心", latitude=32.0283, longitude=120.9015, recruit_count=50,
        description="赛道补给站服务、参赛选手引导。", requirements="年满18周岁，能连续站立4小时。"), now=now, tz=tz)
    street = orgs.get("hepingqiao")
    if street is not None and street.admins:
        out["pending_double"] = publish_project(street.admins[0], _base(
            street, today, name="和平桥社区敬老助餐服务", short_name="敬老助餐", category="敬老助老",
            service_targets=["孤寡老人"], place="和平桥街道社区食堂", latitude=32.0121, longitude=120.8702,
            recruit_count=8, punch_radius=100, checkout_mode="scattered"), now=now, tz=tz)
    return out

"""Project fields and published projects for tests (the clock: ``tests.support.orgs.NOW``)."""

from __future__ import annotations

from datetime import date, timedelta

from tests.support.orgs import NOW
from wx_service.pages.fields import parse
from wx_service.pages.project_admin import PROJECT_FORM

TODAY = date(2026, 3, 1)  # NOW's local day (10:00 in Asia/Shanghai)


def fields(**overrides) -> dict:
    """A valid 双签 project whose signup is open today and whose activity runs in a week."""
    base = {
        "name": "滨江公园环境保护志愿服务活动", "short_name": "滨江环保", "recruit_count": 10, "scope": "all",
        "needs_review": "1", "category": "环保绿化", "service_targets": ["社会公众"], "topic": "",
        "region": "崇川区", "region_detail": "和平桥街道", "place": "滨江公园北门", "latitude": 32.0100,
        "longitude": 120.8600, "description": "清理公园垃圾", "requirements": "身体健康",
        "contact_name": "顾丽华", "contact_phone": "0513-85512345",
        "signup_start": TODAY.isoformat(), "signup_end": (TODAY + timedelta(days=6)).isoformat(),
        "start_date": (TODAY + timedelta(days=7)).isoformat(), "end_date": (TODAY + timedelta(days=8)).isoformat(),
        "daily_start": "09:00", "daily_end": "11:30", "checkin_mode": "double", "punch_radius": "200",
        "checkout_mode": "central",
    }
    base.update(overrides)
    return base


def typed(form: dict, *, partial: bool = False) -> dict:
    """A project form's values as the pages hand them to the model: parsed by the form's field spec."""
    return parse(PROJECT_FORM, form, partial=partial)


def single_fields(**overrides) -> dict:
    return fields(**{"checkin_mode": "single", "preset_hours": "2", "punch_radius": "", "checkout_mode": "",
                     **overrides})


def district_project(**overrides):
    """``build_tree``'s orgs, the district's admin bound as ``o-district`` and a project of the district published
    without review (``overrides`` to ``fields``), flushed: the project."""
    from tests.support.orgs import bind_admins, build_tree

    _orgs, admins = build_tree()
    bind_admins({"district": admins["district"]})
    return publish(admins["district"], **{"needs_review": "0", **overrides})


def publish(actor, now=NOW, **overrides):
    from models.project_rules import publish_project

    return publish_project(actor, typed(fields(**overrides)), now=now)


def running_today(actor, name: str, openid: str):
    """A 双签 project of ``actor``'s org running today and tomorrow, signup open without review (published at
    NOW), and then a volunteer ``name`` (bound to the demo account as ``openid``) signed up for it, accepted at
    once: ``(project, volunteer)``."""
    from models import signup
    from tests.support.orgs import make_volunteer

    project = publish(actor, start_date=TODAY.isoformat(), end_date=(TODAY + timedelta(days=1)).isoformat(),
                      signup_end=(TODAY + timedelta(days=1)).isoformat(), needs_review="0")
    volunteer = make_volunteer(name, account="demo", openid=openid)
    signup.sign_up(volunteer, project.id, now=NOW)
    return project, volunteer

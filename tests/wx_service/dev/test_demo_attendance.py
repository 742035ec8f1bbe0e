"""seed_attendance on the demo orgs and projects: records in publicity for the 单签 and 双签 projects."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from models import db
from models import hours as service_hours
from models import points as points_ledger
from models.attendance import objection as att_objection
from wx_service.dev.demo.attendance import seed_attendance
from wx_service.dev.demo.orgs import seed_orgs
from wx_service.dev.demo.projects import seed_projects

NOW = datetime(2026, 3, 1, 2, 0)  # 10:00 local


def test_seed_attendance_puts_records_in_publicity(app_lite):
    with app_lite.app.app_context():
        from tests.support.orgs import make_volunteer

        root_admin = make_volunteer("总站管理员")
        orgs = seed_orgs(root_admin, [make_volunteer(f"管理员{i}") for i in range(8)], now=NOW)
        projects = seed_projects(orgs, now=NOW)
        people = [make_volunteer("李志愿"), make_volunteer("王站长")]
        out = seed_attendance(projects, people, now=NOW)
        db.session.commit()
        assert len(out["cycles"]) == 4
        assert len(att_objection.public_cycles(projects["running_single"].id, now=NOW)) == 2
        public = att_objection.public_cycles(out["running_double"].id, now=NOW)
        assert [c.hours for c in public] == [Decimal("1.50")] * 2
        assert points_ledger.balance(people[0].id) == Decimal("1.50") and service_hours.total_hours(people[0].id) == Decimal("3.50")

from datetime import datetime

from models import Volunteer, db
from models.project import APPROVED, PENDING, RECRUITING, RUNNING, search_projects
from wx_service.dev.demo.orgs import seed_orgs
from wx_service.dev.demo.projects import seed_projects

NOW = datetime(2026, 3, 1, 2, 0)  # 10:00 local


def test_seed_projects_on_the_demo_orgs(app_lite):
    with app_lite.app.app_context():
        from tests.support.orgs import make_volunteer

        root_admin = make_volunteer("总站管理员")
        others = [make_volunteer(f"管理员{i}") for i in range(8)]
        orgs = seed_orgs(root_admin, others, now=NOW)
        projects = seed_projects(orgs, now=NOW)
        db.session.commit()
        single, double = projects["running_single"], projects["recruiting_double"]
        assert single.checkin_mode == "single" and single.phase(NOW) == RUNNING and single.status == APPROVED
        assert double.checkin_mode == "double" and double.phase(NOW) == RECRUITING and double.status == APPROVED
        assert projects["pending_double"].status == PENDING
        assert search_projects(now=NOW).total == 2
        assert Volunteer.query.count() == 9

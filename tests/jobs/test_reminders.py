"""The reminder job: an hour before each day's window, once per signup and day, on both engines."""

from datetime import datetime, timedelta

from jobs.reminders import send_activity_reminders
from jobs.schedule import PERIODIC
from models import Notification, db
from models.signup import sign_up
from tests.support.orgs import NOW, build_tree, make_volunteer
from tests.support.projects import publish


def test_reminder_job_is_periodic_and_idempotent(any_app):
    assert send_activity_reminders in [func for func, _interval in PERIODIC]
    with any_app.app.app_context():
        orgs, admins = build_tree()
        project = publish(admins["district"], needs_review="0")
        people = [make_volunteer(f"提醒{i}") for i in range(3)]
        for person in people:
            sign_up(person, project.id, now=NOW)
        db.session.commit()
        opens = datetime.combine(project.start_date, project.daily_start) - timedelta(hours=8)
        assert send_activity_reminders(now=opens - timedelta(minutes=30)) == 3
        assert send_activity_reminders(now=opens - timedelta(minutes=20)) == 0
        rows = Notification.query.filter_by(kind="activity_reminder").all()
        assert len(rows) == 3 and rows[0].data["project"] == project.name
        assert rows[0].data["time"].endswith("09:00")

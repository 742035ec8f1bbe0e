from models import Binding, Membership, Notification, Organization, Project, Volunteer
from models.organization import admin_org_of
from models.wish import Wish
from wx_service.demo import DEMO_PASSWORD, seed_demo


def test_demo_seed_builds_once_and_binds_the_phone_openids(app_lite):
    with app_lite.app.app_context():
        assert seed_demo() is True
        assert seed_demo() is False
        admin = Binding.volunteer_for("demo", "o_demo_admin")
        assert admin is not None and admin.check_password(DEMO_PASSWORD)
        assert admin_org_of(admin.id).level == 1
        assert Volunteer.query.count() == 3
        assert Organization.query.count() >= 9
        member = Binding.volunteer_for("demo", "o_demo_volunteer")
        assert Membership.query.filter_by(volunteer_id=member.id, state="approved").count() == 1
        assert Notification.query.filter_by(volunteer_id=member.id, kind="join_result").count() == 1
        assert Wish.query.count() >= 3
        assert Project.query.count() >= 2

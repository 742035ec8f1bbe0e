from models import Binding, Volunteer
from wx_service.demo import DEMO_PASSWORD, seed_demo


def test_demo_seed_builds_once_and_binds_the_phone_openids(app_lite):
    with app_lite.app.app_context():
        assert seed_demo() is True
        assert seed_demo() is False
        admin = Binding.volunteer_for("demo", "o_demo_admin")
        assert admin is not None and admin.check_password(DEMO_PASSWORD)
        assert Volunteer.query.count() == 2

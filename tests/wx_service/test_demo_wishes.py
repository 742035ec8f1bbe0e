"""The demo wishes are built through the rules and land in every state the pages show."""

from collections import Counter

from models import Binding, Volunteer, db
from models import wish as wishes
from wx_service.demo import seed_demo
from wx_service.demo_orgs import seed_orgs
from wx_service.demo_wishes import WISHES, seed_wishes


def test_seed_wishes(app_lite):
    with app_lite.app.app_context():
        seed_demo()
        admin = Binding.volunteer_for("demo", "o_demo_admin")
        volunteer = Binding.volunteer_for("demo", "o_demo_volunteer")
        seed_orgs(admin)
        made = seed_wishes(admin, volunteer)
        db.session.commit()
        assert len(made) == len(WISHES)
        assert Counter(w.state for w in made) == {"pending": 2, "rejected": 1, "open": 3, "claimed": 1}
        assert [w.state for w in wishes.of_publisher("demo", "o_demo_elder")] == ["open", "rejected", "pending"]
        assert [w.claimer_id for w in wishes.claimed_by(volunteer.id)] == [volunteer.id]
        assert wishes.published(state="open").total == 3
        assert Volunteer.query.count() == 2

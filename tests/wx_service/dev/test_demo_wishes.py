"""The demo wishes are built through the rules and land in every state the pages show."""

from collections import Counter

from models import Binding
from models import wish as wishes
from models.wish import Wish
from wx_service.dev.demo import seed_demo
from wx_service.dev.demo.wishes import WISHES


def test_seed_wishes(app_lite):
    with app_lite.app.app_context():
        seed_demo()
        volunteer = Binding.volunteer_for("demo", "o_demo_volunteer")
        made = Wish.query.order_by(Wish.id).all()
        assert len(made) == len(WISHES)
        assert Counter(w.state for w in made) == {"pending": 2, "rejected": 1, "open": 3, "claimed": 1}
        assert [w.state for w in wishes.of_publisher("demo", "o_demo_elder")] == ["open", "rejected", "pending"]
        assert [w.claimer_id for w in wishes.claimed_by(volunteer.id)] == [volunteer.id]
        assert wishes.published(state="open").total == 3

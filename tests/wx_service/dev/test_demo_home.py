"""The demo city's 礼遇坊 and articles: offered and published through the rules, shown on the pages."""

from models import Binding, articles, gifts
from models import points as ledger
from tests.support.people import sign_in
from wx_service.dev.demo import seed_demo
from wx_service.dev.demo.home import ARTICLES, GIFTS


def test_seed_home(app_lite):
    with app_lite.app.app_context():
        seed_demo()
        volunteer = Binding.volunteer_for("demo", "o_demo_volunteer")
        assert ledger.balance(volunteer.id) >= 60
        assert [g.name for g in gifts.offered_gifts(now=gifts.Gift.query.first().created_at)] == \
            [name for name, *_ in reversed(GIFTS)]
        assert len(articles.published("guide")) + len(articles.published("reading")) == len(ARTICLES)
    client = sign_in(app_lite.client(), "o_demo_volunteer")
    page = client.get("/m/articles?category=guide&account=demo").get_data(as_text=True)
    assert "新志愿者第一次参加活动要注意什么" in page
    assert "爱心保温杯" in client.get("/m/gifts?account=demo").get_data(as_text=True)

"""The 一喊就来 demo: the sandbox phone's o_demo_elder is an approved seeker paired with the demo people."""

from models import Binding, Notification
from models import help_request as hr
from models import help_seeker as hs
from wx_service.dev.demo import seed_demo
from wx_service.dev.demo.help import ELDER_OPENID
from wx_service.dev.sandbox.phone import send_callback


def test_demo_elder_calls_and_the_demo_volunteers_are_told(app_lite):
    with app_lite.app.app_context():
        seed_demo()
        admin = Binding.volunteer_for("demo", "o_demo_station")
        volunteer = Binding.volunteer_for("demo", "o_demo_volunteer")
        seeker = hs.seeker_for("demo", ELDER_OPENID)
        assert seeker.state == "approved"
        assert set(seeker.volunteer_ids) == {admin.id, volunteer.id}
    result = send_callback("demo", ELDER_OPENID, "voice", client=app_lite.client())
    assert "已经通知您的结对志愿者" in result["reply_text"]
    assert app_lite.drain_jobs()
    with app_lite.app.app_context():
        [request] = hr.HelpRequest.query.all()
        told = {n.volunteer_id for n in Notification.query.filter_by(kind="help_request")}
        assert told == {admin.id, volunteer.id} and request.voice_notes[0].state == "ready"

"""Reminders that ask back: 24 h before, a signed single-person link; 不能参加 frees the place and
promotes the waitlist at once; the 1-hour reminder stays; a project admin's one message to everyone
accepted, rate-limited, with the count sent."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from jobs.reminders import send_activity_reminders, send_attendance_asks
from jobs.schedule import PERIODIC
from models import Notification, RuleViolation, ask_back, db
from models.signup import ACCEPTED, WAITLISTED, Signup, sign_up
from tests.support.orgs import NOW, make_volunteer
from tests.support.people import csrf_token, sign_in
from tests.support.projects import district_project


@pytest.fixture
def project(any_app):
    handle = any_app
    with handle.app.app_context():
        project = district_project(recruit_count=2)
        people = [make_volunteer(f"参加{i}", account="demo", openid=f"o-go{i}") for i in range(3)]
        for person in people[:2]:
            sign_up(person, project.id, now=NOW)
        sign_up(people[2], project.id, now=NOW, waitlist=True)
        db.session.commit()
        opens = datetime.combine(project.start_date, project.daily_start) - timedelta(hours=8)  # UTC
        ids = {"project": project.id, "people": [p.id for p in people], "opens": opens}
    yield handle, ids
    handle.app.config.pop("CLOCK_NOW", None)


def asks(handle) -> dict[int, str]:
    with handle.app.app_context():
        return {n.volunteer_id: n.link for n in Notification.query.filter_by(kind="attendance_ask")}


def test_asked_once_a_day_before_and_cannot_come_promotes_the_waitlist(project):
    handle, ids = project
    assert send_attendance_asks in [func for func, _interval in PERIODIC]
    first, second, waiting = ids["people"]
    with handle.app.app_context():
        assert send_attendance_asks(now=ids["opens"] - timedelta(hours=25)) == 0  # not yet: 24 h before
        assert send_attendance_asks(now=ids["opens"] - timedelta(hours=23)) == 2
        assert send_attendance_asks(now=ids["opens"] - timedelta(hours=22)) == 0  # once per day
    links = asks(handle)
    assert set(links) == {first, second} and links[first] != links[second]
    assert all(re.fullmatch(r"/m/attend/[\w.-]+", link) for link in links.values())

    handle.app.config["CLOCK_NOW"] = ids["opens"] - timedelta(hours=20)
    stranger = sign_in(handle.client(), "o-go1")
    assert stranger.get(links[first] + "?account=demo").status_code == 403  # a forwarded link does nothing
    assert sign_in(handle.client(), "o-go0").get("/m/attend/forged.token?account=demo").status_code == 404

    client = sign_in(handle.client(), "o-go0")
    page = client.get(links[first] + "?account=demo")
    assert page.status_code == 200 and "确认参加" in page.get_data(as_text=True)
    token = csrf_token(client, links[first] + "?account=demo")
    done = client.post(links[first] + "?account=demo", data={"csrf_token": token, "answer": "no"},
                       follow_redirects=True)
    assert "名额已让给候补" in done.get_data(as_text=True)
    with handle.app.app_context():
        states = {s.volunteer_id: s.state for s in Signup.query.filter_by(project_id=ids["project"])}
        assert states[first] == "cancelled" and states[waiting] == ACCEPTED and states[second] == ACCEPTED
        assert Notification.query.filter_by(kind="signup_promoted", volunteer_id=waiting).count() == 1
        assert ask_back.answers_of(ids["project"]) == {"yes": 0, "no": 1, "none": 1}
    again = client.post(links[first] + "?account=demo", data={"csrf_token": token, "answer": "yes"})
    assert again.status_code == 409

    other = sign_in(handle.client(), "o-go1")
    other.post(links[second] + "?account=demo",
               data={"csrf_token": csrf_token(other, links[second] + "?account=demo"), "answer": "yes"})
    bad = other.post(links[second] + "?account=demo",
                     data={"csrf_token": csrf_token(other, links[second] + "?account=demo"), "answer": "maybe"})
    assert bad.status_code == 400 and "请选择确认参加或不能参加" in bad.get_data(as_text=True)
    with handle.app.app_context():
        assert ask_back.answers_of(ids["project"]) == {"yes": 1, "no": 1, "none": 0}
        # the 1-hour reminder stays, for those accepted now
        assert send_activity_reminders(now=ids["opens"] - timedelta(minutes=30)) == 2
        reminded = {n.volunteer_id for n in Notification.query.filter_by(kind="activity_reminder")}
        assert reminded == {second, waiting}


def test_ask_back_is_off_with_zero_hours(project):
    handle, ids = project
    with handle.app.app_context():
        assert ask_back.send_asks(now=ids["opens"] - timedelta(hours=1), lead=timedelta(0), secret="s") == 0


def test_one_message_to_everyone_accepted_rate_limited_with_the_count(project):
    handle, ids = project
    handle.app.config["CLOCK_NOW"] = NOW
    admin = sign_in(handle.client(), "o-district")
    path = f"/m/admin/projects/{ids['project']}/message?account=demo"
    token = csrf_token(admin, path)
    sent = admin.post(path, data={"csrf_token": token, "content": "明早8:30北门集合，请带手套"}, follow_redirects=True)
    assert "共发送给 2 位" in sent.get_data(as_text=True)
    soon = admin.post(path, data={"csrf_token": token, "content": "再说一次"}, follow_redirects=True)
    assert "分钟内只能发送一次" in soon.get_data(as_text=True)
    empty = admin.post(path, data={"csrf_token": token, "content": "   "}, follow_redirects=True)
    assert "请填写通知内容" in empty.get_data(as_text=True)
    with handle.app.app_context():
        rows = Notification.query.filter_by(kind="project_message").all()
        assert sorted(r.volunteer_id for r in rows) == sorted(ids["people"][:2])
        assert rows[0].data["content"] == "明早8:30北门集合，请带手套"
        assert [m.recipients for m in ask_back.messages_of(ids["project"])] == [2]
    handle.app.config["CLOCK_NOW"] = NOW + timedelta(minutes=61)
    later = admin.post(path, data={"csrf_token": token, "content": "已改到南门"}, follow_redirects=True)
    assert "共发送给 2 位" in later.get_data(as_text=True)
    volunteer = sign_in(handle.client(), "o-go0")
    assert volunteer.get(path).status_code == 403
    with handle.app.app_context():
        assert Signup.query.filter_by(project_id=ids["project"], state=WAITLISTED).count() == 1


def test_a_yes_never_overwrites_a_no_answered_at_the_same_moment(project):
    """The 不能参加 of another tab lands between this request's read and its write: it stands."""
    from sqlalchemy import update

    from models import Volunteer

    handle, ids = project
    with handle.app.app_context():
        send_attendance_asks(now=ids["opens"] - timedelta(hours=23))
        db.session.commit()
        ask = ask_back.AttendanceAsk.query.join(Signup).filter(Signup.volunteer_id == ids["people"][0]).one()
        assert ask.answer is None  # what this request read
        db.session.execute(update(ask_back.AttendanceAsk).where(ask_back.AttendanceAsk.id == ask.id)
                           .values(answer=ask_back.NO).execution_options(synchronize_session=False))
        with pytest.raises(RuleViolation) as refused:
            ask_back.answer(db.session.get(Volunteer, ids["people"][0]), ask, ask_back.YES,
                            now=ids["opens"] - timedelta(hours=20))
        assert refused.value.code == "already_declined"
        db.session.expire_all()
        assert db.session.get(ask_back.AttendanceAsk, ask.id).answer == ask_back.NO
        db.session.rollback()


def test_two_sends_either_side_of_a_slot_edge_send_once_on_postgres(app_pg):
    """一键通知 from two tabs at the same moment, 0.2 s apart across the edge of an hour's slot, on real
    connections: one is sent, the other is told to wait (each used to count no message yet, and both went out)."""
    from functools import partial

    from models import Binding, Volunteer
    from tests.support.rules import at_once

    app = app_pg.app
    with app.app_context():
        project = district_project(recruit_count=2)
        for n in range(2):
            sign_up(make_volunteer(f"跨点通知{n}", account="demo", openid=f"o-edge{n}"), project.id, now=NOW)
        db.session.commit()
        project_id = project.id
        admin_id = Binding.query.filter_by(openid="o-district").one().volunteer_id

    def send(moment):
        ask_back.message_accepted(db.session.get(Volunteer, admin_id), project_id, "明早8:30北门集合", now=moment)

    hour_edge = (int(NOW.timestamp()) // 3600 + 1) * 3600  # ``slot`` counts hours of the naive time's timestamp
    for hour in range(6):
        edge = hour_edge + 2 * 3600 * hour
        before, after = (datetime.fromtimestamp(edge + offset) for offset in (-0.1, 0.1))
        assert sorted(at_once(app, partial(send, before), partial(send, after))) == ["message_too_soon", "ok"]
    with app.app_context():
        assert len(ask_back.messages_of(project_id)) == 6
        assert Notification.query.filter_by(kind="project_message").count() == 12

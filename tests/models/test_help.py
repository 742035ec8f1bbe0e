"""一喊就来 rules: seekers and their approval, the flood rule, claims, escalation, assignment, who sees what."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models import Notification, RuleViolation, Volunteer, db
from models import help_request as hr
from models import help_seeker as hs
from tests.support.help import build_help, seeker_fields, seeker_typed
from tests.support.orgs import NOW, build_tree, make_volunteer


def _v(vid):
    return db.session.get(Volunteer, vid)


def _call(seeker_id, media, now=NOW, source=hr.CHAT):
    result = hr.call_for_help(db.session.get(hs.HelpSeeker, seeker_id), media, source, "demo", now=now)
    db.session.commit()
    return result


def _kinds(cause_prefix):
    return sorted((n.kind, n.volunteer_id) for n in Notification.query.filter(Notification.cause.like(cause_prefix + "%")))


def test_station_admin_adds_parent_admin_approves(any_app):
    with any_app.app.app_context():
        orgs, admins = build_tree()
        paired = [make_volunteer("结对甲"), make_volunteer("结对乙")]
        keys = f"{paired[0].number}，{paired[1].id_number}"  # a volunteer number and an ID number, Chinese comma
        seeker = hs.add_seeker(admins["street"], seeker_typed(seeker_fields()), keys, now=NOW)
        db.session.commit()
        assert seeker.station_id == orgs["street"].id and seeker.state == hs.PENDING
        assert {v.id for v in seeker.volunteers} == {v.id for v in paired}
        assert seeker.id_number_encrypted != seeker.id_number and seeker.phone == "0513-85123456"
        for who in ("street", "sibling_street", "community"):  # the station itself, a sibling, below: no
            with pytest.raises(RuleViolation) as refused:
                hs.review_seeker(admins[who], seeker.id, True, now=NOW)
            assert refused.value.code == "forbidden"
        assert [s.id for s in hs.seekers_to_review(admins["district"])] == [seeker.id]
        assert hs.seekers_to_review(admins["street"]) == []
        hs.review_seeker(admins["district"], seeker.id, True, now=NOW)
        db.session.commit()
        assert seeker.state == hs.APPROVED and seeker.reviewed_by_id == admins["district"].id
        with pytest.raises(RuleViolation) as again:
            hs.review_seeker(admins["root"], seeker.id, False, now=NOW)
        assert again.value.code == "already_reviewed"
        # the list of 结对人: the station and everything above it see the seeker, a sibling does not
        assert [s.id for s in hs.seekers_for_admin(admins["district"])] == [seeker.id]
        assert hs.seekers_for_admin(admins["sibling_street"]) == []


def test_paired_volunteers_must_exist_and_fields_are_checked(any_app):
    with any_app.app.app_context():
        _orgs, admins = build_tree()
        known = make_volunteer("结对甲")
        with pytest.raises(RuleViolation) as missing:
            hs.add_seeker(admins["street"], seeker_typed(seeker_fields()), f"{known.number},320602199901019999", now=NOW)
        assert missing.value.code == "volunteer_not_found" and "3206" in missing.value.message
        with pytest.raises(RuleViolation) as none:
            hs.add_seeker(admins["street"], seeker_typed(seeker_fields()), "", now=NOW)
        assert none.value.code == "volunteers_required"
        with pytest.raises(RuleViolation) as bad_id:
            hs.add_seeker(admins["street"], seeker_typed(seeker_fields(id_number="320602194001010000")), known.number, now=NOW)
        assert bad_id.value.code == "id_invalid"
        with pytest.raises(RuleViolation) as no_address:
            hs.add_seeker(admins["street"], seeker_typed(seeker_fields(address=" ")), known.number, now=NOW)
        assert no_address.value.code == "address_required"
        plain = make_volunteer("无组织")
        with pytest.raises(RuleViolation) as not_admin:
            hs.add_seeker(plain, seeker_typed(seeker_fields()), known.number, now=NOW)
        assert not_admin.value.code == "forbidden"


def test_edit_and_pairings(any_app):
    with any_app.app.app_context():
        ids = build_help(2, seeker_openid=None)
        admins = {k: _v(v) for k, v in ids["admins"].items()}
        extra = make_volunteer("新结对")
        assert hs.add_pairings(admins["street"], ids["seeker"], extra.number, now=NOW) == 3
        hs.remove_pairing(admins["street"], ids["seeker"], ids["volunteers"][0], now=NOW)
        hs.edit_seeker(admins["street"], ids["seeker"], seeker_typed({"address": "新地址1号"}, partial=True), now=NOW)
        db.session.commit()
        seeker = db.session.get(hs.HelpSeeker, ids["seeker"])
        assert seeker.address == "新地址1号" and seeker.state == hs.APPROVED
        assert set(seeker.volunteer_ids) == {ids["volunteers"][1], extra.id}
        with pytest.raises(RuleViolation) as sibling:
            hs.add_pairings(admins["sibling_street"], ids["seeker"], extra.number, now=NOW)
        assert sibling.value.code == "forbidden"
        with pytest.raises(RuleViolation) as last:
            for vid in list(seeker.volunteer_ids):
                hs.remove_pairing(admins["street"], ids["seeker"], vid, now=NOW)
        assert last.value.code == "volunteers_required"


def test_only_approved_seekers_can_call(any_app):
    with any_app.app.app_context():
        ids = build_help(1, approve=False)
        with pytest.raises(RuleViolation) as pending:
            _call(ids["seeker"], "m1")
        assert pending.value.code == "seeker_not_approved" and pending.value.status == 403
        assert hr.HelpRequest.query.count() == 0


def test_a_call_is_announced_to_paired_volunteers_and_station_admins(any_app):
    with any_app.app.app_context():
        ids = build_help(3)
        request, note, is_new = _call(ids["seeker"], "m1")
        assert is_new and request.state == hr.OPEN and note.state == hr.V_PENDING and note.source == "chat"
        expected = sorted([("help_request", v) for v in ids["volunteers"]] + [("help_request", ids["admins"]["street"])])
        assert _kinds(f"help_request:{request.id}") == expected
        row = Notification.query.filter_by(volunteer_id=ids["volunteers"][0]).one()
        assert row.link == f"/m/help/requests/{request.id}"
        assert row.data == {"elder": "王*英", "content": "语音求助，请尽快查看并认领", "time": "2026-03-01 10:00"}
        again = _call(ids["seeker"], "m1")  # the same media again changes nothing
        assert again[0].id == request.id and again[1].id == note.id and again[2] is False
        assert hr.VoiceNote.query.count() == 1


def test_flood_rule_ten_minutes_while_open(any_app):
    with any_app.app.app_context():
        ids = build_help(2)
        first, _, _ = _call(ids["seeker"], "m1", NOW)
        told = Notification.query.count()
        second, note2, is_new = _call(ids["seeker"], "m2", NOW + timedelta(minutes=9, seconds=59))
        assert second.id == first.id and not is_new and note2.request_id == first.id
        assert Notification.query.count() == told, "a voice note added to an open request tells nobody again"
        assert [n.media_id for n in first.voice_notes] == ["m1", "m2"]
        third, _, is_new = _call(ids["seeker"], "m3", NOW + timedelta(minutes=10, seconds=1))
        assert is_new and third.id != first.id
        # a claimed request does not swallow a new call, even within 10 minutes
        hr.claim(_v(ids["volunteers"][0]), third.id, now=NOW + timedelta(minutes=11))
        db.session.commit()
        fourth, _, is_new = _call(ids["seeker"], "m4", NOW + timedelta(minutes=12))
        assert is_new and fourth.id not in (first.id, third.id)


def test_claim_one_winner_done_by_claimer_with_a_note(any_app):
    with any_app.app.app_context():
        ids = build_help(3)
        request, _, _ = _call(ids["seeker"], "m1")
        a, b = _v(ids["volunteers"][0]), _v(ids["volunteers"][1])
        outsider = make_volunteer("路人")
        with pytest.raises(RuleViolation) as not_paired:
            hr.claim(outsider, request.id, now=NOW)
        assert not_paired.value.code == "not_paired"
        hr.claim(a, request.id, now=NOW + timedelta(minutes=3))
        db.session.commit()
        with pytest.raises(RuleViolation) as taken:
            hr.claim(b, request.id, now=NOW + timedelta(minutes=4))
        assert taken.value.code == "already_claimed" and taken.value.status == 409
        assert "结**号" in taken.value.message
        db.session.rollback()
        assert _kinds(f"help_claimed:{request.id}") == [("help_claimed", ids["admins"]["street"])]
        with pytest.raises(RuleViolation) as not_claimer:
            hr.mark_done(b, request.id, "去过了", now=NOW)
        assert not_claimer.value.code == "not_claimer"
        with pytest.raises(RuleViolation) as no_note:
            hr.mark_done(a, request.id, "  ", now=NOW)
        assert no_note.value.code == "done_note_required"
        hr.mark_done(a, request.id, "帮老人换了灯泡", now=NOW + timedelta(hours=1))
        db.session.commit()
        assert (request.state, request.done_note) == (hr.DONE, "帮老人换了灯泡")
        [told] = Notification.query.filter_by(kind="help_done").all()
        assert told.volunteer_id == ids["admins"]["street"] and told.data["note"] == "帮老人换了灯泡"
        with pytest.raises(RuleViolation) as done:
            hr.claim(b, request.id, now=NOW)
        assert done.value.code == "already_done"


def test_escalation_after_24_hours_once(any_app):
    with any_app.app.app_context():
        ids = build_help(2)
        request, _, _ = _call(ids["seeker"], "m1")
        claimed, _, _ = _call(ids["seeker"], "m2", NOW + timedelta(minutes=30))
        hr.claim(_v(ids["volunteers"][0]), claimed.id, now=NOW + timedelta(minutes=31))
        db.session.commit()
        assert hr.escalate_due(NOW + timedelta(hours=23, minutes=59)) == []
        assert hr.escalate_due(NOW + timedelta(hours=24)) == [request.id]
        db.session.commit()
        assert hr.escalate_due(NOW + timedelta(hours=48)) == []  # never twice
        db.session.commit()
        assert _kinds(f"help_escalation:{request.id}") == [("help_escalation", ids["admins"]["street"])]
        assert _kinds(f"help_escalation:{claimed.id}") == []
        db.session.refresh(request)
        assert request.state == hr.ESCALATED and request.escalated_at == NOW + timedelta(hours=24)
        row = Notification.query.filter_by(kind="help_escalation").one()
        assert row.data["content"].startswith("求助超过24小时无人认领")
        hr.claim(_v(ids["volunteers"][1]), request.id, now=NOW + timedelta(hours=25))  # still claimable
        db.session.commit()
        assert request.state == hr.CLAIMED


def test_escalation_job_with_injected_clock(any_app):
    from jobs.help import escalate_help_requests

    with any_app.app.app_context():
        ids = build_help(1)
        request, _, _ = _call(ids["seeker"], "m1")
        assert escalate_help_requests(now=NOW + timedelta(hours=1)) == []
        assert escalate_help_requests(now=NOW + timedelta(days=1, seconds=1)) == [request.id]
        assert escalate_help_requests(now=NOW + timedelta(days=2)) == []
        assert Notification.query.filter_by(kind="help_escalation").count() == 1


def test_admin_assigns_a_volunteer_of_the_subtree(any_app):
    from models import membership as ms

    with any_app.app.app_context():
        ids = build_help(1)
        admins = {k: _v(v) for k, v in ids["admins"].items()}
        request, _, _ = _call(ids["seeker"], "m1")
        member, stranger = make_volunteer("社区成员"), make_volunteer("外区志愿者")
        ms.join_org(member, ids["orgs"]["community"], now=NOW)
        ms.approve_members(admins["community"], ids["orgs"]["community"], [member.id], now=NOW)
        ms.join_org(stranger, ids["orgs"]["sibling_street"], now=NOW)
        ms.approve_members(admins["sibling_street"], ids["orgs"]["sibling_street"], [stranger.id], now=NOW)
        db.session.commit()
        with pytest.raises(RuleViolation) as outside:
            hr.assign(admins["street"], request.id, stranger.number, now=NOW)
        assert outside.value.code == "not_in_subtree"
        with pytest.raises(RuleViolation) as sibling_admin:
            hr.assign(admins["sibling_street"], request.id, stranger.number, now=NOW)
        assert sibling_admin.value.code == "forbidden"
        with pytest.raises(RuleViolation) as unknown:
            hr.assign(admins["street"], request.id, "nobody", now=NOW)
        assert unknown.value.code == "volunteer_not_found"
        hr.assign(admins["street"], request.id, member.number, now=NOW + timedelta(hours=25))
        db.session.commit()
        assert (request.state, request.claimer_id, request.assigned_by_id) == (hr.CLAIMED, member.id, admins["street"].id)
        [assigned] = Notification.query.filter_by(kind="help_assigned").all()
        assert assigned.volunteer_id == member.id and assigned.link == f"/m/help/requests/{request.id}"
        assert hr.may_see_full(member, request) and hr.may_view(member, request)
        with pytest.raises(RuleViolation) as taken:
            hr.claim(_v(ids["volunteers"][0]), request.id, now=NOW)
        assert taken.value.code == "already_claimed"


def test_who_sees_the_seeker_in_full(any_app):
    with any_app.app.app_context():
        ids = build_help(2)
        admins = {k: _v(v) for k, v in ids["admins"].items()}
        a, b = _v(ids["volunteers"][0]), _v(ids["volunteers"][1])
        first, _, _ = _call(ids["seeker"], "m1")
        second, _, _ = _call(ids["seeker"], "m2", NOW + timedelta(hours=1))
        for who in ("street", "district", "root"):
            assert hr.may_see_full(admins[who], first), who
        for who in ("sibling_street", "community", "sibling_district"):
            assert not hr.may_see_full(admins[who], first) and not hr.may_view(admins[who], first), who
        assert hr.may_view(a, first) and not hr.may_see_full(a, first)
        hr.claim(a, first.id, now=NOW + timedelta(minutes=1))
        db.session.commit()
        assert hr.may_see_full(a, first), "the claimer of this request"
        assert not hr.may_see_full(a, second), "not for another request of the same seeker"
        assert not hr.may_see_full(b, first)
        assert not hr.may_view(make_volunteer("路人"), first)


def test_seeker_binds_with_id_number_and_phone(any_app):
    with any_app.app.app_context():
        ids = build_help(1, seeker_openid=None)
        store = any_app.app.extensions["wx_store"]
        with pytest.raises(RuleViolation) as wrong:
            hs.bind_seeker("demo", "o_family", ids["id_number"], "13900000000", now=NOW, store=store)
        assert wrong.value.code == "bind_wrong"
        seeker = hs.bind_seeker("demo", "o_family", ids["id_number"].lower(), "138 5130 0001", now=NOW, store=store)
        db.session.commit()  # the database store works on a connection of its own: one bind, one commit
        hs.bind_seeker("demo", "o_elder_phone", ids["id_number"], "0513-85123456", now=NOW, store=store)
        db.session.commit()
        assert hs.seeker_for("demo", "o_family").id == seeker.id == hs.seeker_for("demo", "o_elder_phone").id
        for _ in range(5):
            with pytest.raises(RuleViolation):
                hs.bind_seeker("demo", "o_guess", ids["id_number"], "13900000000", now=NOW, store=store)
        with pytest.raises(RuleViolation) as locked:
            hs.bind_seeker("demo", "o_guess", ids["id_number"], "13851300001", now=NOW, store=store)
        assert locked.value.code == "bind_locked" and locked.value.status == 429

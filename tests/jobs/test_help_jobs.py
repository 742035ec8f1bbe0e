"""一喊就来 end to end through the sandbox with real rq worker processes and PostgreSQL."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import jobs.media
from models import db, utcnow
from models import help_request as hr
from tests.support.help import build_help
from tests.support.notifications import run_worker, set_notifications
from tests.support.people import csrf_token, sign_in
from wx_service.dev.sandbox.phone import send_callback

DEMO = "wxdemo0000000001"
MEDIA_GET = "cgi-bin/media/get"


def _state(handle, request_id):
    with handle.app.app_context():
        request = db.session.get(hr.HelpRequest, request_id)
        notes = [(n.state, n.attempts, n.mp3_path, n.duration, n.source) for n in request.voice_notes]
        return request.state, request.claimer_id, notes


def _only_request(handle) -> int:
    with handle.app.app_context():
        [request_id] = [r.id for r in hr.HelpRequest.query.all()]
        return request_id


def test_chat_voice_reaches_paired_volunteers_one_claims_the_others_are_refused(app_pg, tmp_path, monkeypatch):
    config = set_notifications(app_pg, monkeypatch, tmp_path, retry_base_seconds=0)
    with app_pg.app.app_context():
        ids = build_help(3)
    for i in range(3):
        app_pg.sandbox.follow(DEMO, f"o_pair_{i}")

    result = send_callback("demo", "o_elder", "voice", client=app_pg.client(), seconds=3)
    assert result["status"] == 200 and "已经通知您的结对志愿者" in result["reply_text"]
    request_id = _only_request(app_pg)
    assert _state(app_pg, request_id)[2][0][0] == "pending", "announced before the audio is fetched"

    run_worker(config)
    for i in range(3):
        [sent] = app_pg.sandbox.templates_to(f"o_pair_{i}", DEMO)
        assert sent["template_id"] == "TPL_HELP" and sent["data"]["thing1"] == {"value": "王*英"}
        assert "/m/me/inbox/" in sent["url"]
    state, claimer, [(note_state, attempts, mp3, duration, source)] = _state(app_pg, request_id)
    assert (state, claimer, note_state, attempts, source) == ("open", None, "ready", 1, "chat")
    assert mp3.startswith("help_voice/") and mp3.endswith(".mp3")
    path = os.path.join(app_pg.app.config["MEDIA_DIR"], mp3)
    with open(path, "rb") as handle:
        head = handle.read(3)
    assert head == b"ID3" or head[:2] == b"\xff\xfb", "an MP3 file"
    assert 2.5 <= duration <= 3.5
    [download] = app_pg.sandbox.calls_to(MEDIA_GET)
    assert f"<MediaId><![CDATA[{download['params']['media_id']}]]></MediaId>" in result["request_xml"]

    page = f"/m/help/requests/{request_id}"
    clients = [sign_in(app_pg.client(), f"o_pair_{i}") for i in range(3)]
    tokens = [csrf_token(c, page) for c in clients]
    first = clients[0].post(page + "/claim", data={"csrf_token": tokens[0]})
    assert first.status_code == 302
    for client, token in zip(clients[1:], tokens[1:], strict=True):
        refused = client.post(page + "/claim", data={"csrf_token": token})
        html = refused.get_data(as_text=True)
        assert refused.status_code == 409 and "已由结**号认领" in html and "认领求助</button>" not in html
    mine = clients[0].get(page).get_data(as_text=True)
    assert "13851300001" in mine and "王建国" in mine, "the claimer sees the phones and the emergency contact"
    assert "13851300001" not in clients[1].get(page).get_data(as_text=True)
    audio = clients[1].get(f"/m/help/voice/{_first_note(app_pg, request_id)}.mp3")
    assert audio.status_code == 200 and audio.mimetype == "audio/mpeg"
    done = clients[0].post(page + "/done", data={"csrf_token": tokens[0], "note": "已上门，帮老人买了药"})
    assert done.status_code == 302
    assert _state(app_pg, request_id)[:2] == ("done", ids["volunteers"][0])
    assert "已上门，帮老人买了药" in clients[2].get(page).get_data(as_text=True)


def _first_note(handle, request_id):
    with handle.app.app_context():
        return hr.VoiceNote.query.filter_by(request_id=request_id).first().id


def test_a_voice_that_fails_twice_is_downloaded_on_the_third_try(app_pg, tmp_path, monkeypatch):
    config = set_notifications(app_pg, monkeypatch, tmp_path, retry_base_seconds=0)
    monkeypatch.setattr(jobs.media.fetch_media, "retry", (3, [0, 0, 0]))
    with app_pg.app.app_context():
        build_help(1)
    app_pg.sandbox.follow(DEMO, "o_pair_0")
    app_pg.sandbox.fail_next(MEDIA_GET, -1, times=2, errmsg="system error")
    result = send_callback("demo", "o_elder", "voice", client=app_pg.client(), seconds=2)
    assert "已经通知" in result["reply_text"]
    request_id = _only_request(app_pg)
    run_worker(config)
    state, _, [(note_state, attempts, mp3, _duration, _)] = _state(app_pg, request_id)
    assert (state, note_state, attempts) == ("open", "ready", 3) and mp3
    assert len(app_pg.sandbox.calls_to(MEDIA_GET)) == 3
    assert len(app_pg.sandbox.templates_to("o_pair_0", DEMO)) == 1, "announced once, whatever the audio did"


def test_an_expired_media_is_not_retried(app_pg, tmp_path, monkeypatch):
    config = set_notifications(app_pg, monkeypatch, tmp_path, retry_base_seconds=0)
    monkeypatch.setattr(jobs.media.fetch_media, "retry", (3, [0, 0, 0]))
    with app_pg.app.app_context():
        build_help(1)
    send_callback("demo", "o_elder", "voice", client=app_pg.client(), media_id="no_such_media")
    run_worker(config)
    _, _, [(note_state, attempts, _, _, _)] = _state(app_pg, _only_request(app_pg))
    assert (note_state, attempts) == ("failed", 1)


def test_fifty_concurrent_claims_one_winner(app_pg):
    n = 50
    with app_pg.app.app_context():
        ids = build_help(n)
        seeker = db.session.get(hr.HelpSeeker, ids["seeker"])
        request, _, _ = hr.call_for_help(seeker, "m-race", hr.CHAT, "demo", now=utcnow())
        db.session.commit()
        request_id = request.id
    page = f"/m/help/requests/{request_id}"
    clients = [sign_in(app_pg.client(), f"o_pair_{i}") for i in range(n)]
    tokens = [csrf_token(c, page) for c in clients]
    barrier = threading.Barrier(n)

    def claim(i):
        barrier.wait()
        response = clients[i].post(page + "/claim", data={"csrf_token": tokens[i]})
        return i, response.status_code, response.get_data(as_text=True)

    with ThreadPoolExecutor(n) as pool:
        results = list(pool.map(claim, range(n)))
    winners = [i for i, status, _ in results if status == 302]
    refused = [(i, html) for i, status, html in results if status == 409]
    assert len(winners) == 1 and len(refused) == n - 1, sorted({s for _, s, _ in results})
    assert all("认领，您不能再认领了" in html for _, html in refused)
    state, claimer, _ = _state(app_pg, request_id)
    assert (state, claimer) == ("claimed", ids["volunteers"][winners[0]])
    with app_pg.app.app_context():
        from models import Notification

        assert Notification.query.filter_by(kind="help_claimed").count() == 1

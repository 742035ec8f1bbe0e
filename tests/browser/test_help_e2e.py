"""一喊就来 in headless Chromium with the stand-in JS-SDK: hold the yellow button, speak, release."""

from __future__ import annotations

from models import db
from models import help_request as hr
from tests.browser.conftest import screenshot
from tests.support.help import build_help


def _hold(page, selector: str, ms: int) -> None:
    box = page.locator(selector).bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.wait_for_timeout(ms)  # the person holding the button: the gesture itself, not a wait for the app
    page.mouse.up()


def _requests(handle):
    with handle.app.app_context():
        return [(r.id, r.state, [(n.source, n.state) for n in r.voice_notes]) for r in hr.HelpRequest.query.all()]


def test_hold_the_button_speak_release_and_see_who_is_coming(phone):
    app = phone.app
    with app.app.app_context():
        ids = build_help(2, seeker_openid="o_e2e_elder")
    phone.context.add_cookies([{"name": "sandbox_openid", "value": "o_e2e_elder", "url": app.base_url}])
    phone.goto(app.base_url + "/m/help?account=demo")
    phone.locator("#help-mic").wait_for()
    phone.wait_for_function("window.__wxStandin.calls.some(c => c.name === 'config')")
    phone.wait_for_function("window.wx && window.__wxStandin.calls.some(c => c.name === 'onVoiceRecordEnd')")
    screenshot(phone, "help-button")

    # a press shorter than a second is discarded, with a hint to say it again
    _hold(phone, "#help-mic", 250)
    phone.locator("#help-status", has_text="说话时间太短，请按住按钮再说一遍").wait_for()
    assert not phone.evaluate("window.__wxStandin.calls.some(c => c.name === 'uploadVoice')")
    assert _requests(app) == []

    phone.evaluate("window.__wxStandin.recordMs = 4000")
    _hold(phone, "#help-mic", 1300)
    phone.locator("#help-status", has_text="已通知志愿者").wait_for()
    names = phone.evaluate("window.__wxStandin.calls.map(c => c.name)")
    assert names.count("startRecord") == 2 and names.count("stopRecord") == 2 and names.count("uploadVoice") == 1
    screenshot(phone, "help-sent")
    assert app.drain_jobs()
    [(request_id, state, notes)] = _requests(app)
    assert (state, notes) == ("open", [("jssdk", "ready")])
    with app.app.app_context():
        note = hr.VoiceNote.query.one()
        assert 3.5 <= note.duration <= 4.5, "the 4 s recording arrived whole as MP3"

    with app.app.app_context():
        from models import Volunteer

        hr.claim(db.session.get(Volunteer, ids["volunteers"][0]), request_id, now=note.created_at)
        db.session.commit()
    phone.locator("#help-status", has_text="志愿者已经接到您的求助，正在赶来").wait_for(timeout=15000)
    screenshot(phone, "help-coming")


def test_first_use_binds_with_id_number_and_phone(phone):
    app = phone.app
    with app.app.app_context():
        ids = build_help(1, seeker_openid=None)
    phone.context.add_cookies([{"name": "sandbox_openid", "value": "o_e2e_family", "url": app.base_url}])
    phone.goto(app.base_url + "/m/help?account=demo")
    phone.locator("form.help-bind-form").wait_for()
    phone.fill("input[name=id_number]", ids["id_number"])
    phone.fill("input[name=phone]", "13851300001")
    phone.click("button.help-submit")
    phone.locator("#help-mic").wait_for()
    assert "按住说话" in phone.locator("#help-mic").inner_text()

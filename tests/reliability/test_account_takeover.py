"""Account takeover, attacked as an outsider would: real HTTP against the live server, several browsers
(each its own cookie jar, signed in through the sandbox's OAuth), guesses sent in parallel.

What is counted is what an attacker gains: how many guesses were actually compared (the SMS code's
digest, the password hash), not what the database says afterwards.
"""

from __future__ import annotations

import re
import threading
from datetime import date, timedelta

import pytest
import requests

from models import Binding, RuleViolation, accounts, db, sms_code, utcnow
from models import help_seeker as hs
from tests.support.help import build_help
from tests.support.people import id_number, make_volunteer

pytestmark = pytest.mark.timeout(120)

PARALLEL = 20


class Browser:
    """A phone's WeChat browser: its own cookies, signed in as ``openid`` through OAuth."""

    def __init__(self, handle, openid: str):
        self.handle = handle
        self.http = requests.Session()
        self.http.cookies.set("sandbox_openid", openid, domain="127.0.0.1", path="/")

    def get(self, path: str) -> requests.Response:
        return self.http.get(self.handle.base_url + path)

    def csrf(self, path: str) -> str:
        page = self.get(path)
        assert page.status_code == 200, page.text
        return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)

    def post(self, path: str, data: dict) -> requests.Response:
        return self.http.post(self.handle.base_url + path, data=data, allow_redirects=False)


def _in_parallel(work, n: int = PARALLEL) -> list:
    """Run ``work(i)`` in ``n`` threads released together; their results in order."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i: int) -> None:
        prepared = work(i)
        barrier.wait(30)
        results[i] = prepared()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def _counting(monkeypatch, module, name: str) -> list:
    calls: list = []
    real = getattr(module, name)

    def counted(*args):
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(module, name, counted)
    return calls


def _elder(handle, **fields):
    with handle.app.app_context():
        volunteer = make_volunteer(name="陆桂芳", password="lugf19470", birth_date=date(1947, 9, 2), gender="F",
                                   **fields)
        return volunteer.id, volunteer.id_number, volunteer.phone


# -- the SMS code ----------------------------------------------------------------------------------

def test_parallel_guesses_of_a_reset_code_are_compared_at_most_five_times(any_app, monkeypatch):
    """Twenty browsers guess the code texted to the victim at the same instant: five guesses are compared."""
    _, number, mobile = _elder(any_app)
    with any_app.app.app_context():
        code = sms_code.issue(mobile, "reset", "10.1.1.1", utcnow(), store=any_app.app.extensions["wx_store"],
                              daily_cap=5)
        db.session.commit()
    guesses = [f"{(int(code) + 1 + i) % 10**6:06d}" for i in range(PARALLEL)]
    compared = _counting(monkeypatch, sms_code, "_digest")

    def attacker(i: int):
        browser = Browser(any_app, f"o_guesser_{i}")
        token = browser.csrf("/m/password/forgot?account=demo")
        form = {"csrf_token": token, "step": "reset", "id_number": number, "name": "陆桂芳",
                "sms_code": guesses[i], "password": "takeover1", "password_repeat": "takeover1"}
        return lambda: browser.post("/m/password/forgot?account=demo", form).status_code

    statuses = _in_parallel(attacker)
    assert all(status in (400, 429) for status in statuses), statuses
    assert len(compared) <= sms_code.MAX_TRIES, f"{len(compared)} guesses compared"
    with any_app.app.app_context():
        assert sms_code.SmsCode.query.one().tries == len(compared)


# -- binding ---------------------------------------------------------------------------------------

def test_parallel_wrong_passwords_on_one_id_number_are_checked_at_most_five_times(any_app, monkeypatch):
    _, number, _ = _elder(any_app)
    hashed = _counting(monkeypatch, accounts, "check_password_hash")

    def attacker(i: int):
        browser = Browser(any_app, f"o_binder_{i}")
        token = browser.csrf("/m/bind?account=demo")
        form = {"csrf_token": token, "id_number": number, "password": f"guess{i:04d}x"}
        return lambda: browser.post("/m/bind?account=demo", form).status_code

    statuses = _in_parallel(attacker)
    assert set(statuses) <= {401, 429} and statuses.count(429) >= PARALLEL - 5
    assert len(hashed) <= 5, f"{len(hashed)} passwords checked"


def _bind(browser: Browser, number: str, password: str) -> requests.Response:
    token = browser.csrf("/m/bind?account=demo")
    return browser.post("/m/bind?account=demo", {"csrf_token": token, "id_number": number, "password": password})


def test_strangers_locking_an_id_number_do_not_lock_out_its_owner(any_app):
    """Six WeChats fail on the elder's ID number; her own phone (bound before) still binds, a stranger does not."""
    volunteer_id, number, _ = _elder(any_app)
    own = Browser(any_app, "o_lu_phone")
    assert _bind(own, number, "lugf19470").status_code == 302
    unbind_token = own.csrf("/m/bind?account=demo")
    assert own.post("/m/unbind?account=demo", {"csrf_token": unbind_token}).status_code == 302
    for i in range(6):
        assert _bind(Browser(any_app, f"o_locker_{i}"), number, "wrongpass1").status_code in (401, 429)
    refused = _bind(Browser(any_app, "o_locker_9"), number, "lugf19470")
    assert refused.status_code == 429 and "忘记密码" in refused.text
    assert _bind(own, number, "lugf19470").status_code == 302
    with any_app.app.app_context():
        assert Binding.volunteer_for("demo", "o_lu_phone").id == volunteer_id


def test_a_new_phone_binds_right_after_an_sms_reset_although_the_id_number_is_locked(any_app):
    volunteer_id, number, mobile = _elder(any_app)
    for i in range(5):
        _bind(Browser(any_app, f"o_locker_{i}"), number, "wrongpass1")
    new_phone = Browser(any_app, "o_lu_new_phone")
    assert _bind(new_phone, number, "lugf19470").status_code == 429
    token = new_phone.csrf("/m/password/forgot?account=demo")
    sent = new_phone.post("/m/password/forgot?account=demo",
                          {"csrf_token": token, "step": "identify", "id_number": number, "name": "陆桂芳"})
    assert sent.status_code == 200
    code = re.search(r"验证码是(\d{6})", any_app.app.extensions["wx_sms"].last_to(mobile)).group(1)
    reset = new_phone.post("/m/password/forgot?account=demo", {
        "csrf_token": token, "step": "reset", "id_number": number, "name": "陆桂芳", "sms_code": code,
        "password": "newlugf2026", "password_repeat": "newlugf2026"})
    assert reset.status_code == 302
    assert _bind(Browser(any_app, "o_locker_9"), number, "newlugf2026").status_code == 429
    assert _bind(new_phone, number, "newlugf2026").status_code == 302
    with any_app.app.app_context():
        assert Binding.volunteer_for("demo", "o_lu_new_phone").id == volunteer_id


# -- password reset, step 1 ------------------------------------------------------------------------

def test_reset_step_one_answers_the_same_whether_or_not_the_person_exists(any_app):
    _, number, mobile = _elder(any_app)
    unknown = id_number("19441120", male=False)
    pages = []
    for i, (typed_number, typed_name) in enumerate(((number, "陆桂芳"), (number, "陆桂英"), (unknown, "陆桂芳"))):
        browser = Browser(any_app, f"o_prober_{i}")
        token = browser.csrf("/m/password/forgot?account=demo")
        res = browser.post("/m/password/forgot?account=demo",
                           {"csrf_token": token, "step": "identify", "id_number": typed_number, "name": typed_name})
        # The page carries a fresh CSRF token, signed with the second it was made: not the posted one if a
        # second passed in between.
        body = re.sub(r"""(name="csrf_token" value="|'X-CSRFToken': ')[^"']*""", r"\1TOKEN", res.text)
        body = body.replace(typed_number, "NUMBER").replace(typed_name, "NAME")
        pages.append((res.status_code, body))
    assert pages[0] == pages[1] == pages[2]
    assert mobile[-4:] not in pages[0][1], "no masked phone"
    sent = [to for to, _ in any_app.app.extensions["wx_sms"].sent]
    assert sent.count(mobile) == 1, "only the matching request texts the registered phone"


def _ask_for_a_code(browser: Browser, number: str, name: str = "陆桂芳") -> int:
    token = browser.csrf("/m/password/forgot?account=demo")
    return browser.post("/m/password/forgot?account=demo",
                        {"csrf_token": token, "step": "identify", "id_number": number, "name": name}).status_code


def test_reset_texts_one_phone_at_most_the_daily_cap(any_app, monkeypatch):
    """Step 1 posted hour after hour (inside the per-minute and per-hour limits): ``daily_limit`` texts a day."""
    _, number, mobile = _elder(any_app)
    cap = any_app.app.config["WX_SETTINGS"].sms.daily_limit
    browser = Browser(any_app, "o_bomber")
    start = utcnow()
    for hour in range(cap + 3):
        monkeypatch.setitem(any_app.app.config, "CLOCK_NOW", start + timedelta(hours=hour))
        assert _ask_for_a_code(browser, number) == 200
    sent = [to for to, _ in any_app.app.extensions["wx_sms"].sent]
    assert sent.count(mobile) == cap


def test_parallel_reset_requests_text_the_phone_once(any_app, monkeypatch):
    """Twenty browsers ask at the same instant: the once-a-minute limit holds (decided atomically)."""
    _, number, mobile = _elder(any_app)
    monkeypatch.setitem(any_app.app.config, "CLOCK_NOW", utcnow())

    def asker(i: int):
        browser = Browser(any_app, f"o_asker_{i}")
        browser.csrf("/m/password/forgot?account=demo")
        return lambda: _ask_for_a_code(browser, number)

    assert _in_parallel(asker) == [200] * PARALLEL
    sent = [to for to, _ in any_app.app.extensions["wx_sms"].sent]
    assert sent.count(mobile) == 1


# -- help-seekers ----------------------------------------------------------------------------------

def test_strangers_cannot_lock_out_a_seekers_own_phone_but_are_locked_themselves(any_app):
    with any_app.app.app_context():
        store = any_app.app.extensions["wx_store"]
        ids = build_help(1, seeker_openid=None)
        now = utcnow()
        hs.bind_seeker("demo", "o_wang_daughter", ids["id_number"], "13851300001", now=now, store=store)
        db.session.commit()
        hs.SeekerBinding.query.filter_by(openid="o_wang_daughter").delete()  # e.g. the phone bound another elder
        db.session.commit()
        for i in range(5):   # one wrong try each, from five WeChats: the ID number locks, not just a WeChat
            with pytest.raises(RuleViolation):
                hs.bind_seeker("demo", f"o_stranger_{i}", ids["id_number"], "13900000000", now=now, store=store)
        with pytest.raises(RuleViolation) as err:
            hs.bind_seeker("demo", "o_stranger_9", ids["id_number"], "13851300001", now=now, store=store)
        assert err.value.code == "bind_locked"
        assert hs.bind_seeker("demo", "o_wang_daughter", ids["id_number"], "13851300001", now=now,
                              store=store).id == ids["seeker"]

"""snsapi_base OAuth through the sandbox, over real HTTP (cookies and redirects as a browser has them)."""

from datetime import date
from urllib.parse import parse_qs, urlsplit

import requests


def browser(app_handle, openid):
    session = requests.Session()
    session.cookies.set("sandbox_openid", openid, domain="127.0.0.1", path="/")
    return session


def test_unknown_browser_goes_through_oauth_and_lands_on_the_clean_url(any_app):
    session = browser(any_app, "o_oauth_1")
    first = session.get(any_app.base_url + "/m/bind?account=county", allow_redirects=False)
    assert first.status_code == 302
    authorize = urlsplit(first.headers["Location"])
    assert authorize.path == "/sandbox/connect/oauth2/authorize"
    query = parse_qs(authorize.query)
    assert query["appid"] == ["wxcounty00000001"] and query["scope"] == ["snsapi_base"]
    assert query["response_type"] == ["code"] and query["state"][0]
    assert first.headers["Location"].endswith("#wechat_redirect")
    final = session.get(first.headers["Location"])
    assert final.status_code == 200
    assert final.url.split("#")[0] == any_app.base_url + "/m/bind?account=county"
    assert "code=" not in final.url and "账号绑定" in final.text
    # Signed in now: no second trip to WeChat.
    again = session.get(any_app.base_url + "/m/bind?account=county", allow_redirects=False)
    assert again.status_code == 200


def test_the_redirect_loaded_twice_still_lands_and_trades_the_code_once(any_app):
    session = browser(any_app, "o_oauth_2")
    first = session.get(any_app.base_url + "/m/?account=demo", allow_redirects=False)
    back = session.get(first.headers["Location"], allow_redirects=False)
    return_url = back.headers["Location"]
    assert "/m/oauth/return?" in return_url and "code=" in return_url
    one = session.get(return_url, allow_redirects=False)
    two = session.get(return_url, allow_redirects=False)
    assert one.status_code == two.status_code == 302
    assert one.headers["Location"] == two.headers["Location"] == "/m/?account=demo"
    trades = any_app.sandbox.calls_to("sns/oauth2/access_token")
    assert len(trades) == 1


def test_a_state_not_from_this_browser_is_refused(any_app):
    session = browser(any_app, "o_oauth_3")
    res = session.get(any_app.base_url + "/m/oauth/return?code=abc&state=forged", allow_redirects=False)
    assert res.status_code == 400


def test_each_account_signs_in_separately(any_app):
    session = browser(any_app, "o_oauth_4")
    assert session.get(any_app.base_url + "/m/?account=demo").status_code == 200
    res = session.get(any_app.base_url + "/m/?account=county", allow_redirects=False)
    assert res.status_code == 302 and "wxcounty00000001" in res.headers["Location"]


def test_proxy_fix_builds_https_urls(sqlite_app):
    import copy

    from wx_service import create_app

    config = copy.deepcopy(sqlite_app.config)
    config["app"]["proxy_hops"] = 1
    app = create_app(config)

    @app.get("/_scheme")
    def scheme():
        from flask import request, url_for

        return url_for("pages.home", _external=True) + " " + request.scheme

    res = app.test_client().get("/_scheme", headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "wx.example.org"})
    assert res.get_data(as_text=True) == "https://wx.example.org/m/ https"


# -- a victim's code in someone else's hands -------------------------------------------------------

def _return_url(app_handle, session, path="/m/bind?account=demo"):
    """Walk a browser to WeChat and back up to the redirect carrying ``code`` and ``state``, unloaded."""
    first = session.get(app_handle.base_url + path, allow_redirects=False)
    back = session.get(first.headers["Location"], allow_redirects=False)
    return back.headers["Location"]


def _fresh_state(app_handle, session, path="/m/bind?account=demo"):
    first = session.get(app_handle.base_url + path, allow_redirects=False)
    return parse_qs(urlsplit(first.headers["Location"]).query)["state"][0]


def _params(url):
    query = parse_qs(urlsplit(url).query)
    return query["code"][0], query["state"][0]


def _bound_victim(app_handle, openid):
    from models import db
    from tests.support.people import bind, make_volunteer

    with app_handle.app.app_context():
        volunteer = make_volunteer(name="顾秀英", password="guxiuying1", birth_date=date(1946, 3, 8))
        bind(volunteer, openid)
        db.session.commit()
        return volunteer.number


def test_a_victims_code_replayed_with_a_fresh_state_in_another_browser_is_refused(any_app):
    """The attack: the victim's redirect URL leaks; the attacker takes a state of their own and replays the code."""
    number = _bound_victim(any_app, "o_victim_1")
    victim = browser(any_app, "o_victim_1")
    leaked = _return_url(any_app, victim)
    landed = victim.get(leaked)
    assert landed.status_code == 200 and number in landed.text
    code, victim_state = _params(leaked)

    attacker = requests.Session()  # another phone: no cookie of the victim's
    for state in (_fresh_state(any_app, attacker), victim_state):
        res = attacker.get(any_app.base_url + "/m/oauth/return", params={"code": code, "state": state},
                           allow_redirects=False)
        assert res.status_code == 400
    page = attacker.get(any_app.base_url + "/m/bind?account=demo", allow_redirects=False)
    assert page.status_code == 302 and "/connect/oauth2/authorize" in page.headers["Location"]
    assert len(any_app.sandbox.calls_to("sns/oauth2/access_token")) == 1


def test_a_spent_state_accepts_no_other_code(any_app):
    """A code of the attacker's own, planted in the victim's browser under its spent state, signs nothing in."""
    _bound_victim(any_app, "o_victim_2")
    victim = browser(any_app, "o_victim_2")
    leaked = _return_url(any_app, victim)
    assert victim.get(leaked, allow_redirects=False).status_code == 302
    _, state = _params(leaked)
    attacker = browser(any_app, "o_attacker_2")
    attacker_code, _ = _params(_return_url(any_app, attacker))
    res = victim.get(any_app.base_url + "/m/oauth/return", params={"code": attacker_code, "state": state},
                     allow_redirects=False)
    assert res.status_code == 400
    assert "顾秀英" in victim.get(any_app.base_url + "/m/bind?account=demo").text, "still the victim's own session"


def test_wechats_double_load_lands_even_with_the_cookie_from_before_the_first(any_app):
    """WeChat may load the redirect twice at once: the second load still carries the cookie of before."""
    _bound_victim(any_app, "o_victim_3")
    victim = browser(any_app, "o_victim_3")
    leaked = _return_url(any_app, victim)
    before = requests.Session()
    before.cookies.update(victim.cookies)
    one = victim.get(leaked, allow_redirects=False)
    two = before.get(leaked, allow_redirects=False)
    assert one.status_code == two.status_code == 302
    assert one.headers["Location"] == two.headers["Location"] == "/m/bind?account=demo"
    for session in (victim, before):
        assert "顾秀英" in session.get(any_app.base_url + "/m/bind?account=demo").text
    assert len(any_app.sandbox.calls_to("sns/oauth2/access_token")) == 1

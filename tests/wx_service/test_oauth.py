"""snsapi_base OAuth through the sandbox, over real HTTP (cookies and redirects as a browser has them)."""

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

"""Across every page: state-changing forms need a CSRF token; JSON endpoints take only JSON.

The routes are read from the application's URL map, so a page added later is covered without
touching this file.
"""

import re

import pytest

from tests.support.people import csrf_token, make_volunteer, sign_in

EXEMPT = ("/sandbox/",)  # the WeChat callback is not in the URL map: wechat.callback_front answers it


def post_routes(app):
    for rule in app.url_map.iter_rules():
        if "POST" in rule.methods and not rule.rule.startswith(EXEMPT):
            path = re.sub(r"<(?:int:)?[^>]+>", "1", rule.rule)
            yield rule.rule, path + ("&" if "?" in path else "?") + "account=demo"


def signed_in_volunteer(handle, openid):
    from models import Binding, db, utcnow

    with handle.app.app_context():
        v = make_volunteer()
        db.session.add(Binding(account="demo", openid=openid, volunteer_id=v.id, bound_at=utcnow()))
        db.session.commit()
    return sign_in(handle.client(), openid)


def test_every_state_changing_form_refuses_a_missing_or_wrong_csrf_token(app_lite):
    app = app_lite.app
    app.config["WTF_CSRF_ENABLED"] = True
    client = signed_in_volunteer(app_lite, "o_csrf_all")
    routes = list(post_routes(app))
    assert len(routes) > 20, "the URL map should list the site's forms"
    for rule, path in routes:
        for data in ({}, {"csrf_token": "forged"}):
            res = client.post(path, data=data)
            assert res.status_code == 400, f"{rule} accepted a POST {'without' if not data else 'with a forged'} token"


def test_json_endpoints_refuse_other_content_types(app_lite):
    client = signed_in_volunteer(app_lite, "o_json_all")
    token = csrf_token(client, "/m/register?account=demo")
    api = [(rule, path) for rule, path in post_routes(app_lite.app) if rule.startswith("/m/api/")]
    assert api, "there are JSON endpoints"
    for rule, path in api:
        res = client.post(path, data="phone=1", content_type="application/x-www-form-urlencoded",
                          headers={"X-CSRFToken": token})
        assert res.status_code == 415, rule
        assert res.get_json()["code"] == "content_type" and "JSON" in res.get_json()["message"]


@pytest.mark.parametrize("path", ["/m/api/sms-code", "/m/api/help/voice"])
def test_json_errors_are_code_and_message(app_lite, path):
    client = signed_in_volunteer(app_lite, "o_json_err")
    token = csrf_token(client, "/m/register?account=demo")
    res = client.post(path + "?account=demo", json={"phone": "bad", "server_id": ""}, headers={"X-CSRFToken": token})
    assert 400 <= res.status_code < 500
    body = res.get_json()
    assert set(body) >= {"code", "message"}

"""Bad input is the client's fault: a 4xx with a Chinese message, never a 5xx, and nothing written.

Each test is one attack that used to give a 503 "服务暂时不可用" with an ERROR log on PostgreSQL (a false
outage alert) or a 500 on SQLite; the crawl in ``test_crawl.py`` tries the same classes on every route.
"""

from __future__ import annotations

import logging
import re

import pytest

from models import HelpRequest, db
from tests.support.help import build_help
from tests.support.people import bind as bind_volunteer
from tests.support.people import make_volunteer, sign_in


@pytest.fixture
def volunteer_client(any_app):
    with any_app.app.app_context():
        bind_volunteer(make_volunteer("陈桂兰"), "o-edge")
    return any_app, sign_in(any_app.client(), "o-edge")


def csrf_header(client, page: str) -> dict:
    """The pages' own way to send the token with a JSON call (so the refusal tested is not CSRF's)."""
    html = client.get(page).get_data(as_text=True)
    match = re.search(r'name="csrf[-_]token" (?:content|value)="([^"]+)"', html)
    assert match, f"no CSRF token on {page}"
    return {"X-CSRFToken": match.group(1)}


def no_errors_logged(caplog):
    return [r for r in caplog.records if r.levelno >= logging.ERROR and r.name.startswith("wx_service")] == []


@pytest.mark.parametrize("path", ["/m/projects/2147483648", "/m/projects/9223372036854775808",
                                  "/m/me/makeups/99999999999999999999999", "/m/wishes/2147483648",
                                  "/m/checkin/１２"])
def test_an_id_no_row_can_have_is_a_404(volunteer_client, caplog, path):
    _, client = volunteer_client
    assert client.get(path).status_code == 404
    assert no_errors_logged(caplog)


@pytest.mark.parametrize("page", ["2147483648", "9223372036854775808", "9" * 30, "-5", "²"])
def test_a_page_number_beyond_any_list_is_clamped(volunteer_client, caplog, page):
    _, client = volunteer_client
    for path in ("/m/projects", "/m/orgs", "/m/wishes"):
        assert client.get(path, query_string={"page": page}).status_code == 200, path
    assert no_errors_logged(caplog)


@pytest.mark.parametrize("query", [{"keyword": "崇川\x00"}, {"q": "\x00"}, {"org": "1\x00"}])
def test_a_nul_byte_in_a_search_is_a_400(volunteer_client, caplog, query):
    _, client = volunteer_client
    res = client.get("/m/projects", query_string=query)
    assert res.status_code == 400 and "无效字符" in res.get_data(as_text=True)
    assert no_errors_logged(caplog)


def test_an_id_typed_as_a_huge_number_in_a_filter_is_ignored(volunteer_client, caplog):
    _, client = volunteer_client
    assert client.get("/m/projects", query_string={"org": "9" * 25}).status_code == 200
    assert client.get("/m/orgs", query_string={"level": "²"}).status_code == 200
    assert no_errors_logged(caplog)


def test_a_value_the_database_refuses_is_a_400_not_an_outage(any_app, caplog):
    """The safety net behind the edge: DataError (PostgreSQL) and OverflowError (SQLite) are the client's."""
    from sqlalchemy import text

    app = any_app.app
    with app.test_request_context("/m/projects"):
        try:
            db.session.execute(text("SELECT CAST(:n AS INTEGER) + 1"), {"n": 2**70})
        except Exception as exc:  # noqa: BLE001 - whichever the engine raises
            res = app.make_response(app.handle_user_exception(exc))
        else:
            pytest.fail("the database took a number beyond its range")
    assert res.status_code == 400
    assert no_errors_logged(caplog)


# ---------------------------------------------------------------------------- JSON bodies
@pytest.fixture
def elder(any_app):
    with any_app.app.app_context():
        build_help(2, seeker_openid="o-elder-edge")
    return any_app, sign_in(any_app.client(), "o-elder-edge")


@pytest.mark.parametrize("body", [["media-id"], "media-id", 17, [], {"server_id": ["media-id"]},
                                  {"server_id": {"id": "x"}}, {"serverId": 12}, {"server_id": True},
                                  {"server_id": "abc\x00"}])
def test_a_voice_body_of_the_wrong_shape_is_a_400_and_opens_no_help_request(elder, body):
    handle, client = elder
    res = client.post("/m/api/help/voice", json=body, headers=csrf_header(client, "/m/help?account=demo"))
    assert res.status_code == 400
    assert set(res.get_json()) == {"code", "message"} and res.get_json()["code"] != "csrf"
    with handle.app.app_context():
        assert HelpRequest.query.count() == 0


@pytest.mark.parametrize("path,body", [
    ("/m/api/checkin/1/punch", [1, 2]), ("/m/api/checkin/1/punch", {"action": ["sign_in"]}),
    ("/m/api/checkin/1/punch", {"action": "sign_in", "latitude": {"a": 1}, "longitude": 120.8}),
    ("/m/api/checkin/1/punch", {"action": "sign_in", "latitude": True, "longitude": 120.8}),
    ("/m/api/admin/projects/1/locate", {"latitude": [32], "longitude": 120.8}),
    ("/m/api/admin/projects/1/scan", {"payload": {"token": "x"}}),
    ("/m/api/sms-code", {"phone": 13962800001}), ("/m/api/sms-code", "13962800001"),
])
def test_every_json_endpoint_refuses_the_wrong_shape_with_a_400(volunteer_client, caplog, path, body):
    _, client = volunteer_client
    res = client.post(path, json=body, headers=csrf_header(client, "/m/me/profile"))
    assert res.status_code == 400, res.get_data(as_text=True)
    assert set(res.get_json()) == {"code", "message"} and res.get_json()["code"] != "csrf"
    assert no_errors_logged(caplog)

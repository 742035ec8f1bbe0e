"""``/wechat/…`` is answered in front of Flask's request machinery (``wechat.callback_front``): what every answer
still gets there (the access line, ``X-Request-Id``, the security headers, the metrics), the refusals of paths and
methods the callback does not have, and that none of the pages' hooks run for it."""

from __future__ import annotations

import json
import logging

from prometheus_client import REGISTRY

from tests.support import wechat
from wx_service.logs import JsonFormatter
from wx_service.security_headers import SECURITY_HEADERS


def _refused(reason: str) -> float:
    return REGISTRY.get_sample_value("wx_callbacks_refused_total", {"reason": reason}) or 0.0


def test_an_answer_carries_the_request_id_the_headers_and_its_access_line(any_app, caplog):
    with caplog.at_level(logging.INFO, logger="wx_service.access"):
        client = any_app.client()
        client.environ_base["HTTP_X_REQUEST_ID"] = "nginx-4711"
        answer = wechat.post(client, any_app.config, "demo", wechat.text_xml("o_front_log", "你好"))
    assert answer.status_code == 200 and "<xml>" in answer.get_data(as_text=True)
    assert answer.headers["X-Request-Id"] == "nginx-4711"
    assert answer.headers["Content-Type"] == "application/xml; charset=utf-8"
    for name, value in SECURITY_HEADERS:
        assert answer.headers[name] == value
    [line] = [json.loads(JsonFormatter().format(r)) for r in caplog.records if r.name == "wx_service.access"]
    assert {k: line[k] for k in ("request_id", "account", "handler", "status", "method", "path")} == {
        "request_id": "nginx-4711", "account": "demo", "handler": "on_text", "status": 200, "method": "POST",
        "path": "/wechat/demo"}


def test_paths_and_methods_the_callback_has_not_are_refused_in_plain_chinese(app_lite):
    client = app_lite.client()
    method = _refused("method")
    put = client.put("/wechat/demo", data=b"<xml/>")
    assert put.status_code == 405 and put.headers["Allow"] == "GET, POST"
    assert put.get_data(as_text=True) == "不支持的请求方式。" and put.mimetype == "text/plain"
    assert _refused("method") == method + 1, "a 405 is counted with the other refusals"
    for path in ("/wechat/", "/wechat/demo/extra", "/wechat/nosuchaccount"):
        missing = client.post(path + "?signature=x&timestamp=1&nonce=1", data=b"<xml/>")
        assert missing.status_code == 404, path
        assert missing.get_data(as_text=True) == "页面不存在。" and missing.mimetype == "text/plain"
        assert "X-Request-Id" in missing.headers and "Set-Cookie" not in missing.headers


def test_the_pages_hooks_do_not_run_for_the_callback(app_lite, monkeypatch):
    app = app_lite.app
    ran = []
    monkeypatch.setitem(app.before_request_funcs, None, [*app.before_request_funcs.get(None, []),
                                                         lambda: ran.append("before")])
    client = app_lite.client()
    assert wechat.post(client, app_lite.config, "demo", wechat.text_xml("o_front_hooks", "你好")).status_code == 200
    assert ran == []
    assert client.get("/healthz").status_code == 200 and ran == ["before"], "the pages still run them"


def test_an_error_outside_the_handler_is_logged_and_answered_without_a_traceback(app_lite, monkeypatch, caplog):
    from wx_service.wechat import callback

    def broken(body):
        raise RuntimeError("a bug in the parse")

    monkeypatch.setattr(callback, "_safe_xml", broken)
    with caplog.at_level(logging.ERROR, logger="wx_service.callback"):
        answer = wechat.post(app_lite.client(), app_lite.config, "demo", wechat.text_xml("o_front_bug", "你好"))
    assert answer.status_code == 500 and answer.get_data(as_text=True) == "系统出现错误，请稍后再试。"
    assert any(r.exc_info and "a bug in the parse" in str(r.exc_info[1]) for r in caplog.records)


def test_a_database_error_outside_the_handler_is_a_503(app_lite, monkeypatch, caplog):
    """The pages' rule (``errors``): a database outage is a clear 503, logged, never a 500."""
    from sqlalchemy.exc import OperationalError

    from wx_service.wechat import callback

    def down(body):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    unavailable = _refused("unavailable")
    monkeypatch.setattr(callback, "_safe_xml", down)
    with caplog.at_level(logging.ERROR, logger="wx_service.callback"):
        answer = wechat.post(app_lite.client(), app_lite.config, "demo", wechat.text_xml("o_front_down", "你好"))
    assert answer.status_code == 503 and answer.get_data(as_text=True) == "服务暂时不可用，请稍后再试。"
    assert _refused("unavailable") == unavailable + 1
    assert any("database unavailable" in r.getMessage() for r in caplog.records)

import json
import logging
import re

from wx_service import create_app
from wx_service.logs import JsonFormatter, redact


def test_healthz_ok(any_app):
    res = any_app.client().get("/healthz")
    assert res.status_code == 200
    assert res.get_json()["database"] == "ok"


def test_healthz_503_when_redis_is_down(sqlite_app, tmp_path):
    import copy

    config = copy.deepcopy(sqlite_app.config)
    config["redis"]["url"] = "redis://127.0.0.1:1/0"  # nothing listens there
    app = create_app(config)
    res = app.test_client().get("/healthz")
    assert res.status_code == 503
    assert res.get_json()["redis"].startswith("down")


def test_redaction_of_secrets_and_personal_data():
    line = redact("GET /cgi-bin/x?access_token=ABC.def&secret=s3 id 32068219900101123X phone 13962805656")
    assert "ABC.def" not in line and "s3" not in line
    assert "32068219900101123X" not in line and "13962805656" not in line
    assert "320682********123X" in line and "139****5656" in line


def test_log_lines_are_json_with_request_fields(any_app, caplog):
    formatter = JsonFormatter()
    with caplog.at_level(logging.INFO, logger="wx_service.access"):
        any_app.client().get("/healthz", headers={"X-Request-Id": "req-123"})
    record = next(r for r in caplog.records if r.name == "wx_service.access")
    payload = json.loads(formatter.format(record))
    assert payload["request_id"] == "req-123" and payload["status"] == 200 and "duration_ms" in payload


def test_a_request_id_that_is_no_proxys_id_is_replaced(any_app, caplog):
    """A client's own X-Request-Id of any length or content is not copied into the log and the answer."""
    client = any_app.client()
    uuid = "7f1c9a52-3b6e-4d0a-9c2e-5a8b1f0d4e67"
    assert client.get("/healthz", headers={"X-Request-Id": uuid}).headers["X-Request-Id"] == uuid
    for sent in ("x" * 65, "x" * 8000, "<script>alert(1)</script>", "a b", "请求一"):
        with caplog.at_level(logging.INFO, logger="wx_service.access"):
            caplog.clear()
            answer = client.get("/healthz", headers={"X-Request-Id": sent})
        given = answer.headers["X-Request-Id"]
        assert given != sent and re.fullmatch(r"[0-9a-f]{16}", given)
        assert [r.request_id for r in caplog.records if r.name == "wx_service.access"] == [given]

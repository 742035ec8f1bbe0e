import json
import logging

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

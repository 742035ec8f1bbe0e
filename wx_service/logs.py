"""Structured logs: one JSON line per request or job, with secrets and personal data masked.

The redaction runs on every record, whatever logger wrote it, so a library that logs a URL with
``access_token=`` or a message that quotes an ID number cannot leak them.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time

from flask import g, request

REDACTIONS = [
    (re.compile(r"(access_token|secret|ticket|encoding_aes_key|password|code)=([^&\s\"']+)", re.I), r"\1=***"),
    (re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[0-9Xx])(?![0-9A-Za-z])"), r"\1********\2"),
    (re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)"), r"\1****\2"),
]


def redact(text: str) -> str:
    for pattern, replacement in REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


class JsonFormatter(logging.Formatter):
    FIELDS = ("request_id", "account", "handler", "duration_ms", "status", "method", "path", "job")

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)),
            "level": record.levelname,
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        for name in self.FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                payload[name] = value
        if record.exc_info:
            payload["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(payload, ensure_ascii=False)


_configured = False


def configure_logging(level: str) -> None:
    global _configured
    root = logging.getLogger()
    root.setLevel(level.upper())
    if _configured:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root.handlers = [handler]
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    _configured = True


access_log = logging.getLogger("wx_service.access")


def install_request_logging(app) -> None:
    """The pages' hooks; the WeChat callback, served in front of Flask (``wechat.callback_front``), calls
    ``start_request`` and ``finish_request`` itself."""

    @app.before_request
    def _start():
        start_request(request.environ)

    @app.after_request
    def _finish(response):
        return finish_request(response, request.method, request.path)


# An ``X-Request-Id`` taken as it came: what proxies send (a UUID, nginx's 32 hex digits, a trace id).
# Anything else — a client's own header through a proxy that passes it on, 8 KB of text, markup — is
# not written into every log line and answer; such a request gets an id of ours.
_PROXY_ID = re.compile(r"[0-9A-Za-z._:-]{1,64}")


def start_request(environ) -> None:
    # the proxy's, if any; else 64 random bits (an id to find log lines by, not a secret: no syscall)
    given = environ.get("HTTP_X_REQUEST_ID")
    g.request_id = given if given and _PROXY_ID.fullmatch(given) else f"{random.getrandbits(64):016x}"
    g.started = time.perf_counter()


def finish_request(response, method: str, path: str):
    """The access line (when it will be written) and the ``X-Request-Id`` header of an answer."""
    if path.startswith(("/static/", "/sandbox/static/")):
        return response
    if access_log.isEnabledFor(logging.INFO):
        access_log.info("%s %s", method, path, extra={
            "request_id": g.get("request_id"),
            "account": g.get("log_account"),
            "handler": g.get("log_handler"),
            "duration_ms": round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 2),
            "status": response.status_code,
            "method": method,
            "path": path,
        })
    response.headers["X-Request-Id"] = g.get("request_id", "")
    return response

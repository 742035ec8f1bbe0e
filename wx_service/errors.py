"""Error answers: JSON for JSON callers (``{"code", "message"}``), a Chinese page for people.

A ``RuleViolation`` that escapes a view becomes its 4xx with its message; a database outage becomes
a clear 503; nothing becomes a bare 500 page.
"""

from __future__ import annotations

import logging

from flask import jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from models import RuleViolation, db

log = logging.getLogger(__name__)

JSON_API = "/m/api/"

MESSAGES = {
    400: "请求格式不正确。",
    403: "没有权限进行此操作。",
    404: "页面不存在。",
    405: "不支持的请求方式。",
    413: "提交的内容过大。",
    415: "请求的内容类型不正确。",
    429: "操作过于频繁，请稍后再试。",
    503: "服务暂时不可用，请稍后再试。",
}


def wants_json() -> bool:
    return request.path.startswith((JSON_API, "/m/jssdk-config", "/sandbox/cgi-bin", "/healthz")) or (
        request.accept_mimetypes.best == "application/json"
    )


def respond(code: str, message: str, status: int):
    if request.path.startswith("/wechat/"):
        return message, status, {"Content-Type": "text/plain; charset=utf-8"}
    if wants_json():
        return jsonify(code=code, message=message), status
    return render_template("error.html", message=message, status=status), status


def register(app) -> None:
    @app.before_request
    def _json_api_wants_json():
        """Every state-changing call under ``/m/api/`` takes JSON, and says so when it gets anything else."""
        if request.path.startswith(JSON_API) and request.method in ("POST", "PUT", "PATCH", "DELETE") \
                and not request.is_json:
            return respond("content_type", "请求格式不正确，应为JSON。", 415)

    @app.errorhandler(RuleViolation)
    def _rule(exc: RuleViolation):
        db.session.rollback()
        return respond(exc.code, exc.message, exc.status)

    @app.errorhandler(CSRFError)
    def _csrf(exc):
        return respond("csrf", "页面已过期或来源不明，请刷新页面后重新提交。", 400)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        return respond(exc.name.lower().replace(" ", "_"), MESSAGES.get(exc.code, exc.description), exc.code)

    @app.errorhandler(DBAPIError)
    def _db(exc):
        db.session.rollback()
        log.error("database unavailable: %s", exc.__class__.__name__)
        return respond("unavailable", MESSAGES[503], 503)

    @app.errorhandler(Exception)
    def _any(exc):
        db.session.rollback()
        log.exception("unhandled error")
        return respond("internal", "系统出现错误，请稍后再试。", 500)

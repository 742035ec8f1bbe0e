"""Error answers: JSON for JSON callers (``{"code", "message"}``), a Chinese page for people.

A ``RuleViolation`` that escapes a view becomes its 4xx with its message; a database outage becomes
a clear 503; nothing becomes a bare 500 page.

Bad input is the client's fault, refused at the edge before it reaches the database: an id in a path
beyond the database's integer range matches no route (404, ``IdConverter``), a NUL byte in any query
or form value is a 400, and a value the database still refuses (``DataError``) is a 400 with a
warning — not a 503 with an ERROR log, which would page someone for an outage that is not one.
"""

from __future__ import annotations

import logging

from flask import jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, DBAPIError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter, ValidationError

from models import RuleViolation, db

from .wechat.oauth import account_name, current_openid

log = logging.getLogger(__name__)

JSON_API = "/m/api/"

#: The largest id a path may carry: PostgreSQL's ``integer`` (SQLite's is wider, the schema is the same).
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """``<int:…>`` bounded to the database's integer range: a larger number cannot be an id (404)."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)

    def to_python(self, value: str):
        if not value.isascii():  # ``\d`` also matches other scripts' digits; an id is written in ASCII
            raise ValidationError()
        return super().to_python(value)


def has_nul(values) -> bool:
    return any("\x00" in key or "\x00" in value for key, value in values.items(multi=True))


MESSAGES = {
    400: "请求格式不正确。",
    401: "登录已过期，请从公众号菜单重新打开页面。",
    403: "没有权限进行此操作。",
    404: "页面不存在。",
    405: "不支持的请求方式。",
    413: "提交的内容过大。",
    415: "请求的内容类型不正确。",
    429: "操作过于频繁，请稍后再试。",
    500: "系统出现错误，请稍后再试。",
    503: "服务暂时不可用，请稍后再试。",
}


def wants_json() -> bool:
    return request.path.startswith((JSON_API, "/m/jssdk-config", "/sandbox/cgi-bin", "/healthz")) or (
        request.accept_mimetypes.best == "application/json"
    )


def respond(code: str, message: str, status: int):
    if wants_json():
        return jsonify(code=code, message=message), status
    return render_template("error.html", message=message, status=status), status


def register_edge(app) -> None:
    """The checks that come before any other, CSRF included: they need nothing but the request.  (The WeChat
    callback never comes here: it is answered in front of Flask, ``wechat.callback_front``, and makes its own.)"""

    @app.before_request
    def _edge():
        path = request.path
        # A NUL byte is in no legitimate value, and PostgreSQL refuses it in text: refused here, for all.
        if has_nul(request.args) or (request.method != "GET" and has_nul(request.form)):
            return respond("bad_value", "提交的内容含有无效字符。", 400)
        # Every ``/m/api/`` call is made by a page a person opened: without one it is a JSON 401, not a
        # redirect to WeChat's OAuth that a ``fetch`` would follow into an HTML page.
        if path.startswith(JSON_API) and not current_openid(account_name()):
            return respond("unauthenticated", "登录已过期，请从公众号菜单重新打开页面。", 401)
        return None


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

    @app.errorhandler(DataError)
    def _data(exc):
        db.session.rollback()
        log.warning("value refused by the database: %s", exc.orig.__class__.__name__ if exc.orig else exc)
        return respond("bad_value", "提交的内容超出范围或格式不正确。", 400)

    @app.errorhandler(OverflowError)
    def _overflow(exc):
        """SQLite's DataError: a number too large for its INTEGER (PostgreSQL raises DataError for the same)."""
        db.session.rollback()
        log.warning("value out of range: %s", exc)
        return respond("bad_value", "提交的内容超出范围或格式不正确。", 400)

    @app.errorhandler(DBAPIError)
    def _db(exc):
        db.session.rollback()
        log.error("database unavailable: %s", exc.__class__.__name__)
        return respond("unavailable", MESSAGES[503], 503)

    @app.errorhandler(Exception)
    def _any(exc):
        db.session.rollback()
        log.exception("unhandled error")
        return respond("internal", MESSAGES[500], 500)

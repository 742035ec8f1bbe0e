"""``/wechat/<account>``, answered in front of Flask's request machinery.

After a broadcast, thousands of followers tap the menu within minutes, and each tap is a callback.  Flask's
request machinery — the request context and its proxies, URL matching over every page, the pages' hooks,
the session, CSRF — cost a tenth to a seventh of a callback's CPU, and the callback uses none of it
(bench/README.md).  So the WSGI app takes every path under ``/wechat/`` itself: an app context (the
database session, ``g``, the config), a werkzeug request, the view of ``wechat.callback``, and what every
answer gets from the same functions the pages' hooks call — the access line and ``X-Request-Id``
(``logs``), the callback's metrics, the security headers.  Every other path goes to Flask unchanged.

An error answer is the status with its Chinese reason as plain text (``errors.MESSAGES``), as the pages say it.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import (
    HTTPException,
    InternalServerError,
    MethodNotAllowed,
    NotFound,
    ServiceUnavailable,
)
from werkzeug.wrappers import Request, Response

from .. import logs, security_headers
from ..errors import MESSAGES
from ..ops import metrics
from . import callback

PREFIX = "/wechat/"
VIEWS = {"GET": callback.echo, "POST": callback.receive}

log = logging.getLogger("wx_service.callback")


class CallbackFront:
    """WSGI: the callback's paths answered here, every other one by ``pages`` (the Flask app's own ``wsgi_app``)."""

    def __init__(self, app, pages):
        self.app, self.pages = app, pages

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO") or ""
        if not path.startswith(PREFIX):
            return self.pages(environ, start_response)
        return self.answer(environ, path)(environ, start_response)

    def answer(self, environ, path: str) -> Response:
        with self.app.app_context():
            logs.start_request(environ)
            request = Request(environ)
            try:
                response = _view(request.method, path)(request, path[len(PREFIX):])
            except HTTPException as exc:
                response = _error_answer(exc)
            except DBAPIError as exc:
                log.error("database unavailable: %s", exc.__class__.__name__)
                response = _error_answer(ServiceUnavailable())
            except Exception:
                log.exception("unhandled error")
                response = _error_answer(InternalServerError())
            metrics.callback_answered(response.status_code, request.method)
            logs.finish_request(response, request.method, path)
            return security_headers.add(response, path)


def _view(method: str, path: str):
    if "/" in path[len(PREFIX):] or path == PREFIX:
        raise NotFound()
    view = VIEWS.get(method)
    if view is None:
        raise MethodNotAllowed(valid_methods=list(VIEWS))
    return view


def _error_answer(exc: HTTPException) -> Response:
    allow = [(name, value) for name, value in exc.get_headers() if name == "Allow"]
    return Response(MESSAGES.get(exc.code, exc.description), exc.code, allow,
                    content_type="text/plain; charset=utf-8")

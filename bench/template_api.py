"""A lean local template API for the fan-out benchmark, served by ONE process.

    gunicorn -w 1 -k gthread --threads 8 bench.template_api:app

The sandbox (``bench/sandbox_app.py``) plays all of WeChat and validates every message in full, which
costs about 1.25 ms of CPU a message on the same two CPUs the workers need: in production WeChat's
servers bear that cost, not ours.  This stand-in does what the fan-out needs and no more, as the bare
app does for the callback benchmark:

- ``POST /cgi-bin/stable_token`` — a token of this process (7,200 s);
- ``POST /cgi-bin/message/template/send?access_token=`` — 40001 for another token, 47001 for a body that
  is not JSON or lacks ``touser``/``template_id``/``data``; else delivered once per ``client_msg_id``
  (a repeat answers ok, like WeChat, and is counted as an attempt only);
- ``GET /bench/delivered`` (``?count=1``: only how many) — the same answer as ``sandbox_app``'s:
  ``[client_msg_id, touser, time]`` of each delivery, the attempts, the ids received more than once.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import Counter
from urllib.parse import parse_qs

TOKEN = secrets.token_hex(32)
_lock = threading.Lock()
_delivered: dict[str, list] = {}
_attempts: Counter = Counter()


def _json(start_response, payload: dict, status: str = "200 OK"):
    body = json.dumps(payload).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def _template_send(environ, start_response):
    token = parse_qs(environ.get("QUERY_STRING", "")).get("access_token", [""])[0]
    if token != TOKEN:
        return _json(start_response, {"errcode": 40001, "errmsg": "invalid credential"})
    try:
        body = json.loads(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
        valid = bool(body.get("touser") and body.get("template_id") and isinstance(body.get("data"), dict))
    except (ValueError, AttributeError):
        valid = False
    if not valid:
        return _json(start_response, {"errcode": 47001, "errmsg": "data format error"})
    client_msg_id = body.get("client_msg_id") or secrets.token_hex(8)
    with _lock:
        _attempts[client_msg_id] += 1
        if client_msg_id not in _delivered:
            _delivered[client_msg_id] = [client_msg_id, body["touser"], time.time()]
        msgid = len(_delivered)
    return _json(start_response, {"errcode": 0, "errmsg": "ok", "msgid": msgid})


def _delivered_status(environ, start_response):
    with _lock:
        if parse_qs(environ.get("QUERY_STRING", "")).get("count"):
            return _json(start_response, {"count": len(_delivered)})
        return _json(start_response, {"delivered": list(_delivered.values()), "attempts": sum(_attempts.values()),
                                      "repeated": {k: n for k, n in _attempts.items() if n > 1}})


def app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/cgi-bin/stable_token":
        return _json(start_response, {"access_token": TOKEN, "expires_in": 7200})
    if path == "/cgi-bin/message/template/send":
        return _template_send(environ, start_response)
    if path == "/bench/delivered":
        return _delivered_status(environ, start_response)
    return _json(start_response, {"errcode": 404, "errmsg": "not found"}, "404 Not Found")

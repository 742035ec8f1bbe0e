"""The WeChat API endpoints the service uses, answered locally and as strictly as WeChat.

Everything sits under ``/sandbox/`` so an account with ``api_base = oauth_base =
"{base_url}/sandbox/"`` reaches e.g. ``/sandbox/cgi-bin/stable_token``.  Every call is recorded in
``get_state().calls``; ``get_state().fail_next(endpoint, errcode, times)`` makes the next calls
to an endpoint fail.

This module has the route decorator :func:`wechat_api` (token check, faults, recording), the
error helpers, the access token, jsapi_ticket and QR code endpoints; the other endpoints are one
module a subject — ``api_menus``, ``api_users`` (followers and tags), ``api_messages``,
``api_media``, ``api_oauth`` — imported by the package to register their routes.
"""

from __future__ import annotations

import json
import re
import secrets
from functools import wraps

from flask import Response, jsonify, request

from ...config import settings
from . import bp
from .state import get_state

ERRMSG = {
    0: "ok",
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40004: "invalid media type",
    40007: "invalid media_id",
    40008: "invalid message type",
    40013: "invalid appid",
    40016: "invalid button size",
    40017: "invalid button type",
    40018: "invalid button name size",
    40019: "invalid button key size",
    40023: "invalid sub button size",
    40024: "invalid sub button type",
    40025: "invalid sub button name size",
    40029: "invalid code",
    40032: "invalid openid list size",
    40037: "invalid template_id",
    40048: "invalid url",
    40125: "invalid appsecret",
    40163: "code been used",
    41001: "access_token missing",
    41002: "appid missing",
    41004: "appsecret missing",
    41008: "missing code",
    41009: "missing openid",
    43004: "require subscribe",
    44002: "empty post data",
    45009: "reach max api daily quota limit",
    45015: "response out of time limit or subscription is canceled",
    45056: "too many tags",
    45057: "can't delete the tag that has too many fans",
    45058: "can't modify sys tag",
    45059: "user has too many tags",
    45157: "invalid tag name",
    45158: "tag name too long",
    45159: "invalid tag id",
    46002: "not exist menu",
    46003: "menu no exist",
    47001: "data format error",
    47003: "argument invalid!",
    49003: "not match openid with appid",
    65301: "no such menuid",
    65303: "there is no selfmenu, please create selfmenu first",
}


def err(code: int, errmsg: str | None = None) -> dict:
    msg = errmsg or ERRMSG.get(code, "error")
    return {
        "errcode": code,
        "errmsg": f"{msg} rid: {secrets.token_hex(4)}-{secrets.token_hex(4)}" if code else msg,
    }


def ok(**extra) -> dict:
    return {"errcode": 0, "errmsg": "ok", **extra}


def account_by_appid(appid: str | None):
    if not appid:
        return None
    return next((a for a in settings().accounts.values() if a.app_id == appid), None)


def _json_body():
    """The JSON body, or None when absent; ``...`` (Ellipsis) when present but not JSON.
    wechatpy posts JSON bytes without a Content-Type, so the type header is not required."""
    raw = request.get_data(cache=True)
    if not raw or not raw.strip():
        return None
    try:
        return json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return ...


def wechat_api(path: str, methods=("GET",), token: bool = True, json_object: bool = False):
    """Route ``/sandbox/<path>``: check the access token, apply injected faults, record the call.

    The view receives ``(state, appid, params, body)`` and returns a dict (JSON) or a Response.
    ``json_object``: the body must be a JSON object, as WeChat answers otherwise — 44002 when there is none,
    47001 when it is something else.
    """

    def deco(fn):
        @wraps(fn)
        def view():
            state = get_state()
            params = request.args.to_dict()
            body = _json_body() if request.method == "POST" and not request.files else None
            appid = None
            result = None
            if token:
                if not params.get("access_token"):
                    result = err(41001)
                else:
                    appid = state.check_token(params["access_token"])
                    if appid is None:
                        result = err(40001)
            if result is None and path == "cgi-bin/message/template/send" and isinstance(body, dict):
                state.count_attempt(body.get("client_msg_id"))
            fault = state.take_fault(path) if result is None else None
            if fault:
                result = err(fault["errcode"], fault["errmsg"])
                state.record(path, request.method, params, body, appid, result)
                return jsonify(result), fault["status"]
            if result is None:
                if body is ...:
                    result = err(47001)
                elif json_object and not isinstance(body, dict):
                    result = err(44002 if body is None else 47001)
                else:
                    result = fn(state, appid, params, body)
            state.record(
                path,
                request.method,
                params,
                None if body is ... else body,
                appid,
                result if isinstance(result, dict) else {},
            )
            if isinstance(result, dict):
                # WeChat answers JSON with ensure_ascii off and a text/plain type; JSON is fine here.
                return Response(json.dumps(result, ensure_ascii=False), mimetype="application/json")
            return result

        view.__name__ = "api_" + re.sub(r"\W", "_", path)
        bp.add_url_rule("/" + path, view.__name__, view, methods=list(methods))
        return fn

    return deco


# ---------------------------------------------------------------------------- tokens and tickets
def check_credentials(appid, secret, grant_type, expected_grant="client_credential"):
    if not appid:
        return err(41002), None
    account = account_by_appid(appid)
    if account is None:
        return err(40013), None
    if not secret:
        return err(41004), None
    if secret != account.app_secret:
        return err(40125), None
    if grant_type != expected_grant:
        return err(40002), None
    return None, account


@wechat_api("cgi-bin/token", token=False)
def token(state, _appid, params, _body):
    problem, account = check_credentials(params.get("appid"), params.get("secret"), params.get("grant_type"))
    if problem:
        return problem
    access_token, expires_in = state.issue_token(account.app_id, rotate=True)
    return {"access_token": access_token, "expires_in": expires_in}


@wechat_api("cgi-bin/stable_token", methods=("POST",), token=False, json_object=True)
def stable_token(state, _appid, _params, body):
    problem, account = check_credentials(body.get("appid"), body.get("secret"), body.get("grant_type"))
    if problem:
        return problem
    force = body.get("force_refresh") in (True, "true", 1, "1")
    access_token, expires_in = state.issue_token(account.app_id, rotate=force, grace=0)
    return {"access_token": access_token, "expires_in": expires_in}


@wechat_api("cgi-bin/ticket/getticket")
def getticket(state, appid, params, _body):
    if params.get("type", "jsapi") != "jsapi":
        return err(40097, "invalid args")
    ticket, expires_in = state.issue_ticket(appid)
    return ok(ticket=ticket, expires_in=expires_in)


# ---------------------------------------------------------------------------- QR codes
@wechat_api("cgi-bin/qrcode/create", methods=("POST",))
def qrcode_create(state, appid, _params, body):
    if not isinstance(body, dict) or body.get("action_name") not in (
        "QR_SCENE",
        "QR_STR_SCENE",
        "QR_LIMIT_SCENE",
        "QR_LIMIT_STR_SCENE",
    ):
        return err(47001)
    ticket = "sbxqr" + secrets.token_urlsafe(24)
    scene = (body.get("action_info") or {}).get("scene") or {}
    with state.lock:
        state.qrcodes[ticket] = {"appid": appid, "scene": scene, "body": body}
    expire = int(body.get("expire_seconds", 60)) if "LIMIT" not in body["action_name"] else None
    out = {"ticket": ticket, "url": f"http://weixin.qq.com/q/{ticket}"}
    if expire:
        out["expire_seconds"] = expire
    return out

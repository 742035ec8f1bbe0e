"""The sandbox's web OAuth: the authorize page, the code exchange and ``sns/userinfo``."""

from __future__ import annotations

import re
import secrets
import time
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import redirect, render_template, request

from . import bp
from .api import account_by_appid, check_credentials, err, wechat_api
from .state import get_state


# ---------------------------------------------------------------------------- OAuth
def _with_query(url: str, **extra) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in extra]
    query += list(extra.items())
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


@bp.route("/connect/oauth2/authorize")
def oauth_authorize():
    """WeChat's authorize page.  With a ``sandbox_openid`` cookie (set by the phone page) it
    redirects at once, as WeChat does for ``snsapi_base``; otherwise it asks who you are."""
    state = get_state()
    params = request.args.to_dict()
    state.record("connect/oauth2/authorize", "GET", params, None, params.get("appid"), {})
    account = account_by_appid(params.get("appid"))
    redirect_uri = params.get("redirect_uri", "")
    problem = None
    if account is None:
        problem = "appid 无效 (40013)"
    elif not re.match(r"https?://", redirect_uri):
        problem = "redirect_uri 参数错误"
    elif params.get("response_type") != "code":
        problem = "response_type 参数错误"
    elif params.get("scope") not in ("snsapi_base", "snsapi_userinfo"):
        problem = "scope 参数错误"
    if problem:
        return render_template("sandbox/oauth.html", problem=problem, params=params, openids=[]), 400
    chosen = (request.args.get("sandbox_openid") or request.cookies.get("sandbox_openid") or "").strip()
    if chosen:
        code = state.issue_code(account.app_id, chosen, params["scope"])
        resp = redirect(_with_query(redirect_uri, code=code, state=params.get("state", "")), 302)
        if request.args.get("sandbox_openid"):
            resp.set_cookie("sandbox_openid", chosen, path="/", samesite="Lax")
        return resp
    from .phone import DEFAULT_OPENIDS

    return render_template(
        "sandbox/oauth.html", problem=None, params=params, openids=DEFAULT_OPENIDS, account=account
    )


@wechat_api("sns/oauth2/access_token", token=False)
def sns_access_token(state, _appid, params, _body):
    problem, account = check_credentials(
        params.get("appid"),
        params.get("secret"),
        params.get("grant_type"),
        expected_grant="authorization_code",
    )
    if problem:
        return problem
    if not params.get("code"):
        return err(41008)
    code, info = state.trade_code(account.app_id, params["code"])
    if code:
        return err(code)
    access_token = "sbxsns_" + secrets.token_urlsafe(24)
    refresh_token = "sbxsnsr_" + secrets.token_urlsafe(24)
    with state.lock:
        state.sns_tokens[access_token] = {
            "appid": account.app_id,
            "openid": info["openid"],
            "expires_at": time.time() + 7200,
            "scope": info["scope"],
        }
    return {
        "access_token": access_token,
        "expires_in": 7200,
        "refresh_token": refresh_token,
        "openid": info["openid"],
        "scope": info["scope"],
    }


@wechat_api("sns/userinfo", token=False)
def sns_userinfo(state, _appid, params, _body):
    with state.lock:
        info = state.sns_tokens.get(params.get("access_token", ""))
    if not info or info["expires_at"] < time.time():
        return err(40001)
    if info["scope"] != "snsapi_userinfo":
        return err(48001, "api unauthorized")
    return {
        "openid": info["openid"],
        "nickname": info["openid"],
        "sex": 0,
        "province": "",
        "city": "",
        "country": "",
        "headimgurl": "",
        "privilege": [],
    }

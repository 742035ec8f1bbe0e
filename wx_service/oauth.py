"""WeChat web OAuth (snsapi_base) for the mobile pages, and who the current person is.

A page that needs a person calls ``person_required``: an unknown browser is sent to the account's
authorize URL with a random ``state`` kept in its session.  The code that comes back is traded
exactly once — WeChat sometimes loads the redirect twice, so the result is remembered for a few
minutes under the code, and the second load lands the person too — then the browser is sent to
the clean URL, without ``code`` and ``state``.
"""

from __future__ import annotations

import functools
import logging
import secrets
from urllib.parse import urlencode, urlsplit, urlunsplit

import requests
from flask import Blueprint, abort, current_app, g, redirect, request, session, url_for

from .shared_store import lock

bp = Blueprint("oauth", __name__)
log = logging.getLogger(__name__)

CODE_TTL = 300
MAX_STATES = 8


def settings():
    return current_app.config["WX_SETTINGS"]


def account_name() -> str:
    """The account the page works for: ``?account=``, else the session's, else the main one."""
    name = request.args.get("account") or session.get("account")
    if name not in settings().accounts:
        name = settings().main_account.name
    return name


def current_openid(account: str | None = None) -> str | None:
    return (session.get("openids") or {}).get(account or account_name())


def sign_in(account: str, openid: str) -> None:
    openids = dict(session.get("openids") or {})
    openids[account] = openid
    session["openids"] = openids
    session["account"] = account
    session.permanent = True


#: WeChat appends these to the redirect URL and this module strips them on the way back: no link the
#: service makes may carry a parameter of these names (tests/wx_service/test_link_parameters.py).
OAUTH_PARAMS = ("code", "state")


def _clean(url: str) -> str:
    parts = urlsplit(url)
    query = [p for p in parts.query.split("&") if p and p.split("=", 1)[0] not in OAUTH_PARAMS]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "&".join(query), ""))


def _public_url(path_and_query: str) -> str:
    return settings().app["base_url"].rstrip("/") + path_and_query


def authorize_url(account: str, next_path: str) -> str:
    state = secrets.token_urlsafe(12)
    states = dict(session.get("oauth_states") or {})
    states[state] = {"account": account, "next": next_path}
    while len(states) > MAX_STATES:
        states.pop(next(iter(states)))
    session["oauth_states"] = states
    acct = settings().accounts[account]
    redirect_uri = _public_url(url_for("oauth.oauth_return"))
    query = urlencode({"appid": acct.app_id, "redirect_uri": redirect_uri, "response_type": "code",
                       "scope": "snsapi_base", "state": state})
    return f"{acct.oauth_base}connect/oauth2/authorize?{query}#wechat_redirect"


def person_required(view):
    """The view runs only for a signed-in person (``g.account``, ``g.openid`` set)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        account = account_name()
        openid = current_openid(account)
        if not openid:
            if request.method != "GET":
                abort(403)
            path = request.full_path.rstrip("?")
            return redirect(authorize_url(account, _clean(path)))
        g.account, g.openid = account, openid
        if session.get("account") != account:  # written only when it changes: see SESSION_REFRESH_EACH_REQUEST
            session["account"] = account
        return view(*args, **kwargs)

    return wrapper


def _exchange(account: str, code: str) -> str:
    """The openid for a code, trading it with WeChat once; repeats read the remembered result."""
    store = current_app.extensions["wx_store"]
    key = f"oauth:code:{account}:{code}"
    known = store.get(key)
    if known:
        return known
    with lock(store, key, timeout=10):
        known = store.get(key)
        if known:
            return known
        acct = settings().accounts[account]
        res = requests.get(f"{acct.api_base}sns/oauth2/access_token", timeout=5, params={
            "appid": acct.app_id, "secret": acct.app_secret, "code": code, "grant_type": "authorization_code"})
        data = res.json()
        if data.get("errcode") or not data.get("openid"):
            log.warning("oauth code refused: errcode %s", data.get("errcode"))
            abort(400)
        store.set(key, data["openid"], CODE_TTL)
        return data["openid"]


@bp.get("/m/oauth/return")
def oauth_return():
    code, state = request.args.get("code"), request.args.get("state", "")
    states = session.get("oauth_states") or {}
    pending = states.get(state)
    if not code:
        # The person refused (snsapi_userinfo) or WeChat sent nothing: back to the home page.
        return redirect(url_for("pages.home"))
    if pending is None:
        abort(400)
    openid = _exchange(pending["account"], code)
    sign_in(pending["account"], openid)
    g.account, g.openid = pending["account"], openid
    from .binding import note_visit

    note_visit(pending["account"], openid)
    return redirect(pending["next"] or url_for("pages.home"))

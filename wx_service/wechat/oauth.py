"""WeChat web OAuth (snsapi_base) for the mobile pages, and who the current person is.

A page that needs a person calls ``person_required``: an unknown browser is sent to the account's
authorize URL with a random ``state`` kept in its (signed) session.  The code that comes back is
traded exactly once, and only for a state this browser holds:

- a state is spent by the first code that comes back with it (claimed in the shared store, so every
  process agrees) and never accepts another code: a code planted in someone else's browser does
  not sign it in;
- WeChat sometimes loads the redirect twice, so the result of a trade is remembered for a short
  time, but it serves only the state that traded it — and that state lives only in the session of
  the browser it was issued to.  Someone who holds a victim's code (a proxy log, history on a
  shared phone, a forwarded link) and replays it with a fresh state of their own is refused;
  after the short memory, WeChat refuses the used code itself (40163).

Then the browser is sent to the clean URL, without ``code`` and ``state``.
"""

from __future__ import annotations

import functools
import json
import logging
import secrets
from datetime import UTC
from urllib.parse import urlencode, urlsplit, urlunsplit

import requests
from flask import Blueprint, abort, current_app, g, redirect, request, session, url_for

from .. import clock
from ..config import settings

bp = Blueprint("oauth", __name__)
log = logging.getLogger(__name__)

#: How long a traded code's result serves a repeat load of the redirect by the same state.
REMEMBER_SECONDS = 60
#: How long a state waits for its code (WeChat's code itself lives 5 minutes).
STATE_SECONDS = 600
MAX_STATES = 8


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
    return settings().app.base_url.rstrip("/") + path_and_query


def _epoch() -> int:
    return int(clock.now().replace(tzinfo=UTC).timestamp())


def authorize_url(account: str, next_path: str) -> str:
    state = secrets.token_urlsafe(12)
    states = dict(session.get("oauth_states") or {})
    states[state] = {"account": account, "next": next_path, "issued": _epoch()}
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


def _claim_state(store, state: str, code: str) -> bool:
    """The state takes its first code and keeps it: True for that code (again), False for any other."""
    key = f"oauth:state:{state}"
    return store.add(key, code, STATE_SECONDS) or store.get(key) == code


def _exchange(account: str, code: str, state: str) -> str:
    """The openid for a code brought back with ``state``, trading it with WeChat once.

    A repeat load (same state, same code) reads the remembered result; the same code with any other
    state is refused, without asking WeChat.
    """
    store = current_app.extensions["wx_store"]
    if not _claim_state(store, state, code):
        log.warning("oauth state already spent on another code")
        abort(400)
    key = f"oauth:code:{account}:{code}"
    with store.lock(key, timeout=10):
        known = store.get(key)
        if known:
            traded = json.loads(known)
            if traded["state"] != state:
                log.warning("oauth code replayed with another state")
                abort(400)
            return traded["openid"]
        acct = settings().accounts[account]
        res = requests.get(f"{acct.api_base}sns/oauth2/access_token", timeout=5, params={
            "appid": acct.app_id, "secret": acct.app_secret, "code": code, "grant_type": "authorization_code"})
        data = res.json()
        if data.get("errcode") or not data.get("openid"):
            log.warning("oauth code refused: errcode %s", data.get("errcode"))
            abort(400)
        store.set(key, json.dumps({"openid": data["openid"], "state": state}), REMEMBER_SECONDS)
        return data["openid"]


def _pending(state: str) -> dict | None:
    """This browser's own state, while it is young enough to wait for a code."""
    pending = (session.get("oauth_states") or {}).get(state)
    if pending is None or _epoch() - pending.get("issued", 0) > STATE_SECONDS:
        return None
    return pending


@bp.get("/m/oauth/return")
def oauth_return():
    code, state = request.args.get("code"), request.args.get("state", "")
    if not code:
        # The person refused (snsapi_userinfo) or WeChat sent nothing: back to the home page.
        return redirect(url_for("pages.home"))
    pending = _pending(state)
    if pending is None:
        abort(400)
    openid = _exchange(pending["account"], code, state)
    sign_in(pending["account"], openid)
    g.account, g.openid = pending["account"], openid
    from .binding import note_visit

    note_visit(pending["account"], openid)
    return redirect(pending["next"] or url_for("pages.home"))

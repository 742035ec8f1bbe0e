"""The sandbox's custom menu API: create, get and delete, conditional menus, checked as WeChat checks them."""

from __future__ import annotations

import json
import re

from menus.validation import (
    BUTTON_TYPES,
    KEY_TYPES,
    MAX_KEY_BYTES,
    MAX_SUB_BUTTONS,
    MAX_SUB_NAME_BYTES,
    MAX_TOP_BUTTONS,
    MAX_TOP_NAME_BYTES,
    MAX_URL_BYTES,
)

from .api import err, ok, wechat_api

# ---------------------------------------------------------------------------- menus
#: WeChat's button types (and its older ``view_limited``); the limits are WeChat's, as ``menus`` checks them too.
MENU_TYPES = BUTTON_TYPES | {"view_limited"}


def _check_button(button: dict, top: bool) -> int:
    name = button.get("name")
    if not isinstance(name, str) or not name:
        return 40018 if top else 40025
    if len(name.encode("utf-8")) > (MAX_TOP_NAME_BYTES if top else MAX_SUB_NAME_BYTES):
        return 40018 if top else 40025
    subs = button.get("sub_button")
    if top and subs:
        if not isinstance(subs, list) or len(subs) > MAX_SUB_BUTTONS:
            return 40023
        for sub in subs:
            code = _check_button(sub, top=False)
            if code:
                return code
        return 0
    kind = button.get("type")
    if kind not in MENU_TYPES:
        return 40017 if top else 40024
    if kind in KEY_TYPES:
        key = button.get("key")
        if not isinstance(key, str) or not key or len(key.encode("utf-8")) > MAX_KEY_BYTES:
            return 40019
    if kind in ("view", "miniprogram"):
        url = button.get("url")
        if not isinstance(url, str) or not re.match(r"https?://", url) or len(url.encode()) > MAX_URL_BYTES:
            return 40048
    return 0


def _check_menu(body) -> int:
    if not isinstance(body, dict):
        return 44002 if body is None else 47001
    buttons = body.get("button")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= MAX_TOP_BUTTONS:
        return 40016
    for button in buttons:
        if not isinstance(button, dict):
            return 47001
        code = _check_button(button, top=True)
        if code:
            return code
    return 0


@wechat_api("cgi-bin/menu/create", methods=("POST",))
def menu_create(state, appid, _params, body):
    code = _check_menu(body)
    if code:
        return err(code)
    with state.lock:
        state.menus[appid] = {"button": body["button"], "menuid": state.next_menuid()}
    return ok()


@wechat_api("cgi-bin/menu/addconditional", methods=("POST",))
def menu_addconditional(state, appid, _params, body):
    code = _check_menu(body)
    if code:
        return err(code)
    rule = body.get("matchrule")
    if not isinstance(rule, dict) or not any(str(v) for v in rule.values()):
        return err(47001, "data format error: matchrule")
    tag_id = str(rule.get("tag_id", ""))
    with state.lock:
        if not state.menus.get(appid):
            return err(65303)
        if tag_id and (not tag_id.isdigit() or int(tag_id) not in state.tags[appid]):
            return err(45159)
        menuid = state.next_menuid()
        state.conditional_menus[appid].append({"button": body["button"], "matchrule": rule, "menuid": menuid})
    return {"menuid": str(menuid)}


@wechat_api("cgi-bin/menu/get")
def menu_get(state, appid, _params, _body):
    with state.lock:
        default = state.menus.get(appid)
        if not default:
            return err(46003)
        out = {"menu": json.loads(json.dumps(default))}
        conditional = state.conditional_menus.get(appid)
        if conditional:
            out["conditionalmenu"] = json.loads(json.dumps(conditional))
    return out


@wechat_api("cgi-bin/menu/delete")
def menu_delete(state, appid, _params, _body):
    with state.lock:
        state.menus.pop(appid, None)
        state.conditional_menus.pop(appid, None)
    return ok()


@wechat_api("cgi-bin/menu/delconditional", methods=("GET", "POST"))
def menu_delconditional(state, appid, params, body):
    menuid = (body or {}).get("menuid") if isinstance(body, dict) else None
    menuid = str(menuid or params.get("menuid") or "")
    if not menuid:
        return err(47001)
    with state.lock:
        menus = state.conditional_menus.get(appid, [])
        keep = [m for m in menus if str(m["menuid"]) != menuid]
        if len(keep) == len(menus):
            return err(65301)
        state.conditional_menus[appid] = keep
    return ok()

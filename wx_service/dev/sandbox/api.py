"""The WeChat API endpoints the service uses, answered locally and as strictly as WeChat.

Everything sits under ``/sandbox/`` so an account with ``api_base = oauth_base =
"{base_url}/sandbox/"`` reaches e.g. ``/sandbox/cgi-bin/stable_token``.  Every call is recorded in
``get_state().calls``; ``get_state().fail_next(endpoint, errcode, times)`` makes the next calls
to an endpoint fail.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from functools import wraps
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import Response, jsonify, redirect, render_template, request

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


def wechat_api(path: str, methods=("GET",), token: bool = True):
    """Route ``/sandbox/<path>``: check the access token, apply injected faults, record the call.

    The view receives ``(state, appid, params, body)`` and returns a dict (JSON) or a Response.
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
def _check_credentials(appid, secret, grant_type, expected_grant="client_credential"):
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
    problem, account = _check_credentials(params.get("appid"), params.get("secret"), params.get("grant_type"))
    if problem:
        return problem
    access_token, expires_in = state.issue_token(account.app_id, rotate=True)
    return {"access_token": access_token, "expires_in": expires_in}


@wechat_api("cgi-bin/stable_token", methods=("POST",), token=False)
def stable_token(state, _appid, _params, body):
    if not isinstance(body, dict):
        return err(44002 if body is None else 47001)
    problem, account = _check_credentials(body.get("appid"), body.get("secret"), body.get("grant_type"))
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


# ---------------------------------------------------------------------------- menus
MENU_TYPES = {
    "click",
    "view",
    "scancode_push",
    "scancode_waitmsg",
    "pic_sysphoto",
    "pic_photo_or_album",
    "pic_weixin",
    "location_select",
    "media_id",
    "view_limited",
    "article_id",
    "article_view_limited",
    "miniprogram",
}


def _check_button(button: dict, top: bool) -> int:
    name = button.get("name")
    if not isinstance(name, str) or not name:
        return 40018 if top else 40025
    if len(name.encode("utf-8")) > (16 if top else 60):
        return 40018 if top else 40025
    subs = button.get("sub_button")
    if top and subs:
        if not isinstance(subs, list) or len(subs) > 5:
            return 40023
        for sub in subs:
            code = _check_button(sub, top=False)
            if code:
                return code
        return 0
    kind = button.get("type")
    if kind not in MENU_TYPES:
        return 40017 if top else 40024
    if kind in (
        "click",
        "scancode_push",
        "scancode_waitmsg",
        "pic_sysphoto",
        "pic_photo_or_album",
        "pic_weixin",
        "location_select",
    ):
        key = button.get("key")
        if not isinstance(key, str) or not key or len(key.encode("utf-8")) > 128:
            return 40019
    if kind in ("view", "miniprogram"):
        url = button.get("url")
        if not isinstance(url, str) or not re.match(r"https?://", url) or len(url.encode()) > 1024:
            return 40048
    return 0


def _check_menu(body) -> int:
    if not isinstance(body, dict):
        return 44002 if body is None else 47001
    buttons = body.get("button")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
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


# ---------------------------------------------------------------------------- tags
def _tag_id(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@wechat_api("cgi-bin/tags/create", methods=("POST",))
def tags_create(state, appid, _params, body):
    tag = body.get("tag") if isinstance(body, dict) else None
    name = tag.get("name") if isinstance(tag, dict) else None
    if not isinstance(name, str) or not name.strip():
        return err(45157)
    if len(name.encode("utf-8")) > 30:
        return err(45158)
    with state.lock:
        tags = state.tags[appid]
        if name in tags.values():
            return err(45157, "tag name already exists")
        if len(tags) >= 100:
            return err(45056)
        tag_id = max([99, *tags]) + 1
        tags[tag_id] = name
    return {"tag": {"id": tag_id, "name": name}}


@wechat_api("cgi-bin/tags/get")
def tags_get(state, appid, _params, _body):
    with state.lock:
        tags = [
            {
                "id": tag_id,
                "name": name,
                "count": sum(1 for u in state.users[appid].values() if tag_id in u["tagid_list"]),
            }
            for tag_id, name in sorted(state.tags[appid].items())
        ]
    return {"tags": tags}


@wechat_api("cgi-bin/tags/update", methods=("POST",))
def tags_update(state, appid, _params, body):
    tag = body.get("tag") if isinstance(body, dict) else None
    tag_id = _tag_id(tag.get("id")) if isinstance(tag, dict) else None
    name = tag.get("name") if isinstance(tag, dict) else None
    with state.lock:
        if tag_id not in state.tags[appid]:
            return err(45159)
        if not isinstance(name, str) or not name.strip():
            return err(45157)
        state.tags[appid][tag_id] = name
    return ok()


@wechat_api("cgi-bin/tags/delete", methods=("POST",))
def tags_delete(state, appid, _params, body):
    tag = body.get("tag") if isinstance(body, dict) else None
    tag_id = _tag_id(tag.get("id")) if isinstance(tag, dict) else None
    with state.lock:
        if tag_id not in state.tags[appid]:
            return err(45159)
        del state.tags[appid][tag_id]
        for user in state.users[appid].values():
            if tag_id in user["tagid_list"]:
                user["tagid_list"].remove(tag_id)
    return ok()


def _tagging(state, appid, body, add: bool):
    if not isinstance(body, dict):
        return err(44002 if body is None else 47001)
    openids = body.get("openid_list")
    tag_id = _tag_id(body.get("tagid"))
    if not isinstance(openids, list) or not openids or len(openids) > 50:
        return err(40032)
    with state.lock:
        if tag_id not in state.tags[appid]:
            return err(45159)
        users = state.users[appid]
        for openid in openids:  # WeChat tags followers only; an openid of another account is 49003
            if not isinstance(openid, str) or not state.is_following(appid, openid):
                elsewhere = isinstance(openid, str) and any(
                    openid in others for other, others in state.users.items() if other != appid)
                return err(49003 if elsewhere else 40003)
        for openid in openids:
            tags = users[openid]["tagid_list"]
            if add and tag_id not in tags:
                if len(tags) >= 20:
                    return err(45059)
                tags.append(tag_id)
            elif not add and tag_id in tags:
                tags.remove(tag_id)
    return ok()


@wechat_api("cgi-bin/tags/members/batchtagging", methods=("POST",))
def batchtagging(state, appid, _params, body):
    return _tagging(state, appid, body, add=True)


@wechat_api("cgi-bin/tags/members/batchuntagging", methods=("POST",))
def batchuntagging(state, appid, _params, body):
    return _tagging(state, appid, body, add=False)


@wechat_api("cgi-bin/tags/getidlist", methods=("POST",))
def tags_getidlist(state, appid, _params, body):
    openid = body.get("openid") if isinstance(body, dict) else None
    with state.lock:
        user = state.users[appid].get(openid) if isinstance(openid, str) else None
        if user is None:
            return err(40003)
        return {"tagid_list": list(user["tagid_list"])}


@wechat_api("cgi-bin/user/tag/get", methods=("GET", "POST"))
def user_tag_get(state, appid, params, body):
    body = body if isinstance(body, dict) else {}
    tag_id = _tag_id(body.get("tagid", params.get("tagid")))
    with state.lock:
        if tag_id not in state.tags[appid]:
            return err(45159)
        openids = [o for o, u in state.users[appid].items() if tag_id in u["tagid_list"]]
    return {"count": len(openids), "data": {"openid": openids}, "next_openid": openids[-1] if openids else ""}


# ---------------------------------------------------------------------------- users
def _user_info(state, appid, openid, lang="zh_CN"):
    with state.lock:
        user = state.users[appid].get(openid) if openid else None
        if user is None:
            return None
        if not user["subscribe"] or openid in state.unfollowed_openids:
            return {"subscribe": 0, "openid": openid, "tagid_list": []}
        return {
            "subscribe": 1,
            "openid": openid,
            "nickname": user["nickname"],
            "sex": 0,
            "language": lang,
            "city": "",
            "province": "",
            "country": "",
            "headimgurl": "",
            "subscribe_time": user["subscribe_time"],
            "remark": user["remark"],
            "groupid": 0,
            "tagid_list": list(user["tagid_list"]),
            "subscribe_scene": "ADD_SCENE_QR_CODE",
            "qr_scene": 0,
            "qr_scene_str": "",
        }


@wechat_api("cgi-bin/user/info")
def user_info(state, appid, params, _body):
    if not params.get("openid"):
        return err(41009)
    info = _user_info(state, appid, params["openid"], params.get("lang", "zh_CN"))
    return info if info is not None else err(40003)


@wechat_api("cgi-bin/user/info/batchget", methods=("POST",))
def user_info_batchget(state, appid, _params, body):
    items = body.get("user_list") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items or len(items) > 100:
        return err(47001)
    out = []
    for item in items:
        info = _user_info(state, appid, (item or {}).get("openid"), (item or {}).get("lang", "zh_CN"))
        if info is None:
            return err(40003)
        out.append(info)
    return {"user_info_list": out}


@wechat_api("cgi-bin/user/get")
def user_get(state, appid, params, _body):
    with state.lock:
        openids = sorted(
            o for o, u in state.users[appid].items() if u["subscribe"] and o not in state.unfollowed_openids
        )
    nxt = params.get("next_openid") or ""
    if nxt:
        openids = [o for o in openids if o > nxt]
    return {
        "total": len(openids),
        "count": len(openids),
        "data": {"openid": openids},
        "next_openid": openids[-1] if openids else "",
    }


# ---------------------------------------------------------------------------- messages
HAN = r"\u3400-\u9fff\uf900-\ufaff"
TIME_RE = re.compile(r"^(?=.*\d)[0-9年月日时分秒点:：\-/. ~～至到]+$")
KEYWORD_RULES = {
    # prefix: (max length, pattern or None)
    "thing": (20, None),
    "character_string": (32, re.compile(r"^[\x20-\x7e]+$")),
    "phrase": (5, re.compile(rf"^[{HAN}]+$")),
    "number": (32, re.compile(r"^-?\d+(\.\d+)?$")),
    "amount": (None, re.compile(r"^[¥￥$€£]?-?\d{1,10}(\.\d{1,2})?元?$")),
    "phone_number": (17, re.compile(r"^[\d+\-() ]+$")),
    "car_number": (8, None),
    "name": (None, None),
    "time": (None, TIME_RE),
    "date": (None, TIME_RE),
    "letter": (32, re.compile(r"^[A-Za-z]+$")),
    "symbol": (5, re.compile(r"^[^\w\s]+$")),
}


def _check_keyword(key: str, value: str) -> bool:
    prefix = re.sub(r"\d+$", "", key)
    if prefix == "name":
        return bool(value) and len(value) <= (20 if value.isascii() else 10)
    limit, pattern = KEYWORD_RULES.get(prefix, (20, None))
    if limit is not None and len(value) > limit:
        return False
    return not (pattern is not None and not pattern.match(value))


@wechat_api("cgi-bin/message/template/send", methods=("POST",))
def template_send(state, appid, _params, body):
    if not isinstance(body, dict):
        return err(44002 if body is None else 47001)
    touser = body.get("touser")
    template_id = body.get("template_id")
    if not isinstance(touser, str) or not touser:
        return err(40003)
    if not isinstance(template_id, str) or not template_id or template_id in state.bad_templates:
        return err(40037)
    with state.lock:
        if touser not in state.users[appid]:
            return err(40003)
    if not state.is_following(appid, touser):
        return err(43004)
    data = body.get("data", {})
    if not isinstance(data, dict):
        return err(47001)
    warnings = []
    for key, item in data.items():
        if key in ("first", "remark"):
            warnings.append(f"{key}: ignored by WeChat since May 2023")
            continue
        if not isinstance(item, dict) or "value" not in item:
            return err(47001, f"data format error: data.{key}")
        value = item["value"]
        if not isinstance(value, str):
            return err(47003, f"argument invalid! data.{key}.value invalid")
        if not _check_keyword(key, value):
            return err(47003, f"argument invalid! data.{key}.value invalid")
    url = body.get("url")
    if url and (not isinstance(url, str) or not re.match(r"https?://", url)):
        return err(40048)
    msgid = state.template_sent(appid, body, warnings)
    return ok(msgid=msgid)


@wechat_api("cgi-bin/message/custom/send", methods=("POST",))
def custom_send(state, appid, _params, body):
    if not isinstance(body, dict):
        return err(44002 if body is None else 47001)
    touser = body.get("touser")
    msgtype = body.get("msgtype")
    with state.lock:
        user = state.users[appid].get(touser) if isinstance(touser, str) else None
    if user is None:
        return err(40003)
    if msgtype not in (
        "text",
        "image",
        "voice",
        "video",
        "music",
        "news",
        "mpnews",
        "msgmenu",
        "wxcard",
        "miniprogrampage",
        "mpnewsarticle",
    ):
        return err(40008)
    payload = body.get(msgtype)
    if not isinstance(payload, dict):
        return err(47001)
    if msgtype == "text" and not (isinstance(payload.get("content"), str) and payload["content"]):
        return err(44003, "empty content")
    if not state.is_following(appid, touser) or time.time() - user["last_interaction"] > 48 * 3600:
        return err(45015)
    with state.lock:
        state.custom_messages.append(
            {"appid": appid, "touser": touser, "msgtype": msgtype, msgtype: payload, "time": time.time()}
        )
    return ok()


# ---------------------------------------------------------------------------- media
def _media_response(item, media_id):
    ext = {
        "audio/amr": "amr",
        "audio/speex": "speex",
        "image/jpeg": "jpg",
        "image/png": "png",
        "audio/mpeg": "mp3",
        "audio/wav": "wav",
        "audio/x-wav": "wav",
    }.get(item["content_type"], "bin")
    return Response(
        item["data"],
        mimetype=item["content_type"],
        headers={"Content-disposition": f'attachment; filename="{media_id}.{ext}"'},
    )


@wechat_api("cgi-bin/media/get")
def media_get(state, appid, params, _body):
    item = state.get_media(params.get("media_id", ""))
    if item is None or (item["appid"] and item["appid"] != appid):
        return err(40007)
    return _media_response(item, params["media_id"])


@wechat_api("cgi-bin/media/get/jssdk")
def media_get_jssdk(state, appid, params, _body):
    """获取高清语音素材: a voice recorded by ``wx.uploadVoice`` only; an image or a chat voice is 40007."""
    item = state.get_media(params.get("media_id", ""), hd_voice=True)
    if item is None or (item["appid"] and item["appid"] != appid):
        return err(40007)
    return _media_response(item, params["media_id"])


@wechat_api("cgi-bin/media/upload", methods=("POST",))
def media_upload(state, appid, params, _body):
    kind = params.get("type")
    if kind not in ("image", "voice", "video", "thumb"):
        return err(40004)
    upload = request.files.get("media")
    if upload is None:
        return err(41005, "media data missing")
    content_type = upload.mimetype or "application/octet-stream"
    media_id = state.add_media(upload.read(), content_type, appid=appid, filename=upload.filename, kind=kind)
    return {"type": kind, "media_id": media_id, "created_at": int(time.time())}


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
    problem, account = _check_credentials(
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

"""The sandbox's message API: template messages (keyword rules as WeChat's) and custom (客服) messages."""

from __future__ import annotations

import re
import time

from .api import err, ok, wechat_api

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


@wechat_api("cgi-bin/message/template/send", methods=("POST",), json_object=True)
def template_send(state, appid, _params, body):
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


@wechat_api("cgi-bin/message/custom/send", methods=("POST",), json_object=True)
def custom_send(state, appid, _params, body):
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

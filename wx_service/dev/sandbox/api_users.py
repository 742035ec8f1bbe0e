"""The sandbox's followers API: user tags (create, tag/untag followers, list) and user info and lists."""

from __future__ import annotations

from .api import err, ok, wechat_api


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


@wechat_api("cgi-bin/tags/members/batchtagging", methods=("POST",), json_object=True)
def batchtagging(state, appid, _params, body):
    return _tagging(state, appid, body, add=True)


@wechat_api("cgi-bin/tags/members/batchuntagging", methods=("POST",), json_object=True)
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

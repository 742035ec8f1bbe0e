"""The sandbox's temporary media API: upload, get, and get/jssdk (the HD voice of ``wx.uploadVoice``)."""

from __future__ import annotations

import time

from flask import Response, request

from .api import err, wechat_api


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

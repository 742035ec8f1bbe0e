"""``/m/jssdk-config?url=…``: the JS-SDK ``wx.config`` values signed for a page URL."""

from __future__ import annotations

import secrets
import time

from flask import Blueprint, current_app, jsonify, request
from wechatpy.client.api.jsapi import WeChatJSAPI

from models import RuleViolation

from ..config import settings
from .oauth import account_name

bp = Blueprint("jssdk", __name__)


def signature(ticket: str, noncestr: str, timestamp: int, url: str) -> str:
    """sha1 of ``jsapi_ticket=…&noncestr=…&timestamp=…&url=…``, the URL without its fragment."""
    return WeChatJSAPI().get_jsapi_signature(noncestr, ticket, timestamp, url.split("#", 1)[0])


@bp.get("/m/jssdk-config")
def jssdk_config():
    url = request.args.get("url", "")
    if not url.startswith(("http://", "https://")):
        raise RuleViolation("bad_url", "缺少页面地址或地址格式不正确。")
    account = settings().accounts[account_name()]
    ticket = current_app.extensions["wechat"].client(account.name).jsapi_ticket()
    noncestr, timestamp = secrets.token_urlsafe(12), int(time.time())
    return jsonify(appId=account.app_id, timestamp=timestamp, nonceStr=noncestr,
                   signature=signature(ticket, noncestr, timestamp, url))

"""Sending SMS codes through a pluggable sender chosen by ``[sms] sender``.

``log`` (development and the sandbox) writes the code to the log and keeps the last messages in
memory so the sandbox phone and the tests can read them; ``http`` posts ``{phone, text}`` as JSON to
``[sms] endpoint`` with the API key — the shape most SMS gateways accept or can be proxied to.
"""

from __future__ import annotations

import collections
import logging

import requests
from flask import current_app, jsonify

from models import db

from . import config

log = logging.getLogger(__name__)


class LogSender:
    def __init__(self):
        self.sent: collections.deque = collections.deque(maxlen=200)

    def send(self, phone: str, text: str) -> None:
        self.sent.append((phone, text))
        log.info("SMS (development, not sent): %s", text)

    def last_to(self, phone: str) -> str | None:
        for to, text in reversed(self.sent):
            if to == phone:
                return text
        return None


class HttpSender:
    def __init__(self, endpoint: str, api_key: str):
        self.endpoint, self.api_key = endpoint, api_key

    def send(self, phone: str, text: str) -> None:
        res = requests.post(self.endpoint, json={"phone": phone, "text": text},
                            headers={"Authorization": f"Bearer {self.api_key}"}, timeout=5)
        res.raise_for_status()


def sender():
    app = current_app
    if "wx_sms" not in app.extensions:
        conf = config.settings(app).sms
        app.extensions["wx_sms"] = (HttpSender(conf.endpoint, conf.api_key) if conf.sender == "http"
                                    else LogSender())
    return app.extensions["wx_sms"]


def send_code(phone: str, code: str) -> None:
    sender().send(phone, f"【江海志愿】您的验证码是{code}，30分钟内有效。如非本人操作请忽略。")


def limits() -> dict:
    """What the code rules (``models.sms_code``) count codes with: the shared store and the daily cap."""
    return {"store": current_app.extensions["wx_store"], "daily_cap": config.settings().sms.daily_limit}


def code_sent(phone: str, code: str):
    """The JSON answer of a 获取验证码 call: the code is committed first, then sent (never one not stored)."""
    db.session.commit()
    send_code(phone, code)
    return jsonify(code="sent", message="验证码已发送，30分钟内有效。")

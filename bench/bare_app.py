"""The ceiling of this stack: Flask + wechatpy that only checks the signature, parses and replies.

Run by ``callback_throughput.py`` as ``gunicorn -w 2 bench.bare_app:app``; the tokens are the test accounts'.
"""

from __future__ import annotations

from flask import Flask, abort, request
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.replies import create_reply
from wechatpy.utils import check_signature

ACCOUNTS = {
    "demo": ("demotoken", None, "wxdemo0000000001"),
    "safe": ("spamtest", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wx2c2769f8efd9abc2"),
}
app = Flask(__name__)


@app.post("/wechat/<name>")
def receive(name):
    token, aes_key, app_id = ACCOUNTS[name]
    args = request.args
    try:
        check_signature(token, args.get("signature", ""), args.get("timestamp", ""), args.get("nonce", ""))
    except InvalidSignatureException:
        abort(403)
    body = request.get_data()
    crypto = WeChatCrypto(token, aes_key, app_id) if args.get("encrypt_type") == "aes" else None
    if crypto:
        body = crypto.decrypt_message(body, args.get("msg_signature", ""), args["timestamp"], args["nonce"])
    message = parse_message(body)
    xml = create_reply("收到", message).render()
    if crypto:
        xml = crypto.encrypt_message(xml, args["nonce"])
    return xml, 200, {"Content-Type": "application/xml; charset=utf-8"}

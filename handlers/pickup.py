"""礼品核销 by scanning (签到扫码, scancode_waitmsg): a pickup QR code from 我的兑换 is handed over at once.

``handlers.scan`` passes every payload that carries the pickup prefix here, before the check-in path;
the rule (the offering org's admins, once) is ``models.gifts.hand_over``.
"""

from __future__ import annotations

from models import RuleViolation, db
from models import gifts as gift_rules

from .context import compose


def on_pickup_scan(incoming, scanned: str) -> str:
    actor = incoming.volunteer
    redemption = gift_rules.find_by_scan(scanned)
    if redemption is None:
        return "无法识别该兑换码，请让志愿者在“我的兑换”中重新打开兑换二维码。"
    try:
        with db.session.begin_nested():
            gift_rules.hand_over(actor, redemption.id, proof=redemption.token, now=incoming.now)
    except RuleViolation as exc:
        return compose("“{gift}”核销未成功。{why}", gift=redemption.gift.name, why=exc.message)
    return compose("{name}兑换的“{gift}”已确认领取。", name=redemption.volunteer.masked_name,
                   gift=redemption.gift.name)

"""Text messages: kept for staff to answer (联系我们), with the usual links in the reply.

The service answers no free text by itself, so every text a follower sends is a message for staff: it
is stored (``models.contact``) and staff of the main account answer it from /m/admin/contact by
customer-service message, which WeChat allows for 48 hours after the follower's last action.
"""

from __future__ import annotations

from models import contact

from .context import join, link
from .router import router

RECEIVED = ("您的留言已收到，已转给江海志愿总站的工作人员，他们会在本公众号里回复您"
            "（微信只允许公众号在您最后一次发消息后的 48 小时内回复）。")


@router.route("text")
def on_text(incoming):
    contact.record_message(incoming.follower, getattr(incoming.message, "content", ""), incoming.now)
    return join([
        RECEIVED,
        "常用功能：",
        link(incoming.page_url("projects"), "做志愿（活动报名）"),
        link(incoming.page_url("checkin"), "打卡签到"),
        link(incoming.page_url("bind"), "账号绑定"),
        link(incoming.page_url("me"), "个人中心"),
    ])

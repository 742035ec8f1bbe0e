"""Text messages: a short help reply with links."""

from __future__ import annotations

from .context import join, link
from .router import router


@router.route("text")
def on_text(incoming):
    return join([
        "您好，这里是江海志愿。常用功能：",
        link(incoming.page_url("projects"), "做志愿（活动报名）"),
        link(incoming.page_url("checkin"), "打卡签到"),
        link(incoming.page_url("bind"), "账号绑定"),
        link(incoming.page_url("me"), "个人中心"),
    ])

"""CLICK keys of the menus (page buttons are ``view`` buttons and never reach the callback)."""

from __future__ import annotations

from menus import keys

from .context import compose, link
from .router import router


@router.route("event", "click", keys.MY_QRCODE)
def on_my_qrcode(incoming):
    if not incoming.bound:
        return compose("您还没有绑定志愿者账号，请先{bind}。", bind=link(incoming.page_url("bind"), "绑定"))
    return link(incoming.page_url("me/qrcode"), "点此查看我的志愿者二维码")


@router.route("event", "click", keys.CONTACT)
def on_contact(incoming):
    return compose("江海志愿服务总站\n请直接在对话框里输入文字留言。留言会保存下来，转给总站的工作人员，"
                   "他们会在本公众号里回复您（微信只允许公众号在您最后一次发消息后的 48 小时内回复）。\n{home}",
                   home=link(incoming.page_url(""), "江海志愿首页"))


@router.route("event", "click", keys.DEMAND)
def on_demand(incoming):
    """需求征集 (part 4 §三.2): the link to the need form; anyone may submit, no volunteer account needed."""
    return compose("群众需求征集：选择身边的实践阵地，说说您需要什么服务。\n{form}\n{mine}",
                   form=link(incoming.page_url("practice/needs/new"), "点此提交需求"),
                   mine=link(incoming.page_url("practice/needs/mine"), "我的需求"))


@router.route("event", "click", keys.ORDER)
def on_order(incoming):
    """群众点单 (part 4 §三.3): the link to the activity menus open for orders."""
    return compose("群众点单：各实践阵地发布的活动菜单，按需预约。\n{plans}\n{mine}",
                   plans=link(incoming.page_url("practice/plans"), "点此浏览活动菜单"),
                   mine=link(incoming.page_url("practice/orders/mine"), "我的点单"))


@router.route("event", "click")
def on_unknown_click(incoming):
    return compose("该功能暂不可用。{home}", home=link(incoming.page_url(""), "进入江海志愿首页"))

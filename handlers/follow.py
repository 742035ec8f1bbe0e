"""subscribe, unsubscribe and SCAN (a parametric QR code, also when it made the user follow)."""

from __future__ import annotations

from .context import compose, join, link
from .router import router


def welcome(incoming) -> str:
    lines = ["欢迎关注江海志愿！"]
    if not incoming.bound:
        lines.append(compose("请先{bind}，还不是志愿者？{register}。",
                             bind=link(incoming.page_url("bind"), "绑定志愿者账号"),
                             register=link(incoming.page_url("register"), "注册志愿者")))
    else:
        lines.append(compose("您已绑定志愿者账号，{home}。", home=link(incoming.page_url(""), "进入首页")))
    lines.append(link(incoming.page_url(""), "江海志愿首页"))
    return join(lines)


def _subscribe(incoming) -> None:
    if not incoming.new_follower:  # a row made by this callback was made following
        incoming.follower.subscribe(incoming.now)


@router.route("event", "subscribe")
def on_subscribe(incoming):
    _subscribe(incoming)
    return welcome(incoming)


@router.route("event", "subscribe_scan")
def on_subscribe_scan(incoming):
    """A ``qrscene_`` key: following through a parametric QR code is handled like SCAN."""
    _subscribe(incoming)
    return on_scan(incoming) or welcome(incoming)


@router.route("event", "unsubscribe")
def on_unsubscribe(incoming):
    incoming.follower.unsubscribe(incoming.now)
    return None


@router.route("event", "scan")
def on_scan(incoming):
    scene = getattr(incoming.message, "scene_id", None) or getattr(incoming.message, "key", "")
    return compose("已收到扫码（{scene}）。\n{home}", scene=scene, home=link(incoming.page_url(""), "进入江海志愿首页"))

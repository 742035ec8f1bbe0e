"""The demo city's 微心愿, built through the same model rules the pages use.

``seed_wishes(reviewer, claimer, account=…, publisher_openid=…)`` publishes a handful of wishes as
the sandbox phone's non-volunteer openid (``o_demo_elder``): two wait for review, one was rejected
with a reason, three are open and one is claimed by ``claimer`` with a plan.  ``reviewer`` must be
an admin of an org covering 崇川区/海门区/如东县 (the root admin covers every district; call it after
``seed_orgs``).  Others' wishes come from made-up openids so 我的心愿 of the phone stays short.
Does not commit.
"""

from __future__ import annotations

from datetime import timedelta

from models import wish_rules

from ... import clock
from ...config import settings
from ...pages.fields import parse
from ...pages.wishes import WISH_FORM

BASE = {"gender": "F", "situation": "", "phone": "13813761402"}  # the demo elder's mobile

#: (openid suffix or None for the publisher, fields, fate)
WISHES = [
    (None, {"name": "王秀英", "district": "崇川区", "street": "和平桥街道", "age": "85", "address": "和平桥新村5幢102室",
            "situation": "独居老人，子女在外地工作", "content": "希望有人陪我去医院复查"}, "pending"),
    ("a", {"name": "陈建国", "district": "海门区", "street": "三厂街道", "age": "69", "gender": "M",
           "address": "三厂街道新园路18号", "situation": "腿脚不便，行动困难", "phone": "15862738815",
           "content": "想要一副合适的拐杖"}, "pending"),
    (None, {"name": "王秀英", "district": "崇川区", "street": "和平桥街道", "age": "85", "address": "和平桥新村5幢102室",
            "situation": "想和老朋友视频", "content": "想学会用智能手机视频通话"}, "rejected"),
    ("b", {"name": "刘小雨", "district": "崇川区", "street": "城东街道", "age": "9", "address": "城东街道学苑小区3幢",
           "situation": "父母务工，由奶奶照顾", "phone": "18962871130",
           "content": "想要一套课外读物"}, "open"),
    ("c", {"name": "周桂兰", "district": "如东县", "street": "掘港街道", "age": "83", "address": "掘港街道人民路66号",
           "situation": "老伴去世，一个人生活", "phone": "13706289547",
           "content": "希望有人帮忙修一修家里的收音机"}, "open"),
    (None, {"name": "王秀英", "district": "崇川区", "street": "和平桥街道", "age": "85", "address": "和平桥新村5幢102室",
            "situation": "冬天家里冷", "content": "想要一床厚棉被"}, "open"),
    ("d", {"name": "孙立", "district": "崇川区", "street": "任港街道", "age": "45", "gender": "M",
           "address": "任港街道北濠花园2幢", "situation": "残疾人，居家就业", "phone": "15051341266",
           "content": "希望有人教我做网店"}, "claimed"),
]


def seed_wishes(reviewer, claimer, *, account: str = "demo", publisher_openid: str = "o_demo_elder",
                now=None) -> list:
    """Publish, review and claim the demo wishes; returns them in ``WISHES`` order."""
    now = now or clock.now()
    made = []
    for index, (suffix, fields, fate) in enumerate(WISHES):
        at = now - timedelta(days=len(WISHES) - index)
        openid = publisher_openid if suffix is None else f"o_demo_wisher_{suffix}"
        wish = wish_rules.publish(account, openid, parse(WISH_FORM, {**BASE, **fields}), now=at)
        if fate == "rejected":
            wish_rules.reject(reviewer, wish.id, "心愿描述不够具体，请写明需要的帮助", now=at + timedelta(hours=2))
        elif fate in ("open", "claimed"):
            wish_rules.approve(reviewer, wish.id, now=at + timedelta(hours=2))
        if fate == "claimed":
            wish_rules.claim(claimer, wish.id, "每周六下午上门，手把手教开店和上架商品", now=at + timedelta(hours=5),
                             tz=settings().app.timezone)
        made.append(wish)
    return made

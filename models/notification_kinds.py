"""The kinds of notification the code sends, each with the template keywords it fills.

``[accounts.NAME.templates]`` maps these kind names to template ids; a configured kind that is not
listed here is logged as a warning at start-up, not refused.

``TEMPLATE_FIELDS`` says, per kind, which keyword of the template each value of the notification's
``data`` fills: ``(keyword, data field, label)``.  Operators pick, in WeChat's template library, a
template whose keywords match (e.g. ``thing1`` 项目名称, ``time2`` 活动时间); the label is what the
inbox and the customer-service text show beside the value.  Values are cut to the keyword's limit
(WeChat's format since May 2023: no ``first``/``remark``, ``thing`` ≤ 20 characters, …).
"""

from __future__ import annotations

import re

KNOWN_KINDS: dict[str, str] = {
    "help_request": "一喊就来：结对老人发起求助",
    "help_escalation": "一喊就来：求助24小时无人认领",
    "help_assigned": "一喊就来：管理员指派求助",
    "help_claimed": "一喊就来：求助已有志愿者认领",
    "help_done": "一喊就来：求助已完成",
    "signup_accepted": "报名已录取",
    "signup_rejected": "报名未通过",
    "signup_cancelled": "报名被管理员取消",
    "signup_promoted": "候补转为录取",
    "signup_invited": "被邀请参加项目",
    "activity_reminder": "活动即将开始",
    "project_changed": "报名的项目时间或地点变更",
    "project_revoked": "报名的项目被退回或撤销",
    "project_deleted": "报名的项目已删除",
    "makeup_result": "补签审核结果",
    "objection_result": "异议处理结果",
    "join_result": "加入组织审核结果",
    "org_review_result": "组织审核结果",
    "project_review_result": "项目审核结果",
    "wish_review_result": "微心愿审核结果",
    "wish_claimed": "微心愿已被认领",
    "wish_released": "微心愿认领被放弃",
    "wish_completed": "微心愿已完成",
    "star_level_reached": "志愿者星级晋升",
    "attendance_ask": "活动前确认是否参加",
    "project_message": "项目管理员的通知",
    # 新时代文明实践 (models/practice)
    "practice_need_new": "文明实践：收到群众需求",
    "practice_need_update": "文明实践：需求处理进展",
    "practice_order_new": "文明实践：收到群众点单",
    "practice_order_update": "文明实践：点单处理进展",
    "practice_order_dispatched": "文明实践：中心派单",
    "practice_rating_request": "文明实践：请为服务评价",
    "practice_low_rating": "文明实践：群众评价较低",
    "closure_reminder": "项目结项提醒",
}

_REVIEW = (("phrase2", "result", "审核结果"), ("thing3", "reason", "说明"))

# kind -> ((template keyword, data field, label), ...)
TEMPLATE_FIELDS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "help_request": (("thing1", "elder", "求助人"), ("thing2", "content", "求助内容"), ("time3", "time", "求助时间")),
    "help_escalation": (("thing1", "elder", "求助人"), ("thing2", "content", "求助内容"),
                        ("time3", "time", "求助时间")),
    "help_assigned": (("thing1", "elder", "求助人"), ("thing2", "content", "求助内容"), ("thing3", "admin", "指派人")),
    "help_claimed": (("thing1", "elder", "求助人"), ("name2", "volunteer", "认领志愿者"), ("time3", "time", "认领时间")),
    "help_done": (("thing1", "elder", "求助人"), ("name2", "volunteer", "志愿者"), ("time3", "time", "完成时间"),
                  ("thing4", "note", "情况说明")),
    "signup_accepted": (("thing1", "project", "项目名称"), ("time2", "time", "活动时间"), ("thing3", "place", "活动地点")),
    "signup_rejected": (("thing1", "project", "项目名称"), ("thing2", "reason", "原因")),
    "signup_cancelled": (("thing1", "project", "项目名称"), ("thing2", "reason", "原因")),
    "signup_promoted": (("thing1", "project", "项目名称"), ("time2", "time", "活动时间")),
    "signup_invited": (("thing1", "project", "项目名称"), ("thing2", "org", "邀请组织"), ("time3", "time", "活动时间")),
    "activity_reminder": (("thing1", "project", "项目名称"), ("time2", "time", "开始时间"), ("thing3", "place", "活动地点")),
    "project_changed": (("thing1", "project", "项目名称"), ("time2", "time", "活动时间"), ("thing3", "place", "活动地点"),
                        ("thing4", "change", "变更内容")),
    "project_revoked": (("thing1", "project", "项目名称"), ("thing2", "reason", "说明")),
    "project_deleted": (("thing1", "project", "项目名称"), ("thing2", "reason", "说明")),
    "makeup_result": (("thing1", "project", "项目名称"), *_REVIEW),
    "objection_result": (("thing1", "subject", "异议事项"), ("phrase2", "result", "处理结果"), ("thing3", "reason", "说明")),
    "join_result": (("thing1", "org", "组织名称"), *_REVIEW),
    "org_review_result": (("thing1", "org", "组织名称"), *_REVIEW),
    "project_review_result": (("thing1", "project", "项目名称"), *_REVIEW),
    "wish_review_result": (("thing1", "wish", "心愿名称"), *_REVIEW),
    "wish_claimed": (("thing1", "wish", "心愿名称"), ("name2", "volunteer", "认领人"), ("time3", "time", "认领时间")),
    "wish_released": (("thing1", "wish", "心愿名称"), ("thing2", "reason", "原因")),
    "wish_completed": (("thing1", "wish", "心愿名称"), ("time2", "time", "完成时间")),
    "star_level_reached": (("thing1", "level", "星级"), ("number2", "hours", "累计时长（小时）")),
    "attendance_ask": (("thing1", "project", "项目名称"), ("time2", "time", "活动时间"), ("thing3", "place", "活动地点")),
    "project_message": (("thing1", "project", "项目名称"), ("thing2", "content", "通知内容"), ("thing3", "org", "发送组织")),
    "practice_need_new": (("thing1", "title", "需求标题"), ("thing2", "place", "实践阵地"), ("time3", "time", "提交时间")),
    "practice_need_update": (("thing1", "title", "需求标题"), ("phrase2", "state", "处理状态"), ("thing3", "note", "说明")),
    "practice_order_new": (("thing1", "plan", "活动菜单"), ("thing2", "place", "实践阵地"), ("time3", "time", "点单时间")),
    "practice_order_update": (("thing1", "plan", "活动菜单"), ("phrase2", "state", "处理状态"), ("thing3", "note", "说明")),
    "practice_order_dispatched": (("thing1", "plan", "活动菜单"), ("thing2", "place", "派单阵地"),
                                  ("thing3", "note", "服务要求")),
    "practice_rating_request": (("thing1", "plan", "活动菜单"), ("thing2", "project", "服务项目")),
    "practice_low_rating": (("thing1", "plan", "活动菜单"), ("thing2", "place", "实践阵地"), ("number3", "stars", "评价星级"),
                            ("thing4", "comment", "评价内容")),
    "closure_reminder": (("thing1", "project", "项目名称"), ("thing2", "note", "提醒内容")),
}

ELLIPSIS = "…"
# keyword type -> (limit, marker appended when cut).  WeChat checks the characters of some types
# (digits only, ASCII only, Han only), so those are cut without a marker or with an ASCII one.
KEYWORD_LIMITS: dict[str, tuple[int, str]] = {
    "thing": (20, ELLIPSIS),
    "character_string": (32, "..."),
    "phrase": (5, ""),
    "name": (10, ELLIPSIS),  # 20 when the name is plain ASCII
    "number": (32, ""),
    "phone_number": (17, ""),
    "car_number": (8, ELLIPSIS),
    "letter": (32, ""),
    "symbol": (5, ""),
}


def keyword_type(keyword: str) -> str:
    """``thing12`` → ``thing``."""
    return re.sub(r"\d+$", "", keyword)


def fit_keyword(keyword: str, value) -> str:
    """``value`` as text within the limit of ``keyword``'s type, cut with an ellipsis when too long."""
    text = " ".join(str(value).split()) if value is not None else ""
    kind = keyword_type(keyword)
    if kind not in KEYWORD_LIMITS:
        return text
    limit, marker = KEYWORD_LIMITS[kind]
    if kind == "name" and text.isascii():
        limit = 20
    if len(text) <= limit:
        return text
    return text[: limit - len(marker)] + marker


def template_data(kind: str, data: dict) -> dict:
    """The ``data`` of a template message: ``{"thing1": {"value": …}, …}``; absent values are left out."""
    out = {}
    for keyword, field, _label in TEMPLATE_FIELDS.get(kind, ()):
        value = data.get(field)
        if value is None or value == "":
            continue
        out[keyword] = {"value": fit_keyword(keyword, value)}
    return out


def lines(kind: str, data: dict) -> list[tuple[str, str]]:
    """(label, full value) pairs for the inbox and customer-service text, in template order."""
    out = []
    for _keyword, field, label in TEMPLATE_FIELDS.get(kind, ()):
        value = data.get(field)
        if value is not None and value != "":
            out.append((label, str(value)))
    return out


def title(kind: str) -> str:
    return KNOWN_KINDS.get(kind, kind)

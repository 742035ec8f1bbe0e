"""The kinds of notification the code sends, each with the template keywords it fills.

``[accounts.NAME.templates]`` maps these kind names to template ids; a configured kind that is not
listed here is logged as a warning at start-up, not refused.
"""

KNOWN_KINDS: dict[str, str] = {
    "help_request": "一喊就来：结对老人发起求助",
    "help_escalation": "一喊就来：求助24小时无人认领",
    "help_assigned": "一喊就来：管理员指派求助",
    "help_claimed": "一喊就来：求助已有志愿者认领",
    "signup_accepted": "报名已录取",
    "signup_rejected": "报名未通过",
    "signup_cancelled": "报名被管理员取消",
    "signup_promoted": "候补转为录取",
    "signup_invited": "被邀请参加项目",
    "activity_reminder": "活动即将开始",
    "makeup_result": "补签审核结果",
    "objection_result": "异议处理结果",
    "join_result": "加入组织审核结果",
    "org_review_result": "组织审核结果",
    "project_review_result": "项目审核结果",
    "wish_review_result": "微心愿审核结果",
    "wish_claimed": "微心愿已被认领",
    "wish_released": "微心愿认领被放弃",
    "wish_completed": "微心愿已完成",
}

"""管理权限: the one check of what an org admin may do (manual part 1 §二.3, part 2 §三.2).

An admin of org X acts on X and everything below X, and on nothing else; the admin's own org must
have passed review.  Three kinds of action:

- ``SELF_AND_BELOW``: on X itself or any org below it (members, groups, its information);
- ``BELOW_ONLY``: on an org strictly below X (a superior's powers: review, admins, 注销);
- ``LEVEL2_BELOW``: like ``BELOW_ONLY``, and only when X is a level-2 org (活动免审).
"""

from __future__ import annotations

from .base import RuleViolation
from .organization import ACTIVE, admin_org_of

SELF_AND_BELOW = frozenset({
    "view_members",       # 成员管理: see the member lists and a member's profile
    "manage_members",     # 审核新成员, 移出本组织
    "manage_groups",      # 成员分组
    "edit_org",           # 组织信息修改 (own org: reviewed fields wait for approval)
    "found_suborg",       # set up an org below (the target is the would-be parent)
    "review_wish",        # 微心愿审核 (the target is the org covering the wish's district)
    "manage_help_seekers",  # 一喊就来: record / edit seekers and pairings, see them whole, assign requests
    "publish_project",    # 项目发布 (the target is the admin's own org)
    "edit_project",       # 修改 a project of this org or below
    "delete_project",     # 删除 a project (refused once anyone checked in)
    "review_signups",     # 报名审核: approve / reject / cancel signups (temporary admins too, on their project)
    "invite_volunteers",  # 邀请/招募 members without review
    "locate_project",     # 定位: add a point to a project (temporary admins too)
    "scan_assist",        # 扫码辅助签到 (temporary admins too)
    "review_makeups",     # 补签审核 (the project's org admins and above)
    "handle_objections",  # 时长异议: uphold or dismiss objections to a project's hours
    "view_stats",         # 志愿活动统计, 成员服务概况, 异常数据, exports of members and hours
    "close_project",      # 结项: publish a finished project's summary and photos
    "revoke_certificate",  # 撤销 a 志愿服务记录证明 issued in the name of this org or one below
    "print_certificate",  # 证书打印 on 参与成员: a participant's certificate of a project of this org or one below
    "manage_gifts",       # 礼遇坊: offer / withdraw gifts, hand redeemed ones over
})
BELOW_ONLY = frozenset({
    "review_org",            # 待审申请组织
    "review_change",         # 待审变更组织
    "manage_admins",         # 新增 / 注销子组织管理员
    "reset_admin_password",  # 重置子组织管理员密码
    "deregister_org",        # 注销组织
    "review_help_seeker",    # 一喊就来: approve a station's seeker (上级实践所)
    "review_project",        # 项目审核: approve or delete a sub-org's pending project
    "revoke_project",        # 退回/撤销 an approved project of a sub-org (its publisher may too)
})
LEVEL2_BELOW = frozenset({"set_review_exempt"})  # 设置 / 取消活动免审
ACTIONS = SELF_AND_BELOW | BELOW_ONLY | LEVEL2_BELOW


def can(volunteer, action: str, org, *, now=None) -> bool:
    """May ``volunteer`` (a Volunteer or None) do ``action`` on ``org`` (an Organization)?"""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if volunteer is None or org is None:
        return False
    own = admin_org_of(volunteer.id)
    if own is None or own.status != ACTIVE or not org.path.startswith(own.path):
        return False
    if action in SELF_AND_BELOW:
        return True
    if org.id == own.id:
        return False
    if action in LEVEL2_BELOW:
        return own.level == 2
    return True


def require(volunteer, action: str, org, *, now=None, message: str = "您没有管理该组织的权限。") -> None:
    """``can`` or raise ``RuleViolation('forbidden', message)``."""
    if not can(volunteer, action, org, now=now):
        raise RuleViolation("forbidden", message, 403)

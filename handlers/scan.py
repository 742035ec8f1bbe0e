"""签到扫码 (scancode_waitmsg, key SCAN_CHECKIN): an admin scans a volunteer's QR code in chat.

A pickup code of 礼遇坊 (``models.gifts.QR_PREFIX``) goes to ``handlers.pickup`` instead.
The scanned payload is the volunteer's dynamic code from 个人中心 (a stale screenshot, or the printed
card's static code, is refused with the reason); it names the volunteer; the admin's 单签 project running now signs them in (the
rule is ``models.attendance.punches.scan_assist``).  Several candidates: the reply lists them with numbered
links to a page that completes the sign-in.  Only database work happens here: well inside 5 s.
The link carries the signed token as ``scanned``: an admin with no session goes through OAuth,
which adds and strips ``code`` and ``state`` (see ``wx_service.wechat.oauth.OAUTH_PARAMS``).
"""

from __future__ import annotations

from flask import current_app
from itsdangerous import URLSafeTimedSerializer

from menus import keys
from models import RuleViolation, db, gifts, volunteer_qr
from models.attendance import punches as att_punches
from models.integrity import audit_log, codes

from .context import compose, join, link
from .pickup import on_pickup_scan
from .router import router

SCAN_LINK_SALT = "scan-assist"
SCAN_LINK_MAX_AGE = 600  # seconds a numbered link stays valid
CHAT_ORIGIN = audit_log.Origin(channel="chat", user_agent="微信对话 扫一扫（scancode_waitmsg）")


def scan_link_token(actor_id: int, volunteer_id: int) -> str:
    """A signed, short-lived token naming the scanned volunteer (the raw QR payload never goes in a URL)."""
    return URLSafeTimedSerializer(current_app.secret_key, salt=SCAN_LINK_SALT).dumps([actor_id, volunteer_id])


def read_scan_link_token(token: str, actor_id: int) -> int | None:
    """The volunteer id of a token made for ``actor_id`` and still fresh, else None."""
    try:
        made_for, volunteer_id = URLSafeTimedSerializer(current_app.secret_key, salt=SCAN_LINK_SALT).loads(
            token, max_age=SCAN_LINK_MAX_AGE)
    except Exception:
        return None
    return int(volunteer_id) if made_for == actor_id else None


def _rules(settings) -> att_punches.Rules:
    return att_punches.rules_of(settings)


@router.route("event", "scancode_waitmsg", keys.SCAN_CHECKIN)
def on_scan_checkin(incoming):
    actor, now = incoming.volunteer, incoming.now
    if actor is None:
        return compose("您还没有绑定志愿者账号，请先{bind}。", bind=link(incoming.page_url("bind"), "绑定"))
    try:
        info = incoming.message.scan_code_info or {}
        scanned = info.get("ScanResult", "") if isinstance(info, dict) else ""
    except (AttributeError, KeyError):
        scanned = ""
    if gifts.is_pickup_code(scanned):
        return on_pickup_scan(incoming, scanned)
    if not att_punches.may_scan(actor, now=now):
        return "扫码签到仅限项目所属组织（及上级组织）的管理员或项目临时管理员使用。"
    try:
        volunteer, _ = volunteer_qr.scanned_volunteer(
            scanned, codes.derive_key(current_app.secret_key, codes.PERSONAL_PURPOSE), now)
    except RuleViolation as exc:
        return exc.message
    rules = _rules(incoming.settings)
    try:
        targets = att_punches.scan_targets(actor, volunteer, now=now, tz=rules.tz)
    except RuleViolation as exc:
        return compose("{name}：签到未成功。{why}", name=volunteer.masked_name, why=exc.message)
    if len(targets) > 1:
        token = scan_link_token(actor.id, volunteer.id)
        lines = [compose("{n}. {project}", n=n, project=link(incoming.page_url(f"admin/scan/{p.id}", scanned=token),
                                                             p.name))
                 for n, p in enumerate(targets, 1)]
        return join([compose("{name}报名了您管理的多个正在进行的活动，请选择要签到的活动：", name=volunteer.masked_name),
                     *lines])
    project = targets[0]
    try:
        with db.session.begin_nested():
            cycle = att_punches.scan_assist(actor, project.id, volunteer, now=now, rules=rules, origin=CHAT_ORIGIN)
    except RuleViolation as exc:
        return compose("{name}：“{project}”签到未成功。{why}", name=volunteer.masked_name, project=project.name,
                       why=exc.message)
    return compose("{name}：“{project}”签到成功，计{hours}小时。", name=volunteer.masked_name, project=project.name,
                   hours=cycle.hours)

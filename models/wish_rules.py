"""微心愿 rules: wishes anyone may publish, admins approve, volunteers claim and fulfil (part 3 §二.10).

The publisher is a WeChat user, (account, openid) from OAuth — no volunteer account is needed.
A wish goes

    pending ──approve──▶ open ──claim──▶ claimed ──complete──▶ completed ──confirm──▶ confirmed
       └──reject──▶ rejected       ▲          │                     └──14 days──▶ closed
                                   └─release──┘

Approval belongs to an admin of the org covering the wish's district (the active level-2 org of
that region, or an ancestor of it; the root when the district has no org of its own), checked by
``permissions.can(…, "review_wish", org)``.  Every move is a conditional ``UPDATE … WHERE state =
…`` whose row count decides, so two volunteers claiming at once cannot both win, on SQLite and
PostgreSQL alike.  Nothing here commits.  The tables and plain reads stand below, in ``models.wish``.

Notifications: the publisher is told (review result, claimed, completed) only when their
(account, openid) is bound to a volunteer, since ``notify`` — the one way anything is sent — is
addressed to a volunteer; an unbound publisher reads the same news on 我的心愿.  The admins of the
org that approved the wish are told when it is claimed, released and completed.
"""


from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from . import identity, media, regions
from .base import RuleViolation, check_length, db, get_or_refuse
from .notification import notify, notify_many
from .organization import OrgAdmin, admin_org_of
from .volunteer import Binding, Volunteer
from .wish import (
    CLAIMED,
    CLOSED,
    COMPLETED,
    CONFIRM_WITHIN,
    CONFIRMED,
    LABELS,
    LIMITS,
    MAX_PENDING_PER_PUBLISHER,
    MAX_PHOTOS,
    OPEN,
    PENDING,
    PHOTO,
    REJECTED,
    Wish,
    WishLog,
    WishPhoto,
    reviewing_org,
)


# ------------------------------------------------------------------------------ validation
def _text(fields: dict, key: str) -> str:
    value = fields.get(key)
    value = "" if value is None else str(value).strip()
    if not value:
        raise RuleViolation(f"wish_{key}_missing", f"请填写{LABELS[key]}。")
    return check_length(f"wish_{key}", LABELS[key], value, LIMITS[key])


# --------------------------------------------------------------------------------- helpers
def get_wish(wish_id) -> Wish:
    return get_or_refuse(Wish, wish_id, "wish_not_found", "心愿不存在。")


def _log(wish_id: int, action: str, actor_id: int | None, note: str, now) -> None:
    db.session.add(WishLog(wish_id=wish_id, action=action, actor_id=actor_id, note=note or "", at=now))


def _move(wish: Wish, from_states, values: dict, *, extra=None) -> bool:
    """The conditional UPDATE every move goes through: True if this call moved the wish."""
    if isinstance(from_states, str):
        from_states = (from_states,)
    condition = [Wish.id == wish.id, Wish.state.in_(from_states)]
    if extra is not None:
        condition.append(extra)
    result = db.session.execute(update(Wish).where(*condition).values(**values)
                                .execution_options(synchronize_session=False))
    db.session.expire(wish)
    return result.rowcount == 1


def _local_text(moment: datetime, tz: str) -> str:
    return moment.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def _link(wish: Wish) -> str:
    return f"/m/wishes/{wish.id}"


def publisher_volunteer_id(wish: Wish) -> int | None:
    """The volunteer bound to the publisher's (account, openid), if any: the only one ``notify`` can reach."""
    volunteer = Binding.volunteer_for(wish.account, wish.openid)
    return volunteer.id if volunteer else None


def _tell_publisher(wish: Wish, kind: str, data: dict, key: str) -> None:
    volunteer_id = publisher_volunteer_id(wish)
    if volunteer_id:
        notify(volunteer_id, kind, data, link=_link(wish), cause=f"wish:{wish.id}", key=key)


def approving_admin_ids(wish: Wish) -> list[int]:
    """The admins of the org that approved the wish (the approver first)."""
    ids = [wish.reviewed_by_id] if wish.reviewed_by_id else []
    if wish.reviewed_org_id:
        ids += [row.volunteer_id for row in OrgAdmin.query.filter_by(org_id=wish.reviewed_org_id)
                .order_by(OrgAdmin.id)]
    return list(dict.fromkeys(ids))


def _tell_admins(wish: Wish, kind: str, data: dict, key_prefix: str) -> None:
    ids = approving_admin_ids(wish)
    if ids:
        notify_many(ids, kind, data, link=f"/m/admin/wishes/{wish.id}", cause=f"wish:{wish.id}",
                    key_prefix=key_prefix)



def _require_review(volunteer, wish: Wish, now):
    if reviewing_org(volunteer, wish.district, now=now) is None:
        raise RuleViolation("forbidden", "您没有审核该地区心愿的权限。", 403)
    return admin_org_of(volunteer.id)


# ----------------------------------------------------------------------------------- rules
def publish(account: str, openid: str, fields: dict, *, now) -> Wish:
    """我有心愿: anyone signed in through OAuth publishes a wish; it waits for review.

    ``fields`` are the typed values of the publish form (图3-15; the pages' ``WISH_FORM`` checks each field
    alone): name, district, street, age (int), gender, phone, address, situation, content.  Here: the
    district and street must make a region, and the phone must be a contact phone (手机或固话).
    """
    if not account or not openid:
        raise RuleViolation("wish_no_person", "请在微信中打开本页面。", 403)
    district, street = fields["district"], fields.get("street") or ""
    if not regions.is_valid(district, street):
        raise RuleViolation("wish_region_invalid", "所选地区不正确。")
    if not identity.is_contact_phone(fields["phone"]):
        raise RuleViolation("wish_phone_invalid", "电话格式不正确，请填写11位手机号或带区号的固定电话。")
    clean = {**fields, "district": district, "street": street}
    waiting = Wish.query.filter_by(account=account, openid=openid, state=PENDING).count()
    if waiting >= MAX_PENDING_PER_PUBLISHER:
        raise RuleViolation("wish_too_many_pending",
                            f"您已有{waiting}个心愿在等待审核，请审核后再发布新的心愿。", 429)
    wish = Wish(account=account, openid=openid, name=clean["name"], district=clean["district"],
                street=clean["street"], age=clean["age"], gender=clean["gender"], situation=clean["situation"],
                content=clean["content"], state=PENDING, created_at=now)
    wish.set_phone(clean["phone"])
    wish.set_address(clean["address"])
    db.session.add(wish)
    db.session.flush()
    _log(wish.id, "published", None, "", now)
    return wish


def approve(actor: Volunteer, wish_id: int, *, now) -> Wish:
    """审核通过: the wish is published in the list."""
    wish = get_wish(wish_id)
    own = _require_review(actor, wish, now)
    if not _move(wish, PENDING, {"state": OPEN, "reviewed_by_id": actor.id, "reviewed_org_id": own.id,
                                 "reviewed_at": now, "reject_reason": None}):
        raise RuleViolation("wish_not_pending", "该心愿不在待审核状态，可能已被其他管理员处理。", 409)
    _log(wish.id, "approved", actor.id, "", now)
    _tell_publisher(wish, "wish_review_result", {"wish": wish.title, "result": "已通过", "reason": "心愿已发布"},
                    key=f"wish:{wish.id}:review")
    return wish


def reject(actor: Volunteer, wish_id: int, reason: str, *, now) -> Wish:
    """审核不通过, with the reason the publisher reads on 我的心愿."""
    wish = get_wish(wish_id)
    reason = _text({"reason": reason}, "reason")
    own = _require_review(actor, wish, now)
    if not _move(wish, PENDING, {"state": REJECTED, "reviewed_by_id": actor.id, "reviewed_org_id": own.id,
                                 "reviewed_at": now, "reject_reason": reason}):
        raise RuleViolation("wish_not_pending", "该心愿不在待审核状态，可能已被其他管理员处理。", 409)
    _log(wish.id, "rejected", actor.id, reason, now)
    _tell_publisher(wish, "wish_review_result", {"wish": wish.title, "result": "未通过", "reason": reason},
                    key=f"wish:{wish.id}:review")
    return wish


def claim(volunteer: Volunteer, wish_id: int, plan: str, *, now, account: str | None = None,
          openid: str | None = None, tz: str = "Asia/Shanghai") -> Wish:
    """认领: a bound volunteer claims an open wish with a plan; exactly one claimer wins.

    ``account``/``openid`` are the claimer's own WeChat identity, to refuse claiming one's own wish.
    """
    wish = get_wish(wish_id)
    plan = _text({"plan": plan}, "plan")
    if wish.is_publisher(account, openid) or publisher_volunteer_id(wish) == volunteer.id:
        raise RuleViolation("wish_own", "不能认领自己发布的心愿。", 403)
    if wish.state != OPEN:
        raise RuleViolation("wish_not_open", "该心愿已被认领或暂不可认领。", 409)
    if not _move(wish, OPEN, {"state": CLAIMED, "claimer_id": volunteer.id, "claim_plan": plan,
                              "claimed_at": now}):
        raise RuleViolation("wish_not_open", "该心愿已被其他志愿者认领。", 409)
    _log(wish.id, "claimed", volunteer.id, plan, now)
    data = {"wish": wish.title, "volunteer": volunteer.masked_name, "time": _local_text(now, tz)}
    round_key = f"wish:{wish.id}:claim:{volunteer.id}:{now.isoformat()}"
    _tell_publisher(wish, "wish_claimed", data, key=round_key + ":publisher")
    _tell_admins(wish, "wish_claimed", {**data, "volunteer": volunteer.name}, round_key)
    return wish


def release(volunteer: Volunteer, wish_id: int, reason: str, *, now) -> Wish:
    """放弃认领 before completing, with a reason: the wish is open again and the admins are told."""
    wish = get_wish(wish_id)
    reason = _text({"reason": reason}, "reason")
    if wish.claimer_id != volunteer.id or wish.state != CLAIMED:
        raise RuleViolation("wish_not_yours", "只能放弃自己认领且尚未完成的心愿。", 409)
    if not _move(wish, CLAIMED, {"state": OPEN, "claimer_id": None, "claim_plan": None, "claimed_at": None},
                 extra=Wish.claimer_id == volunteer.id):
        raise RuleViolation("wish_not_yours", "只能放弃自己认领且尚未完成的心愿。", 409)
    _log(wish.id, "released", volunteer.id, reason, now)
    _tell_admins(wish, "wish_released", {"wish": wish.title, "reason": f"{volunteer.name}：{reason}"},
                 f"wish:{wish.id}:release:{volunteer.id}:{now.isoformat()}")
    return wish


def clean_server_ids(server_ids) -> list[str]:
    return media.clean_ids(server_ids, code="wish_photo", least=1, most=MAX_PHOTOS)


def complete(volunteer: Volunteer, wish_id: int, note: str, server_ids, *, account: str, now,
             tz: str = "Asia/Shanghai") -> Wish:
    """确认完成 (图3-20): the claimer reports with a note and ≥ 1 photo (JS-SDK serverIds of ``account``).

    The photos are media items (purpose ``wish_photo``), fetched by the one media job after commit.
    """
    wish = get_wish(wish_id)
    note = _text({"note": note}, "note")
    ids = clean_server_ids(server_ids)
    if wish.claimer_id != volunteer.id or wish.state != CLAIMED:
        raise RuleViolation("wish_not_yours", "只能完成自己认领的心愿。", 409)
    if not _move(wish, CLAIMED, {"state": COMPLETED, "completion_note": note, "completed_at": now},
                 extra=Wish.claimer_id == volunteer.id):
        raise RuleViolation("wish_not_yours", "只能完成自己认领的心愿。", 409)
    for item in media.receive_many(account, ids, PHOTO, now=now):
        db.session.add(WishPhoto(wish_id=wish.id, media_item_id=item.id))
    db.session.flush()
    _log(wish.id, "completed", volunteer.id, note, now)
    data = {"wish": wish.title, "time": _local_text(now, tz)}
    _tell_publisher(wish, "wish_completed", data, key=f"wish:{wish.id}:completed:publisher")
    _tell_admins(wish, "wish_completed", data, f"wish:{wish.id}:completed")
    return wish


def confirm(account: str, openid: str, wish_id: int, *, now) -> Wish:
    """确认收到: the publisher confirms a completed wish."""
    wish = get_wish(wish_id)
    if not wish.is_publisher(account, openid):
        raise RuleViolation("wish_not_publisher", "只有心愿发布人可以确认。", 403)
    if not _move(wish, COMPLETED, {"state": CONFIRMED, "confirmed_at": now}):
        raise RuleViolation("wish_not_completed", "该心愿尚未完成或已经确认。", 409)
    _log(wish.id, "confirmed", None, "", now)
    return wish


def due_for_close(now, limit: int = 1000) -> list[int]:
    """Completed wishes whose publisher has not confirmed within ``CONFIRM_WITHIN``."""
    query = (select(Wish.id).where(Wish.state == COMPLETED, Wish.completed_at <= now - CONFIRM_WITHIN)
             .order_by(Wish.id).limit(limit))
    return list(db.session.execute(query).scalars())


def close_unconfirmed(wish_id: int, *, now) -> bool:
    """Close one wish as completed if it is still unconfirmed past the deadline (idempotent)."""
    wish = db.session.get(Wish, wish_id)
    if wish is None:
        return False
    moved = _move(wish, COMPLETED, {"state": CLOSED, "closed_at": now},
                  extra=Wish.completed_at <= now - CONFIRM_WITHIN)
    if moved:
        _log(wish.id, "closed", None, f"发布人{CONFIRM_WITHIN.days}天内未确认，系统自动确认完成", now)
    return moved

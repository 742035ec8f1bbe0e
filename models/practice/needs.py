"""群众需求征集 (part 4 §二.4(1), §三.2): a resident submits a need to a nearby place; its admins
classify it (共性/个性, 实践类别), 处理 it (what was done, optionally the project that serves it) or
上报 it to the parent place, where it waits again.

    pending ──处理──▶ handled
       └──上报──▶ reported (at the parent) ──处理──▶ handled
                     └──上报──▶ reported (one more level up)

The phone is verified by an SMS code (``models.sms_code``, purpose ``need``) and stored encrypted.  The
optional photo is a ``wx.uploadImage`` serverId received by the one media pipeline (purpose
``practice_need_photo``); whoever may view the need sees it.
Every move is a conditional ``UPDATE … WHERE state IN (open) AND place_id = …`` whose row count decides,
so two admins acting at once cannot both win.  Nothing here commits.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update

from .. import identity, media, regions, sms_code
from ..base import RuleViolation, db, get_or_refuse
from ..project import Project
from . import places, telling
from .tables import (
    CATEGORIES,
    NEED_HANDLED,
    NEED_KINDS,
    NEED_OPEN,
    NEED_PENDING,
    NEED_PHOTO,
    NEED_REPORTED,
    Need,
)

MAX_OPEN_PER_SUBMITTER = 5  # needs waiting at once per WeChat user (a volunteer's 代录 not counted)
LIMITS = {"title": (2, 50), "name": (1, 20), "content": (2, 1000), "note": (2, 500)}
LABELS = {"title": "需求标题", "name": "您的姓名", "content": "服务需求", "note": "处理内容", "phone": "联系电话",
          "region": "所在地区", "place": "实践阵地", "sms_code": "验证码"}


@dataclass(frozen=True)
class NeedForm:
    """What the 需求征集 form sends, typed by the page (each field checked alone there)."""

    place_id: int
    title: str
    name: str
    phone: str
    region: str
    content: str
    sms_code: str
    on_behalf: bool = False  # 代录: a volunteer enters a resident's need


def text_of(value, key: str) -> str:
    text = " ".join(str(value or "").split()) if key != "content" and key != "note" else str(value or "").strip()
    low, high = LIMITS[key]
    if not text:
        raise RuleViolation(f"need_{key}_missing", f"请填写{LABELS[key]}。")
    if not low <= len(text) <= high:
        raise RuleViolation(f"need_{key}_invalid", f"{LABELS[key]}应为{low}至{high}个字。")
    return text


def get_need(need_id) -> Need:
    return get_or_refuse(Need, need_id, "need_not_found", "需求不存在。")


def _link(need: Need) -> str:
    return f"/m/practice/needs/{need.id}"


def request_code(phone: str, client_ip: str, now, *, store, daily_cap: int) -> tuple[str, str]:
    """Step 1: an SMS code to the phone the need gives; (the checked phone, the code)."""
    phone = identity.check_phone(phone)
    return phone, sms_code.issue(phone, "need", client_ip, now, store=store, daily_cap=daily_cap)


def submit(account: str, openid: str, form: NeedForm, *, photo_ids=(), recorder=None, now) -> Need:
    """需求提交: check every field, spend the SMS code, store the need at the chosen place (with its photo,
    ``photo_ids``: none or one serverId of ``account``)."""
    place = places.get_place(form.place_id)
    title, name, content = text_of(form.title, "title"), text_of(form.name, "name"), text_of(form.content, "content")
    photo_ids = media.clean_ids(photo_ids, code="need_photo", least=0, most=1)
    phone = identity.check_phone(form.phone)
    if form.region not in regions.DISTRICTS:
        raise RuleViolation("need_region_invalid", "请选择所在地区。")
    if form.on_behalf and recorder is None:
        raise RuleViolation("need_behalf_forbidden", "代录需求需要先绑定志愿者账号。", 403)
    if not form.on_behalf:
        waiting = Need.query.filter(Need.account == account, Need.openid == openid, Need.recorded_by_id.is_(None),
                                    Need.state.in_(NEED_OPEN)).count()
        if waiting >= MAX_OPEN_PER_SUBMITTER:
            raise RuleViolation("need_too_many", f"您已有{MAX_OPEN_PER_SUBMITTER}条需求正在处理，请等处理后再提交。", 409)
    sms_code.consume(phone, "need", form.sms_code, now)
    need = Need(place_id=place.id, origin_place_id=place.id, account=account, openid=openid, title=title, name=name,
                region=form.region, content=content, state=NEED_PENDING, created_at=now,
                recorded_by_id=recorder.id if form.on_behalf else None)
    need.set_phone(phone)
    if photo_ids:
        need.photo = media.receive(account, photo_ids[0], NEED_PHOTO, now=now)
    db.session.add(need)
    db.session.flush()
    telling.log("need", need.id, "submitted", place_id=place.id, actor_id=need.recorded_by_id,
                note="志愿者代录" if form.on_behalf else "", now=now)
    places.tell_admins(places.admin_ids(place), "practice_need_new",
                       {"title": title, "place": place.name, "time": now.strftime("%Y-%m-%d %H:%M")},
                       link=f"/m/admin/practice/needs/{need.id}", cause=f"need:{need.id}", key=f"need_new:{need.id}")
    return need


def _open_here(need: Need, actor) -> None:
    places.require_manage(actor, need.place)
    if need.state not in NEED_OPEN:
        raise RuleViolation("need_closed", "该需求已处理。", 409)


def _move(need: Need, values: dict) -> None:
    """The conditional UPDATE every move goes through (still open, still at the same place)."""
    moved = db.session.execute(
        update(Need).where(Need.id == need.id, Need.state.in_(NEED_OPEN), Need.place_id == need.place_id)
        .values(**values).execution_options(synchronize_session=False)).rowcount
    db.session.expire(need)
    if moved != 1:
        raise RuleViolation("need_changed", "该需求刚被其他管理员处理，请刷新后查看。", 409)


def classify(actor, need_id: int, *, kind: str, category: str, now) -> Need:
    """分析需求: 共性/个性 and the practice category (may be changed until the need is handled)."""
    need = get_need(need_id)
    _open_here(need, actor)
    if kind not in NEED_KINDS:
        raise RuleViolation("need_kind_invalid", "请选择共性需求或个性需求。")
    if category not in CATEGORIES:
        raise RuleViolation("need_category_invalid", "请选择实践类别。")
    need.kind, need.category = kind, category
    telling.log("need", need.id, "classified", place_id=need.place_id, actor_id=actor.id,
                note=f"{NEED_KINDS[kind]}，{category}", now=now)
    db.session.flush()
    return need


def handle(actor, need_id: int, *, note: str, project_id: int | None = None, now) -> Need:
    """处理: say what was done, optionally the project that serves the need; the submitter is told."""
    need = get_need(need_id)
    _open_here(need, actor)
    note = text_of(note, "note")
    if project_id is not None and db.session.get(Project, project_id) is None:
        raise RuleViolation("need_project_invalid", "所选项目不存在。")
    _move(need, {"state": NEED_HANDLED, "handled_note": note, "handled_by_id": actor.id, "handled_at": now,
                 "project_id": project_id})
    telling.log("need", need.id, "handled", place_id=need.place_id, actor_id=actor.id, note=note, now=now)
    telling.tell_submitter(need, "practice_need_update", {"title": need.title, "state": "已处理", "note": note},
                           link=_link(need), cause=f"need:{need.id}", also=need.recorded_by_id)
    return need


def report(actor, need_id: int, *, note: str = "", now) -> Need:
    """上报: hand a need this place cannot serve to the parent place, where it waits again."""
    need = get_need(need_id)
    _open_here(need, actor)
    parent = places.report_target(need.place, "need_no_parent", "实践中心没有上级阵地，请直接处理。")
    note = " ".join((note or "").split())[:200]
    _move(need, {"state": NEED_REPORTED, "place_id": parent.id})
    telling.log("need", need.id, "reported", place_id=parent.id, actor_id=actor.id, note=note, now=now)
    telling.tell_submitter(need, "practice_need_update",
                           {"title": need.title, "state": "已上报", "note": f"已转{parent.name}处理"},
                           link=_link(need), cause=f"need:{need.id}", also=need.recorded_by_id)
    places.tell_admins(places.admin_ids(parent), "practice_need_new",
                       {"title": need.title, "place": parent.name, "time": now.strftime("%Y-%m-%d %H:%M")},
                       link=f"/m/admin/practice/needs/{need.id}", cause=f"need:{need.id}",
                       key=f"need_reported:{need.id}:{parent.id}")
    return need


# ------------------------------------------------------------------------------------ reads
def queue(actor, *, state: str = "open", place_id: int | None = None) -> list[Need]:
    """群众需求 of the places this admin manages (open ones oldest first)."""
    managed = places.managed_places(actor)
    ids = [p.id for p in managed if place_id is None or p.id == place_id]
    if not ids:
        return []
    query = Need.query.filter(Need.place_id.in_(ids))
    if state == "open":
        query = query.filter(Need.state.in_(NEED_OPEN)).order_by(Need.created_at, Need.id)
    else:
        query = query.filter(Need.state == NEED_HANDLED).order_by(Need.handled_at.desc(), Need.id.desc())
    return query.limit(200).all()


def of_submitter(account: str, openid: str, volunteer=None) -> list[Need]:
    """我的需求: needs this WeChat user submitted, and those the volunteer entered for others."""
    condition = (Need.account == account) & (Need.openid == openid)
    if volunteer is not None:
        condition = condition | (Need.recorded_by_id == volunteer.id)
    return Need.query.filter(condition).order_by(Need.created_at.desc(), Need.id.desc()).limit(100).all()


def may_view(need: Need, account, openid, volunteer) -> bool:
    return (need.is_submitter(account, openid) or (volunteer is not None and need.recorded_by_id == volunteer.id)
            or (volunteer is not None and places.can_manage(volunteer, need.place)))



def reveal_phone(actor, need_id: int, *, now) -> str:
    """The whole phone of a need's submitter, for an admin of the place holding it; every view is logged."""
    need = get_need(need_id)
    places.require_manage(actor, need.place)
    telling.log("need", need.id, "phone_viewed", place_id=need.place_id, actor_id=actor.id, note="", now=now)
    return need.phone

"""一喊就来 求助: a seeker's voice call, its voice notes, and who comes (manual part 4 §三.1, 图4-19…4-21).

A call (``call_for_help``) opens a request and tells every paired volunteer and the station admins
at once (outbox rows in the same transaction) — the audio follows when the download job has
fetched and transcoded it.  A seeker cannot flood: a call while a request of theirs opened less than
``FLOOD_WINDOW`` ago is still open adds a voice note to that request instead.

States: ``open`` → ``claimed`` → ``done``; an ``open`` request unclaimed for 24 hours becomes
``escalated`` (the station admins are told again, once) and can still be claimed or assigned.
Exactly one volunteer wins a claim: the conditional ``UPDATE … WHERE state IN ('open', 'escalated')``
decides, the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from . import media, permissions, personal_data
from .base import RuleViolation, db, label_of, read_through
from .help_seeker import APPROVED, HelpSeeker, Pairing, is_station_admin, station_admin_ids
from .media import MediaItem
from .membership import APPROVED as MEMBER_APPROVED
from .membership import Membership
from .notification import Notification, notify, notify_many
from .organization import ACTIVE, Organization, admin_org_of, subtree_of
from .volunteer import Volunteer

OPEN, CLAIMED, DONE, ESCALATED = "open", "claimed", "done", "escalated"
STATES = (OPEN, CLAIMED, DONE, ESCALATED)
CLAIMABLE = (OPEN, ESCALATED)
STATE_LABELS = {OPEN: "等待认领", CLAIMED: "已认领", DONE: "已完成", ESCALATED: "超时未认领"}

FLOOD_WINDOW = timedelta(minutes=10)
ESCALATE_AFTER = timedelta(hours=24)
DONE_NOTE_MAX = 200

CHAT, JSSDK = "chat", "jssdk"
V_PENDING, V_READY, V_FAILED = "pending", "ready", "failed"
VOICE_STATES = {media.PENDING: V_PENDING, media.STORED: V_READY, media.FAILED: V_FAILED}
VOICE = media.purpose("help_voice", media.CHAT_VOICE, media.JSSDK_VOICE)
MAX_VOICE_SECONDS = 60


class HelpRequest(db.Model):
    """求助: one call of a seeker (with its later voice notes), and the volunteer who comes."""

    __tablename__ = "help_request"
    __table_args__ = (
        db.CheckConstraint("state IN ('open', 'claimed', 'done', 'escalated')", name="state"),
        db.Index("ix_help_request_seeker_id_opened_at", "seeker_id", "opened_at"),
        db.Index("ix_help_request_state_opened_at", "state", "opened_at"),
    )

    id = db.Column(db.Integer, primary_key=True)
    seeker_id = db.Column(db.Integer, db.ForeignKey("help_seeker.id", ondelete="CASCADE"), nullable=False)
    station_id = db.Column(db.Integer, db.ForeignKey("organization.id"), nullable=False, index=True)
    account = db.Column(db.String(64), nullable=False)  # where the call came from (media lives there)
    opened_at = db.Column(db.DateTime, nullable=False)
    state = db.Column(db.String(10), nullable=False, default=OPEN)
    claimer_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="SET NULL"))
    claimed_at = db.Column(db.DateTime)
    assigned_by_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="SET NULL"))
    escalated_at = db.Column(db.DateTime)
    done_at = db.Column(db.DateTime)
    done_note = db.Column(db.String(DONE_NOTE_MAX))

    seeker = db.relationship(HelpSeeker)
    claimer = db.relationship(Volunteer, foreign_keys=[claimer_id])
    assigned_by = db.relationship(Volunteer, foreign_keys=[assigned_by_id])

    state_label = label_of("state", STATE_LABELS)

    @property
    def claimable(self) -> bool:
        return self.state in CLAIMABLE

    @property
    def voice_notes(self) -> list[VoiceNote]:
        return VoiceNote.query.filter_by(request_id=self.id).order_by(VoiceNote.id).all()


class VoiceNote(db.Model):
    """语音: one recording of a request; its audio is a media item (purpose ``help_voice``), kept as MP3."""

    __tablename__ = "help_voice_note"

    id = db.Column(db.Integer, primary_key=True)
    request_id = db.Column(db.Integer, db.ForeignKey("help_request.id", ondelete="CASCADE"), nullable=False,
                           index=True)
    media_item_id = db.Column(db.Integer, db.ForeignKey("media_item.id", ondelete="RESTRICT"), nullable=False,
                              unique=True)
    created_at = db.Column(db.DateTime, nullable=False)

    item = db.relationship(MediaItem, lazy="joined")

    # read from its media item (the request page, tests)
    @property
    def state(self) -> str:
        return VOICE_STATES[self.item.state]

    ready = read_through("item", "stored")

    @property
    def source(self) -> str:
        return JSSDK if self.item.kind == media.JSSDK_VOICE else CHAT

    media_id = read_through("item", "media_id")
    attempts = read_through("item", "tries")
    mp3_path = read_through("item", "path")
    duration = read_through("item", "seconds")


# ---------------------------------------------------------------------------------- helpers
def _local(moment: datetime, tz: str) -> str:
    return moment.replace(tzinfo=UTC).astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def request_link(request_id: int) -> str:
    return f"/m/help/requests/{request_id}"


def get_request(request_id) -> HelpRequest:
    row = db.session.get(HelpRequest, request_id) if request_id else None
    if row is None:
        raise RuleViolation("request_not_found", "求助不存在。", 404)
    return row


def is_paired(volunteer, seeker_id: int) -> bool:
    if volunteer is None:
        return False
    return Pairing.query.filter_by(seeker_id=seeker_id, volunteer_id=volunteer.id).first() is not None


def may_view(volunteer, request: HelpRequest) -> bool:
    """The request page: paired volunteers, the claimer, and the admins of the station and above."""
    if volunteer is None:
        return False
    return (request.claimer_id == volunteer.id or is_paired(volunteer, request.seeker_id)
            or is_station_admin(volunteer, request.seeker))


def may_see_full(volunteer, request: HelpRequest) -> bool:
    """Phones, ID and emergency contact: station (and ancestor) admins, and this request's claimer."""
    if volunteer is None:
        return False
    return request.claimer_id == volunteer.id or is_station_admin(volunteer, request.seeker)


def require_view(volunteer, request_id: int) -> HelpRequest:
    request = get_request(request_id)
    if not may_view(volunteer, request):
        raise RuleViolation("forbidden", "这条求助只有结对志愿者和管理员可以查看。", 403)
    return request


def latest_of(seeker_id: int) -> HelpRequest | None:
    return (HelpRequest.query.filter_by(seeker_id=seeker_id)
            .order_by(HelpRequest.opened_at.desc(), HelpRequest.id.desc()).first())


def told_volunteers(request: HelpRequest) -> list[Volunteer]:
    """The volunteers the call was announced to (paired volunteers and station admins)."""
    return (Volunteer.query.join(Notification, Notification.volunteer_id == Volunteer.id)
            .filter(Notification.cause == f"help_request:{request.id}").order_by(Notification.id).all())


def _note_data(request: HelpRequest, tz: str) -> dict:
    return {"elder": request.seeker.masked_name, "content": "语音求助，请尽快查看并认领",
            "time": _local(request.opened_at, tz)}


# ---------------------------------------------------------------------------------- the call
def call_for_help(seeker: HelpSeeker, media_id: str, source: str, account: str, *, now,
                  tz: str = "Asia/Shanghai") -> tuple[HelpRequest, VoiceNote, bool]:
    """A voice call of ``seeker``: (request, its new voice note, whether the request is new).

    A media already recorded (a repeated upload) returns its note again and changes nothing.
    """
    if source not in (CHAT, JSSDK):
        raise ValueError(f"unknown voice source {source!r}")
    media_id = (media_id or "").strip()
    if not media_id or len(media_id) > 128:
        raise RuleViolation("media_invalid", "没有收到语音，请按住按钮再说一遍。")
    if seeker.state != APPROVED:
        raise RuleViolation("seeker_not_approved", "您的资料还在审核中，审核通过后就可以求助了。请联系社区实践站。", 403)
    # Serialise this seeker's calls: the row lock (PostgreSQL) / write lock (SQLite) is held until commit.
    t = HelpSeeker.__table__
    db.session.execute(update(t).where(t.c.id == seeker.id).values(calls=t.c.calls + 1))
    item = media.receive(account, media_id, VOICE, kind=media.JSSDK_VOICE if source == JSSDK else media.CHAT_VOICE,
                         now=now)
    known = VoiceNote.query.filter_by(media_item_id=item.id).one_or_none()
    if known is not None:
        return db.session.get(HelpRequest, known.request_id), known, False
    recent = (HelpRequest.query.filter(HelpRequest.seeker_id == seeker.id, HelpRequest.state == OPEN,
                                       HelpRequest.opened_at > now - FLOOD_WINDOW)
              .order_by(HelpRequest.opened_at.desc()).first())
    is_new = recent is None
    request = recent or HelpRequest(seeker_id=seeker.id, station_id=seeker.station_id, account=account,
                                    opened_at=now, state=OPEN)
    if is_new:
        db.session.add(request)
        db.session.flush()
    note = VoiceNote(request_id=request.id, media_item_id=item.id, created_at=now)
    db.session.add(note)
    db.session.flush()
    if is_new:
        announce(request, tz=tz)
    return request, note, is_new


def announce(request: HelpRequest, *, tz: str = "Asia/Shanghai") -> list[int]:
    """Tell every paired volunteer and the station admins (idempotent by key)."""
    seeker = request.seeker
    people = seeker.volunteer_ids + station_admin_ids(seeker)
    return notify_many(people, "help_request", _note_data(request, tz), request_link(request.id),
                       f"help_request:{request.id}", f"help_request:{request.id}")


# ---------------------------------------------------------------------------------- claim / done
def _take(request_id: int, volunteer_id: int, now, assigned_by: int | None = None) -> bool:
    t = HelpRequest.__table__
    result = db.session.execute(update(t).where(t.c.id == request_id, t.c.state.in_(CLAIMABLE)).values(
        state=CLAIMED, claimer_id=volunteer_id, claimed_at=now, assigned_by_id=assigned_by))
    return result.rowcount == 1


def _taken_message(request: HelpRequest) -> RuleViolation:
    db.session.refresh(request)
    if request.state == DONE:
        return RuleViolation("already_done", "这条求助已经完成了，谢谢您！", 409)
    who = request.claimer.masked_name if request.claimer else "其他志愿者"
    return RuleViolation("already_claimed", f"这条求助已由{who}认领，您不能再认领了。", 409)


def _tell_admins_claimed(request: HelpRequest, tz: str) -> None:
    admins = [a for a in station_admin_ids(request.seeker) if a != request.claimer_id]
    if admins:
        notify_many(admins, "help_claimed",
                    {"elder": request.seeker.masked_name, "volunteer": request.claimer.name,
                     "time": _local(request.claimed_at, tz)},
                    request_link(request.id), f"help_claimed:{request.id}", f"help_claimed:{request.id}")


def claim(volunteer: Volunteer, request_id: int, *, now, tz: str = "Asia/Shanghai") -> HelpRequest:
    """认领求助: a paired volunteer takes the request; exactly one wins."""
    request = get_request(request_id)
    if not is_paired(volunteer, request.seeker_id):
        raise RuleViolation("not_paired", "只有与求助人结对的志愿者可以认领。如需帮忙，请联系实践站管理员指派。", 403)
    if not _take(request.id, volunteer.id, now):
        raise _taken_message(request)
    db.session.refresh(request)
    _tell_admins_claimed(request, tz)
    return request


def assign(actor: Volunteer, request_id: int, volunteer_key: str, *, now, tz: str = "Asia/Shanghai") -> HelpRequest:
    """管理员协调安排: an admin of the station (or above) gives the request to a volunteer of their
    subtree; the volunteer is told, and the assignment counts as the claim."""
    request = get_request(request_id)
    if not permissions.can(actor, "manage_help_seekers", request.seeker.station, now=now):
        raise RuleViolation("forbidden", "您没有管理该求助的权限。", 403)
    own = admin_org_of(actor.id)
    key = (volunteer_key or "").strip().upper()
    volunteer = (Volunteer.query.filter_by(number=key).one_or_none()
                 or Volunteer.query.filter_by(id_number_hash=personal_data.lookup_hash(key)).one_or_none()
                 if key else None)
    if volunteer is None:
        raise RuleViolation("volunteer_not_found", "找不到该志愿者，请核对志愿者编号或身份证号。", 404)
    in_subtree = db.session.scalar(
        select(Membership.id).join(Organization, Organization.id == Membership.org_id)
        .where(Membership.volunteer_id == volunteer.id, Membership.state == MEMBER_APPROVED,
               Organization.status == ACTIVE, subtree_of(own)).limit(1))
    if in_subtree is None and not is_paired(volunteer, request.seeker_id):
        raise RuleViolation("not_in_subtree", "只能指派本组织及下级组织的志愿者。", 403)
    if not _take(request.id, volunteer.id, now, assigned_by=actor.id):
        raise _taken_message(request)
    db.session.refresh(request)
    notify(volunteer.id, "help_assigned",
           {"elder": request.seeker.masked_name, "content": "管理员指派您前往帮助，请尽快联系", "admin": actor.name},
           link=request_link(request.id), cause=f"help_assigned:{request.id}", key=f"help_assigned:{request.id}")
    _tell_admins_claimed(request, tz)
    return request


def mark_done(volunteer: Volunteer, request_id: int, note: str, *, now, tz: str = "Asia/Shanghai") -> HelpRequest:
    """完成: the claimer closes the request with a short note."""
    request = get_request(request_id)
    if request.claimer_id != volunteer.id:
        raise RuleViolation("not_claimer", "只有认领该求助的志愿者可以标记完成。", 403)
    note = " ".join((note or "").split())
    if not note:
        raise RuleViolation("done_note_required", "请简单写一下帮助的情况。")
    if len(note) > DONE_NOTE_MAX:
        raise RuleViolation("done_note_too_long", f"情况说明不能超过{DONE_NOTE_MAX}个字。")
    t = HelpRequest.__table__
    result = db.session.execute(update(t).where(t.c.id == request.id, t.c.state == CLAIMED,
                                                t.c.claimer_id == volunteer.id)
                                .values(state=DONE, done_at=now, done_note=note))
    if result.rowcount != 1:
        raise RuleViolation("already_done", "这条求助已经完成了。", 409)
    db.session.refresh(request)
    admins = [a for a in station_admin_ids(request.seeker) if a != volunteer.id]
    if admins:
        notify_many(admins, "help_done", {"elder": request.seeker.masked_name, "volunteer": volunteer.name,
                                          "time": _local(now, tz), "note": note},
                    request_link(request.id), f"help_done:{request.id}", f"help_done:{request.id}")
    return request


# ---------------------------------------------------------------------------------- escalation
def escalate_due(now, *, tz: str = "Asia/Shanghai") -> list[int]:
    """24 hours unclaimed: mark escalated (once) and tell the station admins again."""
    t = HelpRequest.__table__
    due = list(db.session.scalars(select(t.c.id).where(t.c.state == OPEN, t.c.opened_at <= now - ESCALATE_AFTER)
                                  .order_by(t.c.id)))
    escalated = []
    for request_id in due:
        result = db.session.execute(update(t).where(t.c.id == request_id, t.c.state == OPEN,
                                                    t.c.escalated_at.is_(None))
                                    .values(state=ESCALATED, escalated_at=now))
        if result.rowcount != 1:
            continue
        request = db.session.get(HelpRequest, request_id)
        admins = station_admin_ids(request.seeker)
        if admins:
            data = _note_data(request, tz)
            data["content"] = "求助超过24小时无人认领，请协调安排志愿者"
            notify_many(admins, "help_escalation", data, request_link(request_id), f"help_escalation:{request_id}",
                        f"help_escalation:{request_id}")
        escalated.append(request_id)
    return escalated


def requests_for_admin(actor, states=(OPEN, ESCALATED, CLAIMED)) -> list[HelpRequest]:
    """The requests of seekers in the actor's subtree, in ``states``, oldest first."""
    own = admin_org_of(actor.id if actor else None)
    if own is None or own.status != ACTIVE:
        raise RuleViolation("forbidden", "您不是已审核组织的管理员。", 403)
    return (HelpRequest.query.join(Organization, Organization.id == HelpRequest.station_id)
            .filter(subtree_of(own), HelpRequest.state.in_(states))
            .order_by(HelpRequest.opened_at, HelpRequest.id).all())


def requests_for_volunteer(volunteer, limit: int = 30) -> list[HelpRequest]:
    """我的结对求助: requests of the seekers paired with the volunteer, or claimed by them."""
    paired = select(Pairing.seeker_id).where(Pairing.volunteer_id == volunteer.id)
    return (HelpRequest.query.filter((HelpRequest.seeker_id.in_(paired)) | (HelpRequest.claimer_id == volunteer.id))
            .order_by(HelpRequest.opened_at.desc(), HelpRequest.id.desc()).limit(limit).all())


"""联系我们: texts followers send the account, and the answers staff send back.

A text the service cannot otherwise answer (after tapping 联系我们, or any free text) is kept as a
``ContactMessage`` of its follower.  Staff of the main account — admins of the root org — read them and
answer by customer-service message, which WeChat accepts only within 48 hours of the follower's last
action (``CUSTOM_WINDOW``; after that it answers 45015).  An answer WeChat accepted is kept, and marks the
follower's earlier messages answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update

from .base import RuleViolation, db
from .follower import Follower
from .notification import CUSTOM_WINDOW
from .organization import ACTIVE, admin_org_of
from .volunteer import Binding, Volunteer

MESSAGE_MAX_CHARS = 2000  # WeChat delivers texts of up to 2,048 bytes; keep them whole
ANSWER_MAX_CHARS = 600  # a customer-service text's content is limited in bytes: 600 Chinese characters fit


class ContactMessage(db.Model):
    """留言: one text a follower sent the account."""

    __tablename__ = "contact_message"
    __table_args__ = (db.Index("ix_contact_message_follower_id_received_at", "follower_id", "received_at"),)

    id = db.Column(db.Integer, primary_key=True)
    follower_id = db.Column(db.Integer, db.ForeignKey("follower.id", ondelete="CASCADE"), nullable=False)
    content = db.Column(db.Text, nullable=False)
    received_at = db.Column(db.DateTime, nullable=False)
    answered_at = db.Column(db.DateTime)

    follower = db.relationship(Follower, lazy="joined")


class ContactReply(db.Model):
    """回复: one answer a staff member sent a follower by customer-service message."""

    __tablename__ = "contact_reply"

    id = db.Column(db.Integer, primary_key=True)
    follower_id = db.Column(db.Integer, db.ForeignKey("follower.id", ondelete="CASCADE"), nullable=False,
                            index=True)
    content = db.Column(db.Text, nullable=False)
    staff_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="SET NULL"))
    sent_at = db.Column(db.DateTime, nullable=False)


@dataclass
class Conversation:
    """One follower's messages and the answers they got, oldest first."""

    follower: Follower
    volunteer_name: str | None
    entries: list  # ContactMessage and ContactReply rows, by time
    unanswered: int
    last_at: datetime

    def window_open(self, now: datetime) -> bool:
        return window_open(self.follower.last_seen_at, now)

    @property
    def answer_until(self) -> datetime | None:
        """When WeChat stops accepting an answer, unless the follower acts again before."""
        seen = self.follower.last_seen_at
        return seen + CUSTOM_WINDOW if seen else None


def may_answer(volunteer) -> bool:
    """Staff of the main account: admins of the root org (level 1) that passed review."""
    org = admin_org_of(volunteer.id) if volunteer is not None else None
    return org is not None and org.status == ACTIVE and org.parent_id is None


def require_staff(volunteer) -> None:
    if not may_answer(volunteer):
        raise RuleViolation("forbidden", "只有江海志愿总站的管理员可以查看和回复留言。", 403)


def record_message(follower: Follower | None, content: str, now: datetime) -> ContactMessage | None:
    """Keep a text a follower sent (cut to ``MESSAGE_MAX_CHARS``); None for an empty one."""
    content = (content or "").strip()
    if not content or follower is None:
        return None
    message = ContactMessage(follower=follower, content=content[:MESSAGE_MAX_CHARS], received_at=now)
    db.session.add(message)
    return message


def window_open(last_seen_at: datetime | None, now: datetime) -> bool:
    """Whether WeChat still accepts a customer-service message: the follower acted within 48 hours."""
    return last_seen_at is not None and now - last_seen_at < CUSTOM_WINDOW


def check_answer(content: str, last_seen_at: datetime | None, now: datetime) -> str:
    """The answer to send, cleaned; refused when empty, too long, or outside the 48-hour window."""
    content = (content or "").strip()
    if not content:
        raise RuleViolation("answer_empty", "请填写回复内容。")
    if len(content) > ANSWER_MAX_CHARS:
        raise RuleViolation("answer_too_long", f"回复最多 {ANSWER_MAX_CHARS} 个字。")
    if not window_open(last_seen_at, now):
        raise RuleViolation("window_closed", WINDOW_CLOSED_MESSAGE, 409)
    return content


WINDOW_CLOSED_MESSAGE = "对方最后一次与公众号互动已超过 48 小时，微信不再允许在公众号内回复。请通过电话等其他方式联系。"


def record_reply(follower_id: int, staff_id: int, content: str, now: datetime) -> ContactReply:
    """Keep an answer WeChat accepted, and mark the follower's earlier messages answered."""
    reply = ContactReply(follower_id=follower_id, staff_id=staff_id, content=content, sent_at=now)
    db.session.add(reply)
    t = ContactMessage.__table__
    db.session.execute(update(t).where(t.c.follower_id == follower_id, t.c.answered_at.is_(None),
                                       t.c.received_at <= now).values(answered_at=now))
    return reply


def get_follower(follower_id: int) -> Follower:
    follower = db.session.get(Follower, follower_id)
    if follower is None or not ContactMessage.query.filter_by(follower_id=follower_id).first():
        raise RuleViolation("not_found", "没有这位关注者的留言。", 404)
    return follower


def conversation(follower: Follower) -> Conversation:
    """The whole exchange with one follower."""
    return _conversations([follower.id])[0]


def conversations(limit: int = 50) -> list[Conversation]:
    """The followers who wrote, those waiting for an answer first, then the most recent."""
    t = ContactMessage.__table__
    waiting = func.sum(db.case((t.c.answered_at.is_(None), 1), else_=0))
    latest = func.max(t.c.received_at)
    rows = db.session.execute(select(t.c.follower_id).group_by(t.c.follower_id)
                              .order_by((waiting > 0).desc(), latest.desc()).limit(limit))
    return _conversations([row[0] for row in rows])


def _conversations(follower_ids: list[int]) -> list[Conversation]:
    if not follower_ids:
        return []
    followers = {f.id: f for f in Follower.query.filter(Follower.id.in_(follower_ids))}
    names = dict(db.session.execute(
        select(Follower.id, Volunteer.name).join(Binding, (Binding.account == Follower.account)
                                                 & (Binding.openid == Follower.openid))
        .join(Volunteer, Volunteer.id == Binding.volunteer_id).where(Follower.id.in_(follower_ids))).all())
    entries: dict[int, list] = {fid: [] for fid in follower_ids}
    for message in ContactMessage.query.filter(ContactMessage.follower_id.in_(follower_ids)):
        entries[message.follower_id].append(message)
    for reply in ContactReply.query.filter(ContactReply.follower_id.in_(follower_ids)):
        entries[reply.follower_id].append(reply)
    result = []
    for fid in follower_ids:
        items = sorted(entries[fid], key=lambda e: (_time(e), isinstance(e, ContactReply), e.id))
        unanswered = sum(isinstance(e, ContactMessage) and e.answered_at is None for e in items)
        result.append(Conversation(followers[fid], names.get(fid), items, unanswered, _time(items[-1])))
    return result


def _time(entry) -> datetime:
    return entry.received_at if isinstance(entry, ContactMessage) else entry.sent_at

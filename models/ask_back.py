"""Reminders that ask back (beyond the manual): 24 hours (configurable) before a day of the activity,
each accepted volunteer is asked 确认参加 / 不能参加; and a project admin's one message to everyone
accepted on a project.

The question is a row per (signup, local day) — the unique pair means a second run of the job asks
nobody twice.  Its link carries a token signed with the app's secret naming the signup, the day and
the volunteer; the page also requires that the signed-in person is that volunteer, so a forwarded
link does nothing for anyone else.  不能参加 cancels the signup at once: the place is given back and
the waitlist promoted (``models.signup.cancel_signup``).  The 1-hour reminder
(``models.signup.send_due_reminders``) is unchanged.

A project message goes to every accepted volunteer through the outbox (``notify_many``; delivery is
rate-limited there) and is itself rate-limited per project: one per ``every`` minutes, the slot being a
unique (project, slot) row so two admins sending at once cannot both pass.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import or_, select, update

from .base import RuleViolation, db, insert_unique, won
from .notification import notify, notify_many
from .project import APPROVED, DEFAULT_TZ, Project, get_project, local_now, require_project, to_utc
from .signup import ACCEPTED, Signup, cancel_signup
from .volunteer import Volunteer

YES, NO = "yes", "no"
ANSWER_LABELS = {YES: "确认参加", NO: "不能参加"}
TOKEN_SALT = "attendance-ask"
MESSAGE_LIMIT = 200


class AttendanceAsk(db.Model):
    """参加确认: the question put to one accepted volunteer about one day of the activity, and the answer."""

    __tablename__ = "attendance_ask"
    __table_args__ = (db.UniqueConstraint("signup_id", "day"),)

    id = db.Column(db.Integer, primary_key=True)
    signup_id = db.Column(db.Integer, db.ForeignKey("signup.id", ondelete="CASCADE"), nullable=False)
    day = db.Column(db.Date, nullable=False)
    asked_at = db.Column(db.DateTime, nullable=False)
    answer = db.Column(db.String(4))
    answered_at = db.Column(db.DateTime)

    signup = db.relationship(Signup)

    @property
    def answer_label(self) -> str:
        return ANSWER_LABELS.get(self.answer, "未回复")


class ProjectMessage(db.Model):
    """项目通知: one message of a project admin to everyone accepted on the project."""

    __tablename__ = "project_message"
    __table_args__ = (db.UniqueConstraint("project_id", "slot"),)

    id = db.Column(db.Integer, primary_key=True)
    project_id = db.Column(db.Integer, db.ForeignKey("project.id", ondelete="CASCADE"), nullable=False)
    sender_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="SET NULL"))
    slot = db.Column(db.Integer, nullable=False)  # minutes since the epoch // the rate-limit window
    content = db.Column(db.String(MESSAGE_LIMIT), nullable=False)
    recipients = db.Column(db.Integer, nullable=False, default=0)
    sent_at = db.Column(db.DateTime, nullable=False)


# ---------------------------------------------------------------------------------- the signed link
def ask_token(secret: str, ask: AttendanceAsk, volunteer_id: int) -> str:
    return URLSafeSerializer(secret, salt=TOKEN_SALT).dumps([ask.id, volunteer_id])


def read_ask_token(secret: str, token: str) -> tuple[int, int] | None:
    """(ask id, volunteer id) of a token signed with ``secret``, else None."""
    try:
        ask_id, volunteer_id = URLSafeSerializer(secret, salt=TOKEN_SALT).loads(token)
        return int(ask_id), int(volunteer_id)
    except (BadSignature, TypeError, ValueError):
        return None


def ask_for(secret: str, token: str, volunteer: Volunteer) -> AttendanceAsk:
    """The question a link names, for the person who opened it (refused for anyone else)."""
    read = read_ask_token(secret, token)
    ask = db.session.get(AttendanceAsk, read[0]) if read else None
    if ask is None:
        raise RuleViolation("ask_link_invalid", "链接无效，请从消息中重新打开。", 404)
    if read[1] != volunteer.id or ask.signup.volunteer_id != volunteer.id:
        raise RuleViolation("ask_not_yours", "此链接仅限收到提醒的志愿者本人使用。", 403)
    return ask


# ---------------------------------------------------------------------------------- asking
def _days_due(project: Project, now: datetime, lead: timedelta, tz: str) -> list[date]:
    """The project's days whose window opens within ``lead`` from now (and has not opened yet)."""
    today = local_now(now, tz).date()
    last = min(project.end_date, (local_now(now + lead, tz)).date())
    days, day = [], max(project.start_date, today)
    while day <= last:
        opens = to_utc(day, project.daily_start, tz)
        if now < opens <= now + lead:
            days.append(day)
        day += timedelta(days=1)
    return days


def send_asks(*, now: datetime, lead: timedelta, secret: str, tz: str = DEFAULT_TZ) -> int:
    """Ask every accepted volunteer of each day opening within ``lead``; once per (signup, day).

    Does not commit.  Returns how many were asked.
    """
    if lead <= timedelta(0):
        return 0
    today = local_now(now, tz).date()
    horizon = local_now(now + lead, tz).date()
    projects = Project.query.filter(Project.status == APPROVED, Project.start_date <= horizon,
                                    Project.end_date >= today).all()
    asked = 0
    for project in projects:
        for day in _days_due(project, now, lead, tz):
            for signup in Signup.query.filter_by(project_id=project.id, state=ACCEPTED).all():
                ask = AttendanceAsk(signup_id=signup.id, day=day, asked_at=now)
                if not insert_unique(ask):
                    continue
                link = f"/m/attend/{ask_token(secret, ask, signup.volunteer_id)}"
                notify(signup.volunteer_id, "attendance_ask",
                       {"project": project.name, "time": f"{day:%Y-%m-%d} {project.daily_start:%H:%M}",
                        "place": project.place}, link=link, cause=f"signup:{signup.id}",
                       key=f"attendance_ask:{signup.id}:{day.isoformat()}")
                asked += 1
    return asked


def answer(volunteer: Volunteer, ask: AttendanceAsk, reply: str, *, now: datetime) -> AttendanceAsk:
    """确认参加 records the answer; 不能参加 also cancels the signup (the place goes to the waitlist)."""
    if reply not in ANSWER_LABELS:
        raise RuleViolation("answer_invalid", "请选择确认参加或不能参加。")
    if ask.signup.volunteer_id != volunteer.id:
        raise RuleViolation("ask_not_yours", "此链接仅限收到提醒的志愿者本人使用。", 403)
    if ask.answer == NO:
        raise RuleViolation("already_declined", "您已回复不能参加，报名已取消。", 409)
    if reply == NO:
        if ask.signup.state != ACCEPTED:
            raise RuleViolation("not_accepted", "您已不在该项目的录取名单中。", 409)
        if not won(update(AttendanceAsk).where(AttendanceAsk.id == ask.id,
                                               or_(AttendanceAsk.answer.is_(None), AttendanceAsk.answer == YES))
                   .values(answer=NO, answered_at=now)):
            raise RuleViolation("already_declined", "您已回复不能参加，报名已取消。", 409)
        cancel_signup(volunteer, ask.signup.project_id, now=now)
    else:
        if ask.signup.state != ACCEPTED:
            raise RuleViolation("not_accepted", "您已不在该项目的录取名单中。", 409)
        if not won(update(AttendanceAsk).where(AttendanceAsk.id == ask.id,
                                               or_(AttendanceAsk.answer.is_(None), AttendanceAsk.answer == YES))
                   .values(answer=YES, answered_at=now)):  # a 不能参加 sent at the same moment stands
            raise RuleViolation("already_declined", "您已回复不能参加，报名已取消。", 409)
    db.session.flush()
    db.session.expire(ask)
    return ask


def answers_of(project_id: int) -> dict[str, int]:
    """For the admin: how many said 确认参加 / 不能参加 / nothing yet, over all asked days."""
    rows = db.session.execute(select(AttendanceAsk.answer, db.func.count()).join(Signup)
                              .where(Signup.project_id == project_id).group_by(AttendanceAsk.answer)).all()
    counts = {YES: 0, NO: 0, None: 0}
    counts.update(dict(rows))
    return {"yes": counts[YES], "no": counts[NO], "none": counts[None]}


# ---------------------------------------------------------------------------------- one message to all
def message_accepted(actor: Volunteer, project_id: int, content: str, *, now: datetime,
                     every_minutes: int = 60) -> ProjectMessage:
    """一键通知: the project admin's message to every accepted volunteer; one per ``every_minutes``."""
    project = get_project(project_id)
    require_project(actor, project, "review_signups", now=now)
    content = " ".join((content or "").split())
    if not content:
        raise RuleViolation("message_missing", "请填写通知内容。")
    if len(content) > MESSAGE_LIMIT:
        raise RuleViolation("message_too_long", f"通知内容不能超过{MESSAGE_LIMIT}个字。")
    window = max(int(every_minutes), 1)
    since = now - timedelta(minutes=window)
    # The project's row, locked until commit: two sends a moment apart on either side of a slot's edge (two
    # slots, so the unique slot cannot stop the second) would each count no message yet.  The second waits
    # here and then counts the first.
    db.session.execute(select(Project.id).where(Project.id == project.id).with_for_update())
    recent = db.session.scalar(select(db.func.count()).select_from(ProjectMessage).where(
        ProjectMessage.project_id == project.id, ProjectMessage.sent_at > since))
    slot = int(now.timestamp() // 60) // window
    message = ProjectMessage(project_id=project.id, sender_id=actor.id, slot=slot, content=content, sent_at=now)
    if recent or not insert_unique(message):
        raise RuleViolation("message_too_soon", f"每个项目{window}分钟内只能发送一次通知，请稍后再发。", 429)
    volunteer_ids = list(db.session.scalars(select(Signup.volunteer_id).where(
        Signup.project_id == project.id, Signup.state == ACCEPTED).order_by(Signup.id)))
    if volunteer_ids:
        ids = notify_many(volunteer_ids, "project_message",
                          {"project": project.name, "content": content, "org": project.org.name},
                          f"/m/projects/{project.id}", f"project_message:{message.id}",
                          f"project_message:{message.id}")
        message.recipients = len(ids)
    db.session.flush()
    return message


def messages_of(project_id: int) -> list[ProjectMessage]:
    return (ProjectMessage.query.filter_by(project_id=project_id)
            .order_by(ProjectMessage.sent_at.desc(), ProjectMessage.id.desc()).limit(20).all())

"""离线打卡 (offline check-in): a punch kept on the phone without signal and sent when it is back.

The server judges it by the time the page recorded, not by its arrival, and marks it sent late
(``Punch.received_at``).  A client can lie about time, so the recorded time is bounded:

- never after its arrival (a phone clock ``CLOCK_AHEAD`` fast is forgiven, the arrival is used);
- never more than the grace window (``Rules.offline_grace``, ``[attendance] offline_grace_minutes``)
  before it: older ones are refused (补签 is the remedy), so a lie buys at most that window;
- when an on-site code was scanned with it, the code's own 30-second window must contain the recorded
  time — the code cannot be made in advance, so the time is pinned to the minute; but a screenshot of it
  can be forwarded, so a code that arrives more than two minutes late is flagged for the admin
  (``flags.late_code_flag``, 时长清单);
- every rule of an ordinary punch (the day's window, 30 minutes between sign-in and sign-out, the
  radius, the one open sign-in) is applied at the recorded time.

The page gives each punch an id of its own; sending it again (a lost answer) returns the same cycle.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import positions
from ..attendance import punches
from ..attendance.tables import Cycle, Punch
from ..base import RuleViolation, db
from ..volunteer import Volunteer

CLOCK_AHEAD = timedelta(minutes=2)
REF = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def judge_time(recorded_at: datetime | None, now: datetime, grace: timedelta) -> datetime:
    """The time an offline punch counts at, or a refusal (``now``: its arrival; both naive UTC)."""
    if recorded_at is None:
        raise RuleViolation("offline_time_required", "离线打卡缺少记录时间。")
    if recorded_at > now + CLOCK_AHEAD:
        raise RuleViolation("offline_time_future", "离线打卡的记录时间晚于当前时间，请校准手机时间后重新打卡。", 409)
    if recorded_at < now - grace:
        minutes = int(grace.total_seconds() // 60)
        raise RuleViolation("offline_too_old", f"离线打卡超过{minutes}分钟才上传，无法按记录时间计入；"
                                               "如确实参加了活动，请申请补签。", 409)
    return min(recorded_at, now)


def _existing(ref: str) -> Cycle | None:
    cycle_id = db.session.scalar(select(Punch.cycle_id).where(Punch.client_ref == ref))
    return db.session.get(Cycle, cycle_id) if cycle_id else None


def punch_offline(volunteer: Volunteer, project_id: int, action: str, position: positions.Position | None,
                  recorded_at: datetime | None, ref: str, *, now: datetime,
                  rules: punches.Rules = punches.DEFAULT_RULES,
                  extras: punches.Extras = punches.NO_EXTRAS) -> tuple[Cycle, bool]:
    """The offline punch judged at its recorded time; (cycle, whether it was already received)."""
    if not REF.match(ref or ""):
        raise RuleViolation("offline_ref_invalid", "离线打卡缺少有效的编号。")
    ref = f"{volunteer.id}:{ref}"
    already = _existing(ref)
    if already is not None:
        return already, True
    at = judge_time(recorded_at, now, rules.offline_grace)
    extras = replace(extras, received_at=now, client_ref=ref)
    try:
        with db.session.begin_nested():
            cycle = punches.punch(volunteer, project_id, action, position, now=at, rules=rules, extras=extras)
    except (IntegrityError, RuleViolation):  # the same punch sent twice at once: the other request recorded it
        already = _existing(ref)  # (its row, or the day's punch it made, stopped this one)
        if already is None:
            raise
        return already, True
    return cycle, False


def late_punches(project_id: int, limit: int = 200) -> list[tuple[Punch, Cycle]]:
    """The project's punches sent late (offline), newest first, with their cycles."""
    return db.session.execute(select(Punch, Cycle).join(Cycle, Cycle.id == Punch.cycle_id)
                              .where(Cycle.project_id == project_id, Punch.received_at.is_not(None))
                              .order_by(Punch.at.desc()).limit(limit)).all()

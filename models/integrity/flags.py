"""位置信号: what a punch's position says about itself, flagged for the admin (never refused).

The H5 position is whatever the client posts, so the service looks at the story the punches tell:

- impossible speed: a volunteer's consecutive punches further apart than anyone could travel in the
  time between them (their accuracies are given back first);
- identical coordinates: the very same latitude and longitude (to the last digit) as a punch of another
  volunteer, or of the same volunteer on another day — real fixes scatter, replayed ones do not (the
  repeat is flagged, the first one is not);
- accuracy worse than the project's punch radius: the fix cannot tell whether they were there;
- an on-site code that arrives long after it was on the screen (an offline punch): a screenshot forwarded
  to someone at home passes the code's own window, so the admin is shown how late it came.

The rules (``speed_kmh``, ``speed_flag``, ``accuracy_flag``) take plain values; ``record_flags``
applies them to a punch as it is written; ``flags_for_project`` and ``flags_for_orgs`` list them
(时长清单, and statistics' 异常数据).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from .. import positions
from ..attendance.tables import Cycle, Punch
from ..base import db
from ..organization import Organization, subtree_of
from ..project import Project
from ..volunteer import Volunteer
from .tables import FLAG_ACCURACY, FLAG_LABELS, FLAG_LATE_CODE, FLAG_SAME_SPOT, FLAG_SPEED, PunchFlag

#: Faster than this between two punches is impossible on a city's roads (high-speed rail is ~300).
IMPOSSIBLE_KMH = 200
SAME_SPOT_LIMIT = 20  # other punches looked at for one repeated coordinate
LATE_CODE_AFTER = timedelta(minutes=2)  # an on-site code sent later than this after it was shown is flagged


@dataclass(frozen=True)
class Fix:
    """One punch's position as the rules see it."""

    at: datetime
    latitude: float
    longitude: float
    accuracy: float | None = None


def speed_kmh(a: Fix, b: Fix) -> float:
    """The least speed that explains two fixes: distance less both accuracies, over the time between."""
    metres = positions.distance_m(positions.Position(a.latitude, a.longitude),
                                  positions.Position(b.latitude, b.longitude))
    metres = max(0.0, metres - (a.accuracy or 0) - (b.accuracy or 0))
    seconds = abs((b.at - a.at).total_seconds())
    if metres == 0:
        return 0.0
    return float("inf") if seconds == 0 else metres / seconds * 3.6


def speed_flag(a: Fix, b: Fix, limit: float = IMPOSSIBLE_KMH) -> str | None:
    """A detail text when the move from ``a`` to ``b`` is impossible, else None."""
    kmh = speed_kmh(a, b)
    if kmh <= limit:
        return None
    metres = positions.distance_m(positions.Position(a.latitude, a.longitude),
                                  positions.Position(b.latitude, b.longitude))
    minutes = abs((b.at - a.at).total_seconds()) / 60
    return f"与相邻打卡相距约{metres / 1000:.1f}公里、间隔{minutes:.0f}分钟（约{'∞' if kmh == float('inf') else f'{kmh:.0f}'}公里/小时）"


def accuracy_flag(accuracy: float | None, radius: int | None) -> str | None:
    if accuracy is None or not radius or accuracy <= radius:
        return None
    return f"定位精度约{accuracy:.0f}米，超过打卡范围{radius}米"


def same_spot_flag(others_volunteers: int, other_days: int) -> str | None:
    if not others_volunteers and not other_days:
        return None
    said = []
    if others_volunteers:
        said.append(f"另有{others_volunteers}名志愿者")
    if other_days:
        said.append(f"本人另有{other_days}天")
    return "与" + "、".join(said) + "的打卡坐标完全相同"


# ------------------------------------------------------------------------------- recording
def late_code_flag(code_at: datetime | None, received_at: datetime | None) -> str | None:
    """An on-site code that reached the service more than ``LATE_CODE_AFTER`` after it was on the screen."""
    if code_at is None or received_at is None or received_at - code_at <= LATE_CODE_AFTER:
        return None
    minutes = int((received_at - code_at).total_seconds() // 60)
    return f"现场签到码显示{minutes}分钟后才上传（离线打卡），可能是转发的截图，请核实。"


def _fix(row) -> Fix:
    return Fix(row.at, row.latitude, row.longitude, row.accuracy)


def _neighbours(punch: Punch, volunteer_id: int):
    """The volunteer's punches just before and just after ``punch`` (any project) that have a position."""
    base = (select(Punch).join(Cycle, Cycle.id == Punch.cycle_id)
            .where(Cycle.volunteer_id == volunteer_id, Punch.id != punch.id, Punch.latitude.is_not(None)))
    before = db.session.scalars(base.where(Punch.at <= punch.at).order_by(Punch.at.desc(), Punch.id.desc())
                                .limit(1)).first()
    after = db.session.scalars(base.where(Punch.at > punch.at).order_by(Punch.at, Punch.id).limit(1)).first()
    return [p for p in (before, after) if p is not None]


def signals(punch: Punch, volunteer_id: int, radius: int | None, tz_day) -> dict[str, str]:
    """The flags ``punch`` earns against what is stored: {kind: detail}."""
    found = {}
    detail = accuracy_flag(punch.accuracy, radius)
    if detail:
        found[FLAG_ACCURACY] = detail
    for other in _neighbours(punch, volunteer_id):
        detail = speed_flag(_fix(other), _fix(punch))
        if detail and FLAG_SPEED not in found:
            found[FLAG_SPEED] = detail
    same = db.session.execute(
        select(Cycle.volunteer_id, Punch.at).join(Cycle, Cycle.id == Punch.cycle_id)
        .where(Punch.latitude == punch.latitude, Punch.longitude == punch.longitude, Punch.id != punch.id)
        .order_by(Punch.id.desc()).limit(SAME_SPOT_LIMIT)).all()
    day = tz_day(punch.at)
    volunteers = {v for v, _ in same if v != volunteer_id}
    days = {tz_day(at) for v, at in same if v == volunteer_id} - {day}
    detail = same_spot_flag(len(volunteers), len(days))
    if detail:
        found[FLAG_SAME_SPOT] = detail
    return found


def record_flags(punch: Punch, cycle: Cycle, radius: int | None, tz_day) -> None:
    """Flag ``punch`` (just written and flushed) by the location signals and a late on-site code.

    Only the new punch is flagged (the repeat, the move that could not be made): flags are never
    written on other rows, so concurrent punches never wait on each other here.
    ``tz_day(moment)`` is the local day of a moment (the rules' zone)."""
    found = {}
    late = late_code_flag(punch.onsite_code_at, punch.received_at)
    if late:
        found[FLAG_LATE_CODE] = late
    if punch.latitude is not None and punch.longitude is not None:
        found.update(signals(punch, cycle.volunteer_id, radius, tz_day))
    for kind, detail in found.items():
        db.session.add(PunchFlag(punch_id=punch.id, cycle_id=cycle.id, project_id=cycle.project_id,
                                 volunteer_id=cycle.volunteer_id, kind=kind, at=punch.at, detail=detail[:200]))


# ---------------------------------------------------------------------------------- reading
@dataclass(frozen=True)
class FlagRow:
    """One flag as a list shows it."""

    punch_id: int
    cycle_id: int
    project_id: int
    project_name: str
    volunteer_id: int
    volunteer_name: str  # masked
    at: datetime
    kind: str
    detail: str

    @property
    def label(self) -> str:
        return FLAG_LABELS.get(self.kind, self.kind)


def _rows(query) -> list[FlagRow]:
    out = []
    for flag, project_name, volunteer in db.session.execute(query).all():
        out.append(FlagRow(flag.punch_id, flag.cycle_id, flag.project_id, project_name, flag.volunteer_id,
                           volunteer.masked_name, flag.at, flag.kind, flag.detail))
    return out


def _base():
    return (select(PunchFlag, Project.name, Volunteer).join(Project, Project.id == PunchFlag.project_id)
            .join(Volunteer, Volunteer.id == PunchFlag.volunteer_id).order_by(PunchFlag.at.desc(), PunchFlag.id))


def flags_for_project(project_id: int) -> list[FlagRow]:
    return _rows(_base().where(PunchFlag.project_id == project_id))


def flags_by_cycle(project_id: int) -> dict[int, list[FlagRow]]:
    """The project's flags grouped by cycle (the 时长清单 shows them beside each record)."""
    out: dict[int, list[FlagRow]] = {}
    for row in flags_for_project(project_id):
        out.setdefault(row.cycle_id, []).append(row)
    return out


def flags_for_orgs(org: Organization, start: datetime, end: datetime, *, include_self: bool = True,
                   kinds: tuple[str, ...] | None = None) -> list[FlagRow]:
    """异常数据: the flags on punches in [start, end) (UTC) of projects of ``org``'s subtree, newest first."""
    query = _base().where(Project.org_id.in_(select(Organization.id).where(subtree_of(org, include_self))),
                          PunchFlag.at >= start, PunchFlag.at < end)
    if kinds:
        query = query.where(PunchFlag.kind.in_(kinds))
    return _rows(query)


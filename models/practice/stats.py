"""场所数据统计 (part 4 §二.6, 图4-15): per place and month range — planned (the targets), done (文明实践
activities that ended), completion rate and participants — rolled up the place tree.

An activity counts as done in the local month its end falls in, once it has ended, when it is an
approved project tied to the place (``PracticeProject``); its participants are its accepted
volunteers (``accepted_count``).  One grouped query reads every place and month at once; the tree
roll-up (a place's row holds its whole subtree) is summed here from the paths, so the cost does not
grow with the depth of the tree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select

from ..base import db
from ..project import APPROVED, Project
from .tables import LEVEL_LABELS, Place, PracticeProject, Target, place_subtree


@dataclass
class Row:
    place: Place
    planned: int = 0
    done: int = 0
    participants: int = 0
    by_month: dict = field(default_factory=dict)  # (year, month) -> [planned, done]

    @property
    def rate(self) -> float:
        return self.done / self.planned if self.planned else 0.0

    @property
    def rate_text(self) -> str:
        return f"{self.rate * 100:.2f}%"

    @property
    def level_label(self) -> str:
        return LEVEL_LABELS[self.place.level]


def months_between(start: tuple[int, int], end: tuple[int, int]) -> list[tuple[int, int]]:
    out, (y, m) = [], start
    while (y, m) <= end and len(out) < 240:
        out.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _utc(year: int, month: int, tz: str) -> datetime:
    return datetime(year, month, 1, tzinfo=ZoneInfo(tz)).astimezone(UTC).replace(tzinfo=None)


def _next(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def done_by_place(months: list[tuple[int, int]], *, now: datetime, tz: str,
                  within: Place | None = None) -> dict[tuple[int, int, int], tuple[int, int]]:
    """(place id, year, month) → (activities done, participants), in one grouped query for the whole range.

    The local month of each end is a ``CASE`` over the months' UTC bounds (the same SQL on every engine,
    right in any zone); only activities that have ended by ``now`` count.
    """
    if not months:
        return {}
    bounds = [(ym, _utc(*ym, tz), _utc(*_next(*ym), tz)) for ym in months]
    start, end = bounds[0][1], min(bounds[-1][2], now)
    if end <= start:
        return {}
    month = case(*((Project.ends_at < hi, i) for i, (_ym, _lo, hi) in enumerate(bounds)), else_=-1)
    query = (select(PracticeProject.place_id, month, func.count(Project.id),
                    func.coalesce(func.sum(Project.accepted_count), 0))
             .join(Project, Project.id == PracticeProject.project_id)
             .where(Project.status == APPROVED, Project.ends_at >= start, Project.ends_at < end))
    if within is not None:
        query = query.join(Place, Place.id == PracticeProject.place_id).where(place_subtree(within))
    query = query.group_by(PracticeProject.place_id, month)
    out = {}
    for place_id, index, count, people in db.session.execute(query):
        if 0 <= index < len(bounds):
            out[(place_id, *bounds[index][0])] = (int(count), int(people))
    return out


def planned_by_place(months: list[tuple[int, int]]) -> dict[tuple[int, int, int], int]:
    """(place id, year, month) → planned, for the months asked."""
    years = sorted({y for y, _m in months})
    wanted = set(months)
    rows = db.session.execute(select(Target.place_id, Target.year, Target.month, Target.planned)
                              .where(Target.year.in_(years)))
    return {(p, y, m): n for p, y, m, n in rows if (y, m) in wanted}


def report(start: tuple[int, int], end: tuple[int, int], *, now: datetime, tz: str,
           within: Place | None = None, level: int | None = None) -> list[Row]:
    """The rows of 场所数据统计 for the month range, each place's figures covering its subtree."""
    months = months_between(start, end)
    query = Place.query
    if within is not None:
        query = query.filter(place_subtree(within))
    all_places = query.order_by(Place.path).all()
    rows = {p.id: Row(p, by_month={ym: [0, 0] for ym in months}) for p in all_places}
    planned = planned_by_place(months)
    done = done_by_place(months, now=now, tz=tz, within=within)
    for place in all_places:
        lineage = [int(i) for i in place.path.strip("/").split("/")]
        targets = [rows[i] for i in lineage if i in rows]
        for ym in months:
            n_planned = planned.get((place.id, *ym), 0)
            n_done, n_people = done.get((place.id, *ym), (0, 0))
            for row in targets:
                row.planned += n_planned
                row.done += n_done
                row.participants += n_people
                row.by_month[ym][0] += n_planned
                row.by_month[ym][1] += n_done
    out = list(rows.values())
    if level is not None:
        out = [r for r in out if r.place.level == level]
    return out


def progress(place: Place, year: int, *, now: datetime, tz: str) -> Row:
    """完成情况提醒: this year so far for one place (its subtree), January to this month."""
    local = now.replace(tzinfo=UTC).astimezone(ZoneInfo(tz))
    rows = report((year, 1), (year, local.month if local.year == year else 12), now=now, tz=tz, within=place)
    return next(r for r in rows if r.place.id == place.id)


def bar_chart(row: Row, *, width: int = 640, height: int = 240) -> dict:
    """Geometry of the done-vs-planned bar chart (the template draws the SVG from it)."""
    months = list(row.by_month.items())
    top = max([max(p, d) for _ym, (p, d) in months] + [1])
    slot = width / max(len(months), 1)
    bar = max(slot * 0.35, 2)
    bars = []
    for i, ((y, m), (p, d)) in enumerate(months):
        x = i * slot + slot * 0.1
        hp, hd = (height - 30) * p / top, (height - 30) * d / top
        bars.append({"label": f"{m}月" if len(months) <= 12 else f"{y % 100}/{m}", "planned": p, "done": d,
                     "x": round(x, 1), "bar": round(bar, 1), "x_done": round(x + bar, 1),
                     "y_planned": round(height - 20 - hp, 1), "h_planned": round(hp, 1),
                     "y_done": round(height - 20 - hd, 1), "h_done": round(hd, 1), "tx": round(x + bar, 1)})
    return {"width": width, "height": height, "bars": bars, "top": top}


def recent_activities(place: Place, *, now: datetime, limit: int = 10) -> list[Project]:
    """资讯动态 of a 微主页: the approved practice activities of the place's subtree, latest first."""
    query = (select(Project).join(PracticeProject, PracticeProject.project_id == Project.id)
             .join(Place, Place.id == PracticeProject.place_id)
             .where(Project.status == APPROVED, place_subtree(place), Project.starts_at <= now)
             .order_by(Project.starts_at.desc(), Project.id.desc()).limit(limit))
    return list(db.session.scalars(query))

"""场所数据统计 on a generated year of 104,400 文明实践 activities (Nantong's 9 centres planned that many, 图4-15).

    python bench/practice_stats.py [--activities 104400]

A database of its own (PostgreSQL), the schema by ``db upgrade``, then ``tests.support.practice_year.generate``:
9 centres × 10 实践所 × 5 实践站 (549 places), monthly targets, the activities (1 in 40 left pending).  Times the
whole-year report of every place rolled up its subtree, a one-centre report, the admin's 完成情况 (progress)
and the Excel export, and checks every figure against two recounts: the truth counted while generating, and
an independent SQL count per centre (a ``path LIKE`` join, month by month in the local zone).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import service_stack, tempdir  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--activities", type=int, default=104_400)
    args = parser.parse_args()
    with service_stack(tempdir()) as env:
        os.environ["WX_SERVICE_CONFIG"] = env["WX_SERVICE_CONFIG"]
        from sqlalchemy import func, select

        from models import Project, db
        from models.practice import stats
        from models.practice.tables import Place, PracticeProject
        from tests.support.practice_year import generate, rolled_up
        from wx_service import create_app

        app = create_app()
        with app.app_context(), app.test_request_context():
            started = time.perf_counter()
            generated = generate(year=2025, activities=args.activities)
            seeded = time.perf_counter() - started
            now, tz = datetime(2026, 1, 1), "Asia/Shanghai"

            started = time.perf_counter()
            rows = stats.report((2025, 1), (2025, 12), now=now, tz=tz)
            whole_year = time.perf_counter() - started
            expected = rolled_up(generated, range(1, 13))
            got = {r.place.id: (r.planned, r.done, r.participants) for r in rows}
            assert got == expected, "report differs from the generated truth"

            centre = next(r.place for r in rows if r.place.level == 1)
            started = time.perf_counter()
            stats.report((2025, 3), (2025, 5), now=now, tz=tz, within=centre)
            one_centre = time.perf_counter() - started
            started = time.perf_counter()
            stats.progress(centre, 2025, now=now, tz=tz)
            progress = time.perf_counter() - started

            # an independent recount: per centre, a path-prefix join counted in SQL for each local month
            started = time.perf_counter()
            for row in (r for r in rows if r.place.level == 1):
                done = people = 0
                for month in range(1, 13):
                    lo = stats._utc(2025, month, tz)
                    hi = stats._utc(*stats._next(2025, month), tz)
                    n, p = db.session.execute(
                        select(func.count(Project.id), func.coalesce(func.sum(Project.accepted_count), 0))
                        .join(PracticeProject, PracticeProject.project_id == Project.id)
                        .join(Place, Place.id == PracticeProject.place_id)
                        .where(Place.path.like(row.place.path + "%"), Project.status == "approved",
                               Project.ends_at >= lo, Project.ends_at < hi)).one()
                    done, people = done + n, people + int(p)
                assert (done, people) == (row.done, row.participants), f"recount differs at {row.place.name}"
            recount = time.perf_counter() - started

            from wx_service.pages.practice_export import stats_workbook

            started = time.perf_counter()
            size = len(stats_workbook(rows, (2025, 1), (2025, 12)).data)
            export = time.perf_counter() - started
        total = sum(r.done for r in rows if r.place.level == 1)
        print(f"activities generated: {args.activities} ({total} approved and done), places: {len(rows)}; "
              f"seeding {seeded:.1f} s")
        print(f"whole-year report, every place rolled up: {whole_year * 1000:.0f} ms")
        print(f"one centre, March-May: {one_centre * 1000:.0f} ms; progress of a centre: {progress * 1000:.0f} ms")
        print(f"Excel export of {len(rows)} rows: {export * 1000:.0f} ms, {size} bytes")
        print(f"independent SQL recount of the 9 centres x 12 months: {recount * 1000:.0f} ms — every figure equal")


if __name__ == "__main__":
    main()

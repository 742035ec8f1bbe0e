"""场所数据统计 against a direct recount on a generated (small) year: every place, rolled up its subtree,
for the whole year and for a month range, on SQLite and PostgreSQL; months follow the local zone."""

from __future__ import annotations

from datetime import datetime

import pytest

from models import db
from models.practice import stats
from tests.support.practice_year import generate, rolled_up


@pytest.mark.parametrize("backend", ["app_lite", "app_pg"])
def test_statistics_match_a_direct_recount(request, backend):
    handle = request.getfixturevalue(backend)
    with handle.app.app_context():
        generated = generate(year=2025, activities=1200, centres=2, institutes=3, stations=2, chunk=600)
        now = datetime(2026, 1, 1)
        for months in (range(1, 13), range(3, 6)):
            expected = rolled_up(generated, months)
            rows = stats.report((2025, months.start), (2025, months.stop - 1), now=now, tz="Asia/Shanghai")
            assert {r.place.id: (r.planned, r.done, r.participants) for r in rows} == expected
        centre = rows[0]
        assert centre.place.level == 1 and sum(d for _p, d in centre.by_month.values()) == centre.done
        # before the year ends only what has ended counts: on 1 March (08:00 local) January and February
        midyear = stats.report((2025, 1), (2025, 12), now=datetime(2025, 3, 1), tz="Asia/Shanghai")
        early = rolled_up(generated, range(1, 3))
        assert {r.place.id: r.done for r in midyear} == {pid: v[1] for pid, v in early.items()}
        db.session.rollback()

"""City-scale statistics: generate a city on PostgreSQL, build the roll-ups, time the statistics pages'
reads side by side with the direct SQL recount, and an export of the org nearest 120,000 members with its memory.

    python bench/stats_scale.py                                   # the full city: 2 M / 20 M / 20,000 orgs
    python bench/stats_scale.py --volunteers 200000 --records 2000000 --orgs 20000
    python bench/stats_scale.py --volunteers 3000 --records 30000 --orgs 300 --check   # roll-up == recount
    python bench/stats_scale.py --volunteers 200000 --records 2000000 --keep   # build once, keep the database
    python bench/stats_scale.py --reuse /tmp/wx_bench_…/stack.json             # measure it again (migrated first)
    python bench/stats_scale.py --drop /tmp/wx_bench_…/stack.json              # and drop it when done

The database is the bench's own (``common.service_stack``: created, migrated, dropped afterwards).
The tree (5 levels, ~12 children each) is written with COPY; volunteers, memberships, projects and
service records are generated inside PostgreSQL (``INSERT … SELECT generate_series``: no client round
trip per row), with foreign-key triggers off while loading.  The roll-ups are then built by the same
definitions as ``models.stats.recount`` in set-based SQL (``--check`` compares the two on a small city).
Every volunteer is a member of one level-5 org; records spread over 24 months; hours 1–4.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, drop_database, rss_kib, service_stack, tempdir  # noqa: E402

BASE_DAY = date(2025, 1, 1)
DAYS = 730
TODAY = date(2026, 12, 1)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# ------------------------------------------------------------------------------- the city
def tree(total: int) -> list[tuple[int, int | None, int, str]]:
    """(id, parent, level, path) of a 5-level tree of about ``total`` orgs, ids level by level."""
    fan = 1
    while sum(fan ** k for k in range(5)) < total:
        fan += 1
    rows, level_ids, next_id = [(1, None, 1, "/1/")], [[1]], 2
    for level in range(2, 6):
        ids = []
        for parent in level_ids[-1]:
            for _ in range(fan):
                if next_id > total:
                    break
                path = rows[parent - 1][3] + f"{next_id}/"
                rows.append((next_id, parent, level, path))
                ids.append(next_id)
                next_id += 1
        level_ids.append(ids)
    return rows


def generate(url: str, volunteers: int, records: int, orgs: int, id_cipher: str, phone_cipher: str) -> dict:
    orgs_rows = tree(orgs)
    leaves = [r[0] for r in orgs_rows if r[2] == 5] or [r[0] for r in orgs_rows if r[2] == max(x[2] for x in orgs_rows)]
    first_leaf, n_leaves = leaves[0], len(leaves)
    projects = max(records // 100, 10)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")  # no FK triggers while loading
        conn.execute("SET maintenance_work_mem = '512MB'")
        started = time.perf_counter()
        with conn.cursor().copy("COPY organization (id, parent_id, level, path, name, org_type, service_domains_text,"
                                " region, address, intro, contact_name, contact_phone, status, review_exempt,"
                                " created_at) FROM STDIN") as copy:
            for oid, parent, level, path in orgs_rows:
                copy.write_row((oid, parent, level, path, f"第{level}级组织{oid}", "民间公益", "|社区服务|", "崇川区", "",
                                "" if oid % 7 == 0 else "组织简介", "", "", "active", False, "2024-01-01"))
        conn.execute("SELECT setval('organization_id_seq', %s)", (len(orgs_rows),))
        log(f"orgs: {len(orgs_rows)} (COPY) in {time.perf_counter() - started:.1f}s")
        step = time.perf_counter()
        conn.execute(
            "INSERT INTO volunteer (id, number, name, gender, id_type, id_number_encrypted, id_number_hash,"
            " id_number_masked, phone_encrypted, phone_hash, phone_masked, password_hash, password_must_change,"
            " qr_token, country, created_at)"
            " SELECT i, '3206' || lpad(i::text, 11, '0'), '志愿者' || i, CASE WHEN i %% 2 = 0 THEN 'F' ELSE 'M' END,"
            " 'mainland_id', %s, md5('id' || i), '3206**********' || lpad((i %% 10000)::text, 4, '0'), %s,"
            " md5('ph' || i), '139****' || lpad((i %% 10000)::text, 4, '0'), 'x', false, md5('qr' || i), '中国',"
            " timestamp '2020-01-01' + (i %% 2500) * interval '1 day'"
            " FROM generate_series(1, %s::bigint) AS i", (id_cipher, phone_cipher, volunteers))
        conn.execute("SELECT setval('volunteer_id_seq', %s)", (volunteers,))
        conn.execute("INSERT INTO membership (volunteer_id, org_id, state, slot, applied_at, decided_at)"
                     " SELECT i, %s + (i %% %s), 'approved', 1, timestamp '2024-01-01', timestamp '2024-01-01'"
                     " FROM generate_series(1, %s::bigint) AS i", (first_leaf, n_leaves, volunteers))
        log(f"volunteers + memberships: {volunteers} in {time.perf_counter() - step:.1f}s")
        step = time.perf_counter()
        conn.execute(
            "INSERT INTO project (id, org_id, name, short_name, recruit_count, accepted_count, scope, needs_review,"
            " category, service_targets_text, topic, region, region_detail, place, latitude, longitude, description, requirements,"
            " contact_name, contact_phone, signup_start, signup_end, start_date, end_date, daily_start, daily_end,"
            " signup_opens_at, signup_closes_at, starts_at, ends_at, checkin_mode, preset_hours, status,"
            " published_at, updated_at, first_checkin_at)"
            " SELECT p, 1 + (p %% %s), '项目' || p, '项目' || p, 100, 0, 'all', false, '其它', '', '', '崇川区', '',"
            " '', 32.01, 120.86, '', '', '', '', d, d, d, d, time '09:00', time '11:30', d, d, d, d + 1,"
            " CASE WHEN p %% 5 = 0 THEN 'double' ELSE 'single' END, 2, 'approved', d, d, d"
            " FROM (SELECT p, %s::date + (p %% %s)::int AS d FROM generate_series(1, %s::bigint) AS p) AS s",
            (len(orgs_rows), BASE_DAY, DAYS, projects))
        conn.execute("INSERT INTO project_closure (project_id, summary, closed_at)"
                     " SELECT id, '结项小结', now() FROM project WHERE checkin_mode = 'double' AND id % 2 = 0")
        log(f"projects: {projects} in {time.perf_counter() - step:.1f}s")
        step = time.perf_counter()
        chunk = 2_000_000
        for start in range(0, records, chunk):
            conn.execute(
                "INSERT INTO attendance_cycle (project_id, volunteer_id, day, mode, source, state, signed_in_at,"
                " hours, points, recorded_at, created_at)"
                " SELECT p, v, %s::date + (p %% %s)::int, CASE WHEN p %% 5 = 0 THEN 'double' ELSE 'single' END, 'page',"
                " CASE WHEN i %% 50 = 0 THEN 'cancelled' ELSE 'confirmed' END, %s::date + (p %% %s)::int + time '09:00',"
                " 1 + (i %% 7) * 0.5, 0, %s::date + (p %% %s)::int, %s::date + (p %% %s)::int"
                " FROM (SELECT i, 1 + (hashint(i) %% %s) AS p, 1 + (hashint(i + 7777777) %% %s) AS v"
                "       FROM generate_series(%s::bigint, %s::bigint) AS i) AS s",
                (BASE_DAY, DAYS, BASE_DAY, DAYS, BASE_DAY, DAYS, BASE_DAY, DAYS, projects, volunteers,
                 start + 1, min(start + chunk, records)))
            log(f"  records {min(start + chunk, records)}/{records}")
        log(f"records: {records} in {time.perf_counter() - step:.1f}s")
        conn.execute("SET session_replication_role = DEFAULT")
        step = time.perf_counter()
        conn.execute("ANALYZE")
        log(f"analyze {time.perf_counter() - step:.1f}s")
    return {"orgs": len(orgs_rows), "projects": projects, "first_leaf": first_leaf}


HASHINT = ("CREATE OR REPLACE FUNCTION hashint(i bigint) RETURNS bigint LANGUAGE sql IMMUTABLE AS"
           " $$ SELECT abs(((i * 2654435761) # (i >> 7)) % 2147483647) $$")


# ------------------------------------------------------------------------------ roll-ups
ROLLUP_SQL = [
    # every org and its ancestors (itself included), from the materialised paths
    "CREATE UNLOGGED TABLE bench_anc AS SELECT o.id AS org_id, a::int AS anc_id FROM organization o,"
    " unnest(string_to_array(trim(both '/' from o.path), '/')) AS a",
    "CREATE INDEX ON bench_anc (org_id)",
    # volunteers' periods
    "INSERT INTO stat_volunteer_period (volunteer_id, period, hours, cycles)"
    " SELECT volunteer_id, to_char(day, 'YYYY-MM'), sum(hours), count(*) FROM attendance_cycle"
    " WHERE state IN ('recorded', 'confirmed') GROUP BY 1, 2",
    "INSERT INTO stat_volunteer_period (volunteer_id, period, hours, cycles)"
    " SELECT volunteer_id, left(period, 4), sum(hours), sum(cycles) FROM stat_volunteer_period"
    " WHERE length(period) = 7 GROUP BY 1, 2",
    "INSERT INTO stat_volunteer_period (volunteer_id, period, hours, cycles)"
    " SELECT volunteer_id, '*', sum(hours), sum(cycles) FROM stat_volunteer_period WHERE length(period) = 4 GROUP BY 1",
    # orgs' activity, by the project's org and all above it, per month
    "CREATE UNLOGGED TABLE bench_org_month AS"
    " SELECT a.anc_id AS org_id, m.month, sum(m.n) AS participations,"
    "  sum(CASE WHEN m.mode = 'single' THEN m.h ELSE 0 END) AS hours_single,"
    "  sum(CASE WHEN m.mode = 'double' THEN m.h ELSE 0 END) AS hours_double"
    " FROM (SELECT p.org_id, to_char(c.day, 'YYYY-MM') AS month, c.mode, sum(c.hours) AS h, count(*) AS n"
    "       FROM attendance_cycle c JOIN project p ON p.id = c.project_id"
    "       WHERE c.state IN ('recorded', 'confirmed') GROUP BY 1, 2, 3) m"
    " JOIN bench_anc a ON a.org_id = m.org_id GROUP BY 1, 2",
    # valid projects: 单签 with a check-in, 双签 with a check-in and 结项
    "CREATE UNLOGGED TABLE bench_projects AS"
    " SELECT a.anc_id AS org_id, to_char(p.start_date, 'YYYY-MM') AS month,"
    "  count(*) FILTER (WHERE p.checkin_mode = 'single') AS ps, count(*) FILTER (WHERE p.checkin_mode = 'double') AS pd,"
    "  count(*) FILTER (WHERE a.anc_id = p.org_id) AS own"
    " FROM project p JOIN bench_anc a ON a.org_id = p.org_id"
    " WHERE p.first_checkin_at IS NOT NULL AND (p.checkin_mode = 'single'"
    "  OR p.id IN (SELECT project_id FROM project_closure)) GROUP BY 1, 2",
    # members: each member once per org of the subtrees they are in
    "CREATE UNLOGGED TABLE bench_closure AS SELECT DISTINCT m.volunteer_id, a.anc_id AS org_id"
    " FROM membership m JOIN bench_anc a ON a.org_id = m.org_id WHERE m.state = 'approved'",
    "CREATE UNLOGGED TABLE bench_joined AS SELECT c.org_id, to_char(v.created_at + interval '8 hours', 'YYYY-MM') AS month,"
    " count(*) AS n FROM bench_closure c JOIN volunteer v ON v.id = c.volunteer_id GROUP BY 1, 2",
    "INSERT INTO stat_org_period (org_id, period, participations, hours_single, hours_double, projects_single,"
    " projects_double, own_projects, joined, members, effective, followers)"
    " SELECT org_id, month, sum(participations), sum(hours_single), sum(hours_double), sum(ps), sum(pd), sum(own),"
    "  sum(joined), 0, 0, 0 FROM ("
    "  SELECT org_id, month, participations, hours_single, hours_double, 0 ps, 0 pd, 0 own, 0 joined FROM bench_org_month"
    "  UNION ALL SELECT org_id, month, 0, 0, 0, ps, pd, own, 0 FROM bench_projects"
    "  UNION ALL SELECT org_id, month, 0, 0, 0, 0, 0, 0, n FROM bench_joined) u GROUP BY 1, 2",
    "INSERT INTO stat_org_period (org_id, period, participations, hours_single, hours_double, projects_single,"
    " projects_double, own_projects, joined, members, effective, followers)"
    " SELECT org_id, left(period, 4), sum(participations), sum(hours_single), sum(hours_double), sum(projects_single),"
    "  sum(projects_double), sum(own_projects), sum(joined), 0, 0, 0 FROM stat_org_period GROUP BY 1, 2",
    "INSERT INTO stat_org_period (org_id, period, participations, hours_single, hours_double, projects_single,"
    " projects_double, own_projects, joined, members, effective, followers)"
    " SELECT org_id, '*', sum(participations), sum(hours_single), sum(hours_double), sum(projects_single),"
    "  sum(projects_double), sum(own_projects), sum(joined), 0, 0, 0 FROM stat_org_period"
    " WHERE length(period) = 4 GROUP BY 1",
    "INSERT INTO stat_org_period (org_id, period, participations, hours_single, hours_double, projects_single,"
    " projects_double, own_projects, joined, members, effective, followers)"
    " SELECT c.org_id, '*', 0, 0, 0, 0, 0, 0, 0, count(*), count(vp.volunteer_id), 0 FROM bench_closure c"
    " LEFT JOIN stat_volunteer_period vp ON vp.volunteer_id = c.volunteer_id AND vp.period = '*' AND vp.cycles > 0"
    " GROUP BY 1 ON CONFLICT (org_id, period) DO UPDATE SET members = excluded.members, effective = excluded.effective",
    # the members' activity chains: each active (and target-reaching) month linked to the previous one
    "INSERT INTO stat_org_chain (org_id, kind, month, prev_month, members)"
    " SELECT c.org_id, l.kind, l.period, l.prev, count(*) FROM ("
    "  SELECT volunteer_id, 'active' AS kind, period,"
    "   coalesce(lag(period) OVER (PARTITION BY volunteer_id ORDER BY period), '') AS prev"
    "  FROM stat_volunteer_period WHERE length(period) = 7 AND cycles > 0"
    "  UNION ALL SELECT volunteer_id, 'met', period,"
    "   coalesce(lag(period) OVER (PARTITION BY volunteer_id ORDER BY period), '')"
    "  FROM stat_volunteer_period WHERE length(period) = 7 AND cycles > 0 AND hours >= 2) l"
    " JOIN bench_closure c ON c.volunteer_id = l.volunteer_id GROUP BY 1, 2, 3, 4",
    "DROP TABLE bench_anc, bench_org_month, bench_projects, bench_closure, bench_joined",
    "ANALYZE stat_org_period", "ANALYZE stat_volunteer_period", "ANALYZE stat_org_chain",
]


def build_rollups(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET work_mem = '256MB'")
        for sql in ROLLUP_SQL:
            step = time.perf_counter()
            conn.execute(sql)
            log(f"  {time.perf_counter() - step:6.1f}s  {sql[:70]}")


# ------------------------------------------------------------------------------- timings
def timed(func, repeat: int = 7) -> dict:
    func()  # warm
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        func()
        times.append((time.perf_counter() - started) * 1000)
    return {"median_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1)}


DIRECT_ROOT_12 = (
    "SELECT count(*), sum(c.hours), count(DISTINCT c.volunteer_id) FROM attendance_cycle c"
    " JOIN project p ON p.id = c.project_id JOIN organization o ON o.id = p.org_id"
    " WHERE o.path LIKE '/1/%%' AND c.state IN ('recorded', 'confirmed') AND c.day >= date '2025-12-01'"
    " AND c.day < date '2026-12-01'")
DIRECT_MEMBERS_PAGE = (
    "SELECT v.id, sum(c.hours), count(c.id) FROM volunteer v LEFT JOIN attendance_cycle c ON c.volunteer_id = v.id"
    " AND c.state IN ('recorded', 'confirmed') WHERE EXISTS (SELECT 1 FROM membership m JOIN organization o"
    " ON o.id = m.org_id WHERE m.volunteer_id = v.id AND m.state = 'approved' AND o.path LIKE '/1/%%')"
    " GROUP BY v.id ORDER BY v.id LIMIT 20")
DIRECT_RANKING = (
    "SELECT volunteer_id, sum(hours) FROM attendance_cycle WHERE state IN ('recorded', 'confirmed')"
    " AND day >= date '2026-01-01' GROUP BY 1 ORDER BY 2 DESC LIMIT 10")


def _children_rss() -> int:
    """The RSS of this process's children (the Excel writer of an XLSX export), KiB."""
    pid = os.getpid()
    total = 0
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        try:
            total += rss_kib(int(child))
        except (FileNotFoundError, RuntimeError):  # ended meanwhile
            pass
    return total


def _sample_rss(samples: list, writer_samples: list, done: threading.Event) -> None:
    while not done.is_set():
        samples.append(rss_kib(os.getpid()))
        writer_samples.append(_children_rss())
        time.sleep(0.2)


def measure(env: dict, url: str, first_leaf: int) -> dict:
    os.environ.update(env)
    from jobs.exports import run_export
    from models import Export, Organization, db, utcnow
    from models import exports as ex
    from models.stats import rankings, reads
    from wx_service import create_app

    app = create_app()
    out = {}
    with app.app_context():
        root = db.session.get(Organization, 1)
        out["志愿活动统计 root 12 months (roll-up)"] = timed(lambda: reads.activity_stats(root, "2025-12", "2026-11"))
        out["成员服务概况 first page (roll-up)"] = timed(lambda: reads.member_overview(root, today=TODAY))
        out["排行榜 volunteers year, city (roll-up)"] = timed(lambda: rankings.top_volunteers("year", TODAY))
        out["排行榜 orgs year, city (roll-up)"] = timed(lambda: rankings.top_orgs("year", TODAY))
        district = db.session.get(Organization, 2)
        out["排行榜 volunteers month, district (roll-up)"] = timed(lambda: rankings.top_volunteers("month", TODAY,
                                                                                                 district))
        db.session.rollback()
    with psycopg.connect(url) as conn:
        out["志愿活动统计 root 12 months (direct SQL)"] = timed(lambda: conn.execute(DIRECT_ROOT_12).fetchall(), 2)
        out["成员服务概况 first page (direct SQL)"] = timed(lambda: conn.execute(DIRECT_MEMBERS_PAGE).fetchall(), 2)
        out["排行榜 volunteers year, city (direct SQL)"] = timed(lambda: conn.execute(DIRECT_RANKING).fetchall(), 2)
    with app.app_context():
        # the org nearest 120,000 members (at 200 k volunteers the root, at 2 M a district), exported by its
        # admin (a stand-in row: no login here)
        from models.stats.tables import OrgPeriod

        org_id, members = min(db.session.execute(
            db.select(OrgPeriod.org_id, OrgPeriod.members).where(OrgPeriod.period == "*")).all(),
            key=lambda r: abs(r[1] - 120_000))
        for fmt in ("csv", "xlsx"):
            export = Export(kind="members", fmt=fmt, org_id=org_id, params={"org_id": org_id, "children": True},
                            whole_ids=True, requested_by_id=None, state=ex.QUEUED, created_at=utcnow())
            db.session.add(export)
            db.session.commit()
            export_id = export.id
            samples, writer_samples, done = [], [], threading.Event()

            sampler = threading.Thread(target=_sample_rss, args=(samples, writer_samples, done))
            before = rss_kib(os.getpid())
            sampler.start()
            started = time.perf_counter()
            rows = run_export(export_id)
            seconds = time.perf_counter() - started
            done.set()
            sampler.join()
            size = Path(app.config["WX_SETTINGS"].app.media_dir, "exports", f"{export_id}.{fmt}").stat().st_size
            quarter = samples[len(samples) // 4] if samples else before
            out[f"export {rows} members ({fmt})"] = {
                "seconds": round(seconds, 1), "rss_before_mib": round(before / 1024, 1),
                "rss_at_25pct_mib": round(quarter / 1024, 1), "rss_max_mib": round(max(samples or [before]) / 1024, 1),
                "writer_rss_max_mib": round(max(writer_samples or [0]) / 1024, 1),
                "writer_rss_at_25pct_mib": round((writer_samples[len(writer_samples) // 4] if writer_samples else 0)
                                                 / 1024, 1),
                "file_mib": round(size / 2**20, 1), "org_members": members}
    return out


def check(env: dict) -> None:
    os.environ.update(env)
    from models.stats import recount
    from wx_service import create_app

    with create_app().app_context():
        counted, rolled = recount.recount(), recount.rollup_snapshot()
        for part in counted:
            differing = [k for k in set(counted[part]) | set(rolled[part]) if counted[part].get(k) != rolled[part].get(k)]
            log(f"check {part}: {len(counted[part])} rows recounted, {len(differing)} differing {differing[:3]}")
            assert not differing, part


def build(env: dict, args: argparse.Namespace) -> dict:
    """Generate the city and its roll-ups in the stack's database; what ``measure`` needs of it."""
    url = env["BENCH_DB"]
    os.environ.update(env)
    from models import personal_data
    from wx_service import create_app

    with create_app().app_context():
        id_cipher, phone_cipher = personal_data.encrypt("320602199001010011"), personal_data.encrypt("13900000000")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(HASHINT)
        conn.execute("TRUNCATE volunteer, binding, organization CASCADE")  # the stack's bound volunteer
    started = time.perf_counter()
    made = generate(url, args.volunteers, args.records, args.orgs, id_cipher, phone_cipher)
    log(f"generated in {time.perf_counter() - started:.0f}s; building roll-ups")
    step = time.perf_counter()
    build_rollups(url)
    log(f"roll-ups in {time.perf_counter() - step:.0f}s")
    with psycopg.connect(url) as conn:
        size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()[0]
    log(f"database size {size}")
    if args.check:
        check(env)
    return made


def report(env: dict, first_leaf: int) -> None:
    for name, figures in measure(env, env["BENCH_DB"], first_leaf).items():
        print(f"{name:48s} {figures}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--volunteers", type=int, default=2_000_000)
    parser.add_argument("--records", type=int, default=20_000_000)
    parser.add_argument("--orgs", type=int, default=20_000)
    parser.add_argument("--check", action="store_true", help="compare the SQL-built roll-ups with models' recount")
    parser.add_argument("--keep", action="store_true", help="keep the database; its stack.json is printed")
    parser.add_argument("--reuse", type=Path, help="stack.json of a kept database: migrate it, measure again")
    parser.add_argument("--drop", type=Path, help="stack.json of a kept database: drop it")
    args = parser.parse_args()
    if args.drop or args.reuse:
        stack = json.loads((args.drop or args.reuse).read_text())
        if args.drop:
            drop_database(stack["env"]["BENCH_DB_NAME"])
            return
        env = {**os.environ, **stack["env"], "PYTHONPATH": str(ROOT)}
        subprocess.run([sys.executable, "-m", "flask", "--app", "wx_service", "db", "upgrade"], env=env, check=True,
                       cwd=ROOT, capture_output=True, timeout=600)
        report(env, stack["first_leaf"])
        return
    work = tempdir()
    with service_stack(work, keep=args.keep) as env:
        made = build(env, args)
        if args.keep:
            stack = work / "stack.json"
            kept = {k: v for k, v in env.items() if k.startswith(("BENCH_", "WX_SERVICE_"))}
            stack.write_text(json.dumps({"env": kept, "first_leaf": made["first_leaf"]}))
            log(f"kept: --reuse {stack}  (drop it with --drop {stack})")
        report(env, made["first_leaf"])


if __name__ == "__main__":
    main()

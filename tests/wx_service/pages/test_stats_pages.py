"""数据统计 pages, 排行榜, exports and 结项 through the Flask test client, on PostgreSQL and SQLite."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from models import Organization, RuleViolation, Volunteer, closure, db, project_rules
from models import membership as ms
from models import project as pr
from models import signup as su
from models.attendance import punches as att_punches
from models.org_rules import found_suborg
from models.positions import Position
from models.stats import rankings, reads
from tests.support.orgs import FIELDS, NOW, build_tree, make_volunteer
from tests.support.people import bind, csrf_token, sign_in
from tests.support.projects import fields, typed
from tests.support.s3 import moto_s3  # noqa: F401  (fixture)

SITE = Position(32.0100, 120.8600, 20)
MARCH, APRIL = date(2026, 3, 2), date(2026, 4, 6)


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return pr.to_utc(day, datetime.min.time().replace(hour=hh, minute=mm))


def _project(admin, day, mode, name):
    extra = {"checkin_mode": "single", "preset_hours": "2", "punch_radius": "", "checkout_mode": ""} \
        if mode == "single" else {}
    return project_rules.publish_project(admin, typed(fields(
        name=name, short_name=name[:6], start_date=day.isoformat(), end_date=day.isoformat(),
        signup_end=day.isoformat(), needs_review="0", **extra)), now=NOW)


@pytest.fixture(params=["postgres", "sqlite"])
def any_app(request):
    """The figures on both engines; the pages (``app``) on PostgreSQL, as production serves them."""
    handle = request.getfixturevalue("pg_app" if request.param == "postgres" else "sqlite_app")
    handle.reset()
    yield handle
    handle.reset()


@pytest.fixture
def app(pg_app):
    pg_app.reset()
    yield pg_app
    pg_app.reset()


def _city(any_app):
    """Four members of 和平桥街道 (one also of 城东街道), one of 海门区; hours in March and April."""
    with any_app.app.app_context():
        orgs, admins = build_tree()
        found_suborg(admins["root"], orgs["district"].id, {**FIELDS, "name": "无管理员志愿服务队"}, now=NOW)
        people = [make_volunteer(n) for n in ("张亚林", "王建华", "李桂芳", "=HYPERLINK(1)", "陈美玲")]
        for person, org_key in zip(people, ["street", "street", "street", "street", "sibling_district"], strict=True):
            ms.join_org(person, orgs[org_key].id, now=NOW)
            ms.approve_members(admins["root"], orgs[org_key].id, [person.id], now=NOW)
        ms.join_org(people[0], orgs["sibling_street"].id, now=NOW)
        ms.approve_members(admins["root"], orgs["sibling_street"].id, [people[0].id], now=NOW)
        single = _project(admins["district"], MARCH, "single", "三月文明交通劝导")
        double = _project(admins["district"], APRIL, "double", "四月滨江环保活动")
        for p in (single, double):
            for person in people:
                su.sign_up(person, p.id, now=NOW)
        for person in people[:3]:
            att_punches.punch_single(person, single.id, SITE, now=at(MARCH, 10))
        att_punches.sign_in(people[0], double.id, SITE, now=at(APRIL, 9))
        att_punches.sign_out(people[0], double.id, SITE, now=at(APRIL, 10, 10))  # 1.5 h: below the target
        for admin_key in ("root", "street"):
            bind(admins[admin_key], f"o_stats_{admin_key}")
        bind(people[1], "o_stats_member")
        db.session.commit()
        any_app.drain_jobs()
        yield {"orgs": orgs, "admins": admins, "people": people, "single": single, "double": double,
               "ids": {k: o.id for k, o in orgs.items()}, "people_ids": [p.id for p in people]}
        db.session.rollback()


@pytest.fixture
def city(any_app):
    yield from _city(any_app)


@pytest.fixture
def pg_city(app):
    """The same city as plain ids, with no app context held: each request has its own (and its own CSRF)."""
    made = _city(app)
    city = next(made)
    ids = {"ids": city["ids"], "people_ids": city["people_ids"],
           "admin_ids": {k: a.id for k, a in city["admins"].items()}}
    next(made, None)
    yield ids


def test_activity_figures_over_the_subtree(city):
    rows = reads.activity_stats(city["orgs"]["root"], "2026-03", "2026-04")
    root, district, sibling = rows[0], rows[1], rows[2]
    assert (root.members, root.effective, root.ineffective) == (5, 3, 2)
    assert (root.participations, root.hours_single, root.hours_double) == (4, Decimal("6.00"), Decimal("1.50"))
    assert (root.active, root.met, root.projects_single, root.projects_double, root.projects) == (3, 3, 1, 0, 1)
    assert root.hours_per_member == Decimal("1.50") and root.activity == Decimal("60.00")
    assert root.months == {"2026-03": Decimal("6.00"), "2026-04": Decimal("1.50")}
    assert district.org.name == "崇川区志愿者协会" and district.members == 4  # 张亚林 counted once in two streets
    assert sibling.members == 1 and sibling.hours == 0
    april = reads.activity_stats(city["orgs"]["root"], "2026-04", "2026-04")[0]
    assert (april.active, april.met, april.participations) == (1, 0, 1)  # 1.5 h in April: not 达标


def test_a_closed_double_project_counts(city):
    with pytest.raises(RuleViolation) as short:
        closure.close_project(city["admins"]["district"], city["double"].id, "活动很好", ["M1"], account="demo",
                              now=at(APRIL + timedelta(days=1), 9))
    assert short.value.code == "summary_short"
    with pytest.raises(RuleViolation) as photo:
        closure.close_project(city["admins"]["district"], city["double"].id, "志愿者们" * 6, [], account="demo",
                              now=at(APRIL + timedelta(days=1), 9))
    assert photo.value.code == "photo_required"
    with pytest.raises(RuleViolation) as early:
        closure.close_project(city["admins"]["district"], city["double"].id, "志愿者们" * 6, ["M1"], account="demo",
                              now=at(APRIL, 8))
    assert early.value.code == "not_finished"
    closure.close_project(city["admins"]["district"], city["double"].id, "志愿者们" * 6, ["M1"], account="demo",
                          now=at(APRIL + timedelta(days=1), 9))
    root = reads.activity_stats(city["orgs"]["root"], "2026-03", "2026-04")[0]
    assert (root.projects_single, root.projects_double, root.projects) == (1, 1, 2)


def test_the_statistics_page_drills_down_and_draws_the_chart(pg_city, app):
    client = sign_in(app.client(), "o_stats_root")
    page = client.get("/m/admin/stats?account=demo&first=2026-03&last=2026-04")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<svg" in html and "polyline" in html
    assert "江海志愿者服务总站-&gt;崇川区志愿者协会" in html and "60.00%" in html
    drill = re.search(r'class="weui-form-preview__value stats-drill" href="([^"]+)"', html).group(1)
    child = client.get(drill.replace("&amp;", "&")).get_data(as_text=True)
    assert "和平桥街道志愿服务支队" in child
    street = sign_in(app.client(), "o_stats_street")
    assert street.get(f"/m/admin/stats?account=demo&org={pg_city['ids']['root']}").status_code == 403
    assert street.get("/m/admin/stats?account=demo&first=2026-13").status_code == 400
    assert sign_in(app.client(), "o_stats_member").get("/m/admin/stats?account=demo").status_code == 403


def test_member_overview_filters_and_activities(pg_city, app):
    client = sign_in(app.client(), "o_stats_root")
    with app.app.app_context():
        member = db.session.get(Volunteer, pg_city["people_ids"][0])
        id_number, number = member.id_number, member.number
    by_id = client.get(f"/m/admin/stats/members?account=demo&key=id_number&q={id_number}").get_data(as_text=True)
    table = by_id[by_id.index("<table"):]
    assert number in table and table.count("<tr>") == 2  # the header and 张亚林
    assert id_number not in table
    own_only = client.get("/m/admin/stats/members?account=demo&children=0").get_data(as_text=True)
    assert "没有符合条件的成员" in own_only
    everyone = client.get("/m/admin/stats/members?account=demo&first=2026-04&last=2026-04").get_data(as_text=True)
    assert "共 5 人" in everyone and "3.50" in everyone  # 张亚林: 2 + 1.5 in total
    activities = client.get(f"/m/admin/stats/members/{pg_city['people_ids'][0]}?account=demo").get_data(as_text=True)
    assert "四月滨江环保活动" in activities and "三月文明交通劝导" in activities
    street = sign_in(app.client(), "o_stats_street")
    assert street.get(f"/m/admin/stats/members/{pg_city['people_ids'][4]}?account=demo").status_code == 404


def test_anomalies(pg_city, app):
    client = sign_in(app.client(), "o_stats_root")
    never = client.get("/m/admin/stats/anomalies?account=demo&kind=no_hours_ever").get_data(as_text=True)
    assert "陈美玲" in never and "李桂芳" not in never
    below = client.get("/m/admin/stats/anomalies?account=demo&kind=below_target&first=2026-04&last=2026-04")
    assert "张亚林" in below.get_data(as_text=True)  # 1.5 h in April
    no_admin = client.get("/m/admin/stats/anomalies?account=demo&kind=no_admin").get_data(as_text=True)
    assert "无管理员志愿服务队" in no_admin and "和平桥街道志愿服务支队" not in no_admin
    idle = client.get("/m/admin/stats/anomalies?account=demo&kind=no_activity&first=2026-03&last=2026-04")
    assert "崇川区志愿者协会" not in idle.get_data(as_text=True) and "海门区志愿者协会" in idle.get_data(as_text=True)
    assert client.get("/m/admin/stats/anomalies?account=demo&kind=bogus").status_code == 404


def test_rankings_mask_names_and_follow_the_scope(pg_city, app):
    with app.app.app_context():
        year = rankings.top_volunteers("year", date(2026, 4, 30))
        assert [(r.name, r.value) for r in year][:1] == [("张*林", Decimal("3.50"))]
        assert rankings.top_volunteers("month", date(2026, 4, 30))[0].value == Decimal("1.50")
        assert rankings.top_volunteers("all", date(2026, 4, 30), db.session.get(Organization,
                                                                                 pg_city["ids"]["sibling_district"])) == []
        assert [r.value for r in rankings.top_orgs("year", date(2026, 4, 30))] == [1]
    html = sign_in(app.client(), "o_stats_member").get("/m/rankings?account=demo&span=all&scope=org").get_data(
        as_text=True)
    assert "张*林" in html and "张亚林" not in html and "本组织" in html


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_member_export_is_a_job_audited_masked_and_neutralised(pg_city, app, fmt):
    def ask(openid, org_key):
        client = sign_in(app.client(), openid)
        token = csrf_token(client, "/m/admin/exports?account=demo")
        made = client.post("/m/admin/exports?account=demo", data={
            "csrf_token": token, "kind": "members", "fmt": fmt, "org": pg_city["ids"][org_key], "children": "1"})
        assert made.status_code == 302
        return client, int(made.headers["Location"].rsplit("/", 1)[1].split("?")[0])

    def rows_of(client, export_id):
        progress = client.get(f"/m/api/exports/{export_id}?account=demo").get_json()
        assert progress["state"] == "done" and progress["percent"] == 100 and progress["rows_done"] == 4
        body = client.get(progress["download"]).data
        if fmt == "csv":
            return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
        return [list(r) for r in load_workbook(io.BytesIO(body), read_only=True).active.iter_rows(values_only=True)]

    street, street_export = ask("o_stats_street", "street")
    root, root_export = ask("o_stats_root", "street")
    assert street.get(f"/m/api/exports/{street_export}?account=demo").get_json()["state"] == "queued"
    app.run_jobs()
    with app.app.app_context():
        whole = [db.session.get(Volunteer, i).id_number for i in pg_city["people_ids"]]
    rows = rows_of(street, street_export)
    assert rows[0][:3] == ["姓名", "志愿号", "身份证号"] and len(rows) == 5
    assert "'=HYPERLINK(1)" in [r[0] for r in rows]
    assert not set(whole) & {r[2] for r in rows}  # a street admin gets masked ID numbers
    assert set(whole[:4]) == {r[2] for r in rows_of(root, root_export)[1:]}  # the city's admins see them whole
    with app.app.app_context():
        from models import Export
        audit = db.session.get(Export, street_export)
        assert audit.kind == "members" and audit.downloads == 1 and not audit.whole_ids
        assert audit.requested_by_id == pg_city["admin_ids"]["street"] and audit.created_at is not None
    assert root.get(f"/m/api/exports/{street_export}?account=demo").status_code == 404  # someone else's


@pytest.mark.parametrize("estimate", [None, 1, 10**6])
def test_member_export_rows_are_the_overviews_however_the_batches_fall(city, estimate):
    """Each member of the subtree once (张亚林 is in two of its orgs), with 成员服务概况's figures, in volunteer order;
    the same rows in batches of two, whether the member count the windows are sized from is right, far too small
    (one window holding them all, read on from its last id) or far too large (windows of two ids)."""
    from models import Export
    from models import exports as ex

    root = city["orgs"]["root"]
    export = Export(kind="members", fmt="csv", org_id=root.id, params={"org_id": root.id, "children": True},
                    whole_ids=True, state=ex.QUEUED, created_at=NOW, rows_total=estimate)
    db.session.add(export)
    db.session.flush()
    sheet = ex.KINDS["members"].sheets[0]
    batches = list(sheet.batches(export, 2))
    assert all(len(batch) <= 2 for batch in batches)
    people = sorted(city["people"], key=lambda v: v.id)
    expected = [(v.name, v.number, v.id_number, "男" if v.gender == "M" else "女", v.phone_masked,
                 pr.local_now(v.created_at).date().isoformat(), float(r.total[0]), r.total[1], float(r.year[0]),
                 r.year[1]) for v, r in zip(people, reads.member_rows(people, today=NOW.date()), strict=True)]
    assert [row for batch in batches for row in batch] == expected
    assert [row[6:8] for row in expected][:3] == [(3.5, 2), (2.0, 1), (2.0, 1)]  # the figures are there
    export.whole_ids = False
    assert [row[2] for batch in sheet.batches(export, 2000) for row in batch] == [v.id_number_masked for v in people]


def test_hours_export_and_a_refused_request(pg_city, app):
    client = sign_in(app.client(), "o_stats_street")
    token = csrf_token(client, "/m/admin/exports?account=demo")
    refused = client.post("/m/admin/exports?account=demo", data={
        "csrf_token": token, "kind": "members", "fmt": "csv", "org": pg_city["ids"]["root"]})
    assert refused.status_code == 403
    root = sign_in(app.client(), "o_stats_root")
    token = csrf_token(root, "/m/admin/exports?account=demo")
    made = root.post("/m/admin/exports?account=demo", data={
        "csrf_token": token, "kind": "hours", "fmt": "csv", "org": pg_city["ids"]["root"], "first": "2026-04",
        "last": "2026-04"})
    app.run_jobs()
    page = root.get(made.headers["Location"]).get_data(as_text=True)
    assert "已完成" in page and "下载文件" in page
    export_id = int(made.headers["Location"].rsplit("/", 1)[1].split("?")[0])
    body = root.get(f"/m/admin/exports/{export_id}/download?account=demo").data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert len(rows) == 2 and rows[1][0] == "四月滨江环保活动" and rows[1][7] == "1.5"


def test_the_monthly_target_is_the_configured_one_after_a_rebuild(pg_city, app, monkeypatch):
    """[stats] monthly_target_hours = 1: 张亚林's 1.5 h in April now reaches it, on the page and in 异常数据."""
    from models.stats import recount
    from tests.support.settings import override

    override(app.app, monkeypatch, "stats", monthly_target_hours=1)
    with app.app.app_context():
        recount.rebuild()
        db.session.commit()
        root = db.session.get(Organization, pg_city["ids"]["root"])
        april = reads.activity_stats(root, "2026-04", "2026-04")[0]
        assert (april.active, april.met) == (1, 1)
    client = sign_in(app.client(), "o_stats_root")
    page = client.get("/m/admin/stats?account=demo&first=2026-04&last=2026-04").get_data(as_text=True)
    assert "至少有一个月服务满 1 小时" in page
    below = client.get("/m/admin/stats/anomalies?account=demo&kind=below_target&first=2026-04&last=2026-04")
    assert "张亚林" not in below.get_data(as_text=True)


def test_an_export_file_lives_in_the_media_store(pg_city, app, moto_s3):  # noqa: F811
    """Written by the worker into the bucket (any host serves the download), nothing left on the worker's disk."""
    import os

    from jobs import storage as media_storage
    from tests.jobs.test_storage import s3_store

    bucket, local = s3_store(moto_s3), app.app.extensions[media_storage.EXTENSION]
    app.app.extensions[media_storage.EXTENSION] = bucket
    media_dir = app.config["app"]["media_dir"]
    on_disk = lambda: {(os.path.join(f, n), os.path.getmtime(os.path.join(f, n))) for f, _d, names  # noqa: E731
                       in os.walk(media_dir)
                       for n in names}
    before = on_disk()
    try:
        root = sign_in(app.client(), "o_stats_root")
        made = root.post("/m/admin/exports?account=demo", data={
            "csrf_token": csrf_token(root, "/m/admin/exports?account=demo"), "kind": "members", "fmt": "xlsx",
            "org": pg_city["ids"]["root"]})
        app.run_jobs()
        export_id = int(made.headers["Location"].rsplit("/", 1)[1].split("?")[0])
        assert list(bucket.paths()) == [f"exports/{export_id}.xlsx"]
        download = root.get(f"/m/admin/exports/{export_id}/download?account=demo")
        assert download.status_code == 200 and download.data == bucket.get(f"exports/{export_id}.xlsx")
        assert len(list(load_workbook(io.BytesIO(download.data)).active.rows)) == 1 + 5
        assert on_disk() == before
    finally:
        app.app.extensions[media_storage.EXTENSION] = local


def test_an_export_whose_worker_died_runs_again_after_an_hour(city):
    """A worker killed mid-export leaves the row "running": the abandoned-job take-up may start it again, once."""
    from models import Export
    from models import exports as ex

    root = city["orgs"]["root"]
    export = Export(kind="members", fmt="csv", org_id=root.id, params={"org_id": root.id, "children": True},
                    whole_ids=False, state=ex.RUNNING, created_at=NOW, started_at=NOW)
    db.session.add(export)
    db.session.flush()
    assert not ex.start(export.id, NOW + timedelta(minutes=30))  # another worker may still be writing it
    assert ex.start(export.id, NOW + ex.ABANDONED_AFTER + timedelta(seconds=1))
    assert not ex.start(export.id, NOW + ex.ABANDONED_AFTER + timedelta(seconds=2))  # started again: only once
    db.session.rollback()

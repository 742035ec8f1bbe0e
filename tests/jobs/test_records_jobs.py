"""Jobs of the record on both engines: the national export (requested on its page, written by the one export job
with its progress, a ZIP of CSVs or a workbook of sheets, its rows against a direct query, ID numbers whole or
masked by the admin's level, audited by its Export row) and the periodic star-level check (one message per level
reached)."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from jobs.records import award_star_levels
from models import Binding, Notification, Volunteer, db
from models import attendance as att
from models.attendance import punches as att_punches
from models.exports import Export, neutralise
from models.project import local_now
from models.records import national
from tests.support.orgs import NOW
from tests.support.people import sign_in
from tests.support.projects import TODAY
from tests.support.records import at, served
from tests.support.settings import override

LATER = at(12, 0, TODAY + timedelta(days=2))


@pytest.fixture
def city(any_app):
    app = any_app.app
    with app.app_context():
        made = served(account="demo", openid="o-vol")
        for key, openid in (("root", "o-root"), ("district", "o-district")):
            db.session.add(Binding(account="demo", openid=openid, volunteer_id=made["admins"][key].id))
        made["double"].description = "=HYPERLINK(\"http://evil\")"  # a formula typed into a project must not run
        db.session.commit()
        ids = {"root_org": made["orgs"]["root"].id, "root_admin": made["admins"]["root"].id,
               "volunteer": made["volunteer"].id}
    any_app.drain_jobs()
    app.config["CLOCK_NOW"] = LATER
    yield any_app, ids
    app.config.pop("CLOCK_NOW", None)


def run_jobs(handle):
    backend = handle.app.extensions["wx_jobs"]
    if hasattr(backend, "drain"):
        assert backend.drain(30)
        return
    result = handle.app.test_cli_runner().invoke(args=["worker", "--burst"])
    assert result.exit_code == 0, result.output


def token_of(client, path):
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True))
    assert found, path
    return found.group(1)


def export(handle, client, fmt: str = "csv"):
    """Ask for the national export on its page, run the job, follow the shared progress and download: the Export
    row's id and the file's bytes."""
    page = "/m/admin/national"
    asked = client.post(page, data={"csrf_token": token_of(client, page), "fmt": fmt})
    assert asked.status_code == 302 and asked.headers["Location"].endswith(page)
    with handle.app.app_context():
        export_id = Export.query.filter_by(kind="national").order_by(Export.id.desc()).first().id
    run_jobs(handle)
    progress = client.get(f"/m/api/exports/{export_id}").get_json()
    assert (progress["state"], progress["percent"]) == ("done", 100)
    assert progress["rows_done"] == progress["rows_total"] > 0
    assert f"/m/admin/exports/{export_id}/download" in client.get(page).get_data(as_text=True)
    answer = client.get(progress["download"])
    assert answer.status_code == 200
    return export_id, answer


def csv_sheets(answer) -> dict[str, list[list[str]]]:
    assert answer.mimetype == "application/zip" and ".zip" in answer.headers["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(answer.data)) as archive:
        return {name: list(csv.reader(io.StringIO(archive.read(name).decode("utf-8-sig")))) for name in archive.namelist()}


def test_national_export_rows_against_a_direct_query(city):
    handle, ids = city
    root = sign_in(handle.client(), "o-root")
    assert "全国系统数据导出" in root.get("/m/me").get_data(as_text=True)
    assert "全国系统数据导出" not in sign_in(handle.client(), "o-district").get("/m/me").get_data(as_text=True)
    assert sign_in(handle.client(), "o-district").get("/m/admin/national").status_code == 403
    export_id, answer = export(handle, root)
    sheets = csv_sheets(answer)
    assert list(sheets) == [f"{sheet.title}.csv" for sheet in national.NATIONAL.sheets]
    for sheet in national.NATIONAL.sheets:
        assert tuple(sheets[f"{sheet.title}.csv"][0]) == sheet.header
    with handle.app.app_context():
        counted = (att.Cycle.query.filter(att.Cycle.state.in_(att.COUNTED)).order_by(att.Cycle.id).all())
        records = sheets["志愿服务时间.csv"][1:]
        assert [(int(r[0]), r[2], int(r[3]), r[8]) for r in records] == [
            (c.id, c.volunteer.number, c.project_id, str(c.hours)) for c in counted]
        assert records[0][6] == local_now(counted[0].signed_in_at, "Asia/Shanghai").strftime("%Y-%m-%d %H:%M:%S")
        served_ids = {c.volunteer_id for c in counted}
        volunteers = {r[1]: r for r in sheets["志愿者.csv"][1:]}
        assert set(volunteers) == {v.number for v in Volunteer.query.filter(Volunteer.id.in_(served_ids))}
        person = db.session.get(Volunteer, ids["volunteer"])
        row = volunteers[person.number]
        assert (row[2], row[6], row[11]) == (person.name, person.id_number, person.phone_masked)  # city admin: whole ID
        assert len(sheets["志愿团体.csv"]) - 1 == 6 and len(sheets["志愿服务项目.csv"]) - 1 == 2
        project_row = next(r for r in sheets["志愿服务项目.csv"][1:] if r[12].startswith("'"))
        assert project_row[12] == "'=HYPERLINK(\"http://evil\")"
        # the audit is the Export row: who, when, for which org, whole ID numbers or not, the download
        audit = db.session.get(Export, export_id)
        assert (audit.requested_by_id, audit.org_id, audit.whole_ids, audit.downloads) == (
            ids["root_admin"], ids["root_org"], True, 1)
        assert audit.created_at == LATER and audit.downloaded_at == LATER and audit.params["max_level"] == 1
        assert audit.rows_total == sum(len(rows) - 1 for rows in sheets.values())


def test_national_export_as_one_workbook_with_a_sheet_each(city):
    handle, ids = city
    _export_id, answer = export(handle, sign_in(handle.client(), "o-root"), "xlsx")
    assert answer.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(answer.data), read_only=True)
    assert book.sheetnames == [sheet.title for sheet in national.NATIONAL.sheets]
    for sheet in national.NATIONAL.sheets:
        rows = list(book[sheet.title].iter_rows(values_only=True))
        assert rows[0] == sheet.header
    with handle.app.app_context():
        counted = att.Cycle.query.filter(att.Cycle.state.in_(att.COUNTED)).order_by(att.Cycle.id).all()
        records = list(book["志愿服务时间"].iter_rows(values_only=True))[1:]
        assert [(r[0], r[3], r[8]) for r in records] == [(c.id, c.project_id, str(c.hours)) for c in counted]


def test_national_export_masks_id_numbers_below_the_configured_level(city, monkeypatch):
    handle, ids = city
    override(handle.app, monkeypatch, "records", id_number_max_level=0)
    export_id, answer = export(handle, sign_in(handle.client(), "o-root"))
    sheets = csv_sheets(answer)
    with handle.app.app_context():
        person = db.session.get(Volunteer, ids["volunteer"])
        row = next(r for r in sheets["志愿者.csv"][1:] if r[1] == person.number)
        assert row[6] == person.id_number_masked and person.id_number not in str(sheets)
        assert db.session.get(Export, export_id).whole_ids is False


def test_the_national_kind_is_asked_for_on_its_own_page_only(city):
    handle, _ids = city
    root = sign_in(handle.client(), "o-root")
    page = root.get("/m/admin/exports").get_data(as_text=True)
    assert "成员数据" in page and "全国系统数据" not in page
    refused = root.post("/m/admin/exports", data={"csrf_token": token_of(root, "/m/admin/exports"),
                                                  "kind": "national", "fmt": "csv"})
    assert refused.status_code == 404 and "未知的导出类型" in refused.get_data(as_text=True)
    bad = root.post("/m/admin/national", data={"csrf_token": token_of(root, "/m/admin/national"), "fmt": "pdf"})
    assert bad.status_code == 302
    assert "请选择导出格式" in root.get(bad.headers["Location"]).get_data(as_text=True)
    with handle.app.app_context():
        assert Export.query.count() == 0


def test_neutralised_cells():
    assert [neutralise(v) for v in ("=1+1", "+86", "-3", "@x", "正常", 12, None)] == [
        "'=1+1", "'+86", "'-3", "'@x", "正常", 12, ""]


def test_star_level_job_sends_one_message(city):
    handle, ids = city
    with handle.app.app_context():
        volunteer = db.session.get(Volunteer, ids["volunteer"])
        project = att.Cycle.query.filter_by(volunteer_id=volunteer.id).first().project
        db.session.add(att_punches.new_cycle(project, volunteer.id, TODAY - timedelta(days=20), NOW, mode="double",
                                             source="makeup", state=att.CONFIRMED, hours=Decimal("650"),
                                             confirmed_at=LATER - timedelta(hours=1)))
        db.session.commit()
        award_star_levels.now()
    run_jobs(handle)
    with handle.app.app_context():
        award_star_levels.now()
    run_jobs(handle)
    with handle.app.app_context():
        messages = Notification.query.filter_by(volunteer_id=ids["volunteer"], kind="star_level_reached").all()
        assert [m.data["level"] for m in messages] == ["三星志愿者"]

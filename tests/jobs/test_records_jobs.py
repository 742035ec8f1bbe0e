"""Jobs of the record on both engines: the national export (requested on its page, written by the job with its
progress, its rows against a direct query, ID numbers whole or masked by the admin's level, audited) and the
periodic star-level check (one message per level reached)."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import timedelta
from decimal import Decimal

import pytest

from jobs.records import award_star_levels, neutralised
from models import Binding, Notification, Volunteer, db
from models import attendance as att
from models.attendance import punches as att_punches
from models.records import national
from models.records.tables import NationalExport, RecordAudit
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
        ids = {"root_org": made["orgs"]["root"].id, "volunteer": made["volunteer"].id}
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


def export(handle, client) -> dict[str, list[list[str]]]:
    assert client.post("/m/admin/national", data={"csrf_token": token_of(client, "/m/admin/national")}).status_code == 302
    with handle.app.app_context():
        export_id = NationalExport.query.order_by(NationalExport.id.desc()).first().id
    run_jobs(handle)
    progress = client.get(f"/m/admin/national/{export_id}.json").get_json()
    assert (progress["state"], progress["percent"]) == ("done", 100) and progress["done"] == progress["total"] > 0
    answer = client.get(f"/m/admin/national/{export_id}/download")
    assert answer.status_code == 200 and answer.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(answer.data)) as archive:
        return {name: list(csv.reader(io.StringIO(archive.read(name).decode("utf-8-sig")))) for name in archive.namelist()}


def test_national_export_rows_against_a_direct_query(city):
    handle, ids = city
    root = sign_in(handle.client(), "o-root")
    assert "全国系统数据导出" in root.get("/m/me").get_data(as_text=True)
    assert "全国系统数据导出" not in sign_in(handle.client(), "o-district").get("/m/me").get_data(as_text=True)
    assert sign_in(handle.client(), "o-district").get("/m/admin/national").status_code == 403
    sheets = export(handle, root)
    assert sorted(sheets) == sorted(f"{t}.csv" for t in national.SHEET_TITLES.values())
    for key, title in national.SHEET_TITLES.items():
        assert tuple(sheets[f"{title}.csv"][0]) == national.SHEETS[key]
    with handle.app.app_context():
        counted = (att.Cycle.query.filter(att.Cycle.state.in_(att.COUNTED)).order_by(att.Cycle.id).all())
        records = sheets["志愿服务时间.csv"][1:]
        assert [(int(r[0]), r[2], int(r[3]), r[8]) for r in records] == [
            (c.id, c.volunteer.number, c.project_id, str(c.hours)) for c in counted]
        served_ids = {c.volunteer_id for c in counted}
        volunteers = {r[1]: r for r in sheets["志愿者.csv"][1:]}
        assert set(volunteers) == {v.number for v in Volunteer.query.filter(Volunteer.id.in_(served_ids))}
        person = db.session.get(Volunteer, ids["volunteer"])
        row = volunteers[person.number]
        assert (row[2], row[6], row[11]) == (person.name, person.id_number, person.phone_masked)  # city admin: whole ID
        assert len(sheets["志愿团体.csv"]) - 1 == 6 and len(sheets["志愿服务项目.csv"]) - 1 == 2
        project_row = next(r for r in sheets["志愿服务项目.csv"][1:] if r[12].startswith("'"))
        assert project_row[12] == "'=HYPERLINK(\"http://evil\")"
        actions = [a.action for a in RecordAudit.query.order_by(RecordAudit.id)]
        assert actions == ["national_export_requested", "national_export_downloaded"]


def test_national_export_masks_id_numbers_below_the_configured_level(city, monkeypatch):
    handle, ids = city
    override(handle.app, monkeypatch, "records", id_number_max_level=0)
    sheets = export(handle, sign_in(handle.client(), "o-root"))
    with handle.app.app_context():
        person = db.session.get(Volunteer, ids["volunteer"])
        row = next(r for r in sheets["志愿者.csv"][1:] if r[1] == person.number)
        assert row[6] == person.id_number_masked and person.id_number not in str(sheets)
        assert RecordAudit.query.filter_by(action="national_export_downloaded").one().detail == "证件号码脱敏"


def test_neutralised_cells():
    assert [neutralised(v) for v in ("=1+1", "+86", "-3", "@x", "正常", 12, None)] == [
        "'=1+1", "'+86", "'-3", "'@x", "正常", "12", ""]


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

"""Jobs of the record: star levels after hours are confirmed, and the national export.

``award_star_levels`` (periodic) looks at volunteers with hours confirmed in the last day and records the levels
they reached (the unique row sends the message once).  ``build_national_export`` writes one export as a ZIP of
four UTF-8 CSV sheets under ``{media_dir}/exports/``, counting its progress as it goes; it starts only from
queued or running (a worker that died mid-way is re-run from the start), and a finished or failed export is left
alone (a failure is shown on the page, and the admin asks again).
"""

from __future__ import annotations

import csv
import io
import logging
import os
import secrets
import zipfile

from sqlalchemy import update

from jobs import job, settings
from models import clock, db
from models.organization import Organization
from models.project import local_now
from models.records import national, stars
from models.records.tables import E_DONE, E_FAILED, E_QUEUED, E_RUNNING, NationalExport

log = logging.getLogger(__name__)

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@job()
def award_star_levels() -> int:
    now = clock.now()
    thresholds = settings().records.star_hours
    awarded = 0
    for volunteer_id in stars.volunteers_confirmed_since(now - stars.CHECK_WINDOW):
        awarded += len(stars.award_levels(volunteer_id, thresholds, now=now))
        db.session.commit()
    return awarded


def neutralised(value) -> str:
    """A cell as text that a spreadsheet will not run as a formula (a leading quote)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _progress(export_id: int, done: int) -> None:
    """On a connection of its own: the job's session keeps its transaction (and its cursor over the rows)."""
    with db.engine.begin() as conn:
        conn.execute(update(NationalExport).where(NationalExport.id == export_id).values(done_rows=done))


@job()
def build_national_export(export_id: int) -> str:
    export = db.session.get(NationalExport, export_id)
    if export is None or export.state in (E_DONE, E_FAILED):
        return export.state if export else "missing"
    org = db.session.get(Organization, export.org_id)
    sizes = national.counts(org)
    started = db.session.execute(update(NationalExport).where(NationalExport.id == export_id,
                                                               NationalExport.state.in_((E_QUEUED, E_RUNNING)))
                                 .values(state=E_RUNNING, done_rows=0, total_rows=sum(sizes.values())))
    db.session.commit()
    if started.rowcount != 1:
        return "taken"
    tz = settings().app.timezone

    def tz_text(moment):
        return local_now(moment, tz).strftime("%Y-%m-%d %H:%M:%S") if moment else ""

    relative = os.path.join("exports", f"national-{export_id}-{secrets.token_hex(8)}.zip")
    target = os.path.join(settings().app.media_dir, relative)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    done = 0
    try:
        with zipfile.ZipFile(target + ".part", "w", zipfile.ZIP_DEFLATED) as archive:
            for sheet, header in national.SHEETS.items():
                buffer = io.StringIO()
                buffer.write("\ufeff")  # Excel reads UTF-8 with a BOM
                writer = csv.writer(buffer)
                writer.writerow(header)
                for row in national.sheet_rows(sheet, org, whole_ids=export.with_id_numbers, tz_text=tz_text):
                    writer.writerow([neutralised(cell) for cell in row])
                    done += 1
                    if done % national.BATCH == 0:
                        _progress(export_id, done)
                archive.writestr(f"{national.SHEET_TITLES[sheet]}.csv", buffer.getvalue())
        os.replace(target + ".part", target)
    except Exception:
        db.session.rollback()
        log.exception("national export %s failed", export_id, extra={"job": "build_national_export"})
        db.session.execute(update(NationalExport).where(NationalExport.id == export_id)
                           .values(state=E_FAILED, error="导出失败，请重新导出。", finished_at=clock.now()))
        db.session.commit()
        return E_FAILED
    db.session.execute(update(NationalExport).where(NationalExport.id == export_id)
                       .values(state=E_DONE, done_rows=done, path=relative, finished_at=clock.now()))
    db.session.commit()
    return E_DONE

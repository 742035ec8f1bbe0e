"""数据导出: write an export's rows to a CSV or XLSX file a batch at a time, recording progress.

CSV is written with the csv module straight to the file (a kind of several sheets: straight into the members of a
ZIP, one CSV per sheet); XLSX with openpyxl's write-only workbook, a sheet each, which streams rows to a temporary
file, in a process of its own beside the reading (``jobs.xlsx_writer``): either way about one batch is in memory.
The file is written to a local temporary file and put in the media store (``jobs.storage``: a shared directory or a bucket) when complete, so a download on any
host finds it and never sees half a file; a second run of the same export (a retry) writes it again.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import tempfile
import zipfile

from jobs import job
from jobs.storage import storage
from jobs.xlsx_writer import XlsxWriter
from models import clock, db
from models import exports as ex
from models.records import national as _national  # noqa: F401  (registers the national record's kind)
from models.stats import exports as _stats_exports  # noqa: F401  (registers the members and hours kinds)

log = logging.getLogger(__name__)


def export_path(export) -> str:
    """Where the export's file lives in the media store (``jobs.storage``), so any host serves it."""
    return f"exports/{export.id}.{ex.extension(export)}"


CONTENT_TYPES = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                 "zip": "application/zip"}


def content_type(export) -> str:
    return CONTENT_TYPES[ex.extension(export)]


class _CsvWriter:
    """One sheet: one CSV file."""

    def __init__(self, path):
        self.fh = open(path, "w", newline="", encoding="utf-8-sig")  # the BOM makes Excel read UTF-8
        self.writer = csv.writer(self.fh)

    def sheet(self, title, header):
        self.writer.writerow(header)

    def rows(self, rows):
        self.writer.writerows(rows)

    def close(self):
        self.fh.close()

    discard = close


class _CsvZipWriter:
    """Several sheets: a ZIP of one CSV per sheet, each streamed into its member (one member open at a time)."""

    def __init__(self, path):
        self.archive = zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED)
        self.fh = None

    def sheet(self, title, header):
        self._end_sheet()
        self.fh = io.TextIOWrapper(self.archive.open(f"{title}.csv", "w"), encoding="utf-8-sig", newline="")
        self.writer = csv.writer(self.fh)
        self.writer.writerow(header)

    def rows(self, rows):
        self.writer.writerows(rows)

    def _end_sheet(self):
        if self.fh is not None:
            self.fh.close()
            self.fh = None

    def close(self):
        self._end_sheet()
        self.archive.close()

    discard = close


def _writer(export, kind, path):
    if export.fmt == "xlsx":
        return XlsxWriter(path)
    return _CsvZipWriter(path) if len(kind.sheets) > 1 else _CsvWriter(path)


@job(retry=(2, [30, 300]))
def run_export(export_id: int) -> int | None:
    """Write the export's file; the number of rows, or None when it is done or running elsewhere."""
    if not ex.start(export_id, clock.now()):
        db.session.rollback()
        return None
    db.session.commit()
    export = db.session.get(ex.Export, export_id)
    kind = ex.KINDS[export.kind]
    target = export_path(export)
    handle, temp = tempfile.mkstemp(prefix=f"export-{export_id}-", suffix=".part")
    os.close(handle)
    writer = None
    try:
        export.rows_total = kind.count(export)
        db.session.commit()
        writer = _writer(export, kind, temp)
        done = 0
        for sheet in kind.sheets:
            writer.sheet(sheet.title, sheet.header)
            for batch in sheet.batches(export, ex.BATCH):
                writer.rows([ex.neutralise(v) for v in row] for row in batch)
                done += len(batch)
                db.session.execute(db.update(ex.Export).where(ex.Export.id == export_id).values(rows_done=done))
                db.session.commit()
        writer.close()
        storage().put_file(target, temp, content_type(export))
        db.session.execute(db.update(ex.Export).where(ex.Export.id == export_id).values(
            state=ex.DONE, rows_done=done, path=target, finished_at=clock.now()))
        db.session.commit()
        return done
    except Exception as exc:
        if writer is not None:
            writer.discard()
        db.session.rollback()
        db.session.execute(db.update(ex.Export).where(ex.Export.id == export_id).values(
            state=ex.FAILED, error=exc.__class__.__name__[:200], finished_at=clock.now()))
        db.session.commit()
        log.exception("export %s failed", export_id)
        raise
    finally:
        if os.path.exists(temp):
            os.remove(temp)

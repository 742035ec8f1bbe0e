"""数据导出: one mechanism for every export of the platform (成员, 时长, 全国系统数据; others register their own kinds).

An ``Export`` row is the request and its audit at once: who asked, for what (kind, org, filters), when,
whether ID numbers were whole, how far the job got and when it was downloaded.  A kind registers its
header and a function yielding batches of rows by keyset (``register``); ``jobs.exports.run_export``
writes them to CSV (UTF-8 with BOM, for Excel) or XLSX (openpyxl's write-only mode), a batch at a time,
in constant memory, and records progress between batches so the page shows a bar.

Every cell goes through ``neutralise``: text starting with ``= + - @`` (or a tab / carriage return) is
prefixed with ``'`` so that a spreadsheet shows it instead of running it as a formula.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, update

from ..base import RuleViolation, db, won
from ..organization import ACTIVE, admin_org_of

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
STATE_LABELS = {QUEUED: "排队中", RUNNING: "导出中", DONE: "已完成", FAILED: "失败"}
FORMATS = {"csv": "CSV", "xlsx": "Excel"}
#: Admins of orgs at this level or above (市, 区县) see whole ID numbers in exports; others masked.
WHOLE_ID_LEVEL = 2
BATCH = 2000
#: a run still "running" this long after it started lost its worker (killed, out of memory): it may start again
ABANDONED_AFTER = timedelta(hours=1)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class Export(db.Model):
    """One export: its request, progress and audit."""

    __tablename__ = "data_export"
    __table_args__ = (db.Index("ix_data_export_requested_by_id_created_at", "requested_by_id", "created_at"),)

    id = db.Column(db.Integer, primary_key=True)
    kind = db.Column(db.String(30), nullable=False)
    fmt = db.Column(db.String(5), nullable=False)
    org_id = db.Column(db.Integer, db.ForeignKey("organization.id", ondelete="SET NULL"))
    params = db.Column(db.JSON, nullable=False)
    whole_ids = db.Column(db.Boolean, nullable=False, default=False)
    requested_by_id = db.Column(db.Integer, db.ForeignKey("volunteer.id", ondelete="SET NULL"))
    state = db.Column(db.String(10), nullable=False, default=QUEUED)
    rows_total = db.Column(db.Integer)
    rows_done = db.Column(db.Integer, nullable=False, default=0)
    path = db.Column(db.String(200))
    error = db.Column(db.String(200))
    created_at = db.Column(db.DateTime, nullable=False)
    started_at = db.Column(db.DateTime)
    finished_at = db.Column(db.DateTime)
    downloaded_at = db.Column(db.DateTime)
    downloads = db.Column(db.Integer, nullable=False, default=0)

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def title(self) -> str:
        return KINDS[self.kind].title if self.kind in KINDS else self.kind

    @property
    def percent(self) -> int:
        if self.state == DONE:
            return 100
        if not self.rows_total:
            return 0
        return min(99, int(100 * self.rows_done / self.rows_total))


@dataclass(frozen=True)
class Sheet:
    """One table of an export: its title (the XLSX sheet, or the CSV file's name in the ZIP), header and rows."""

    title: str
    header: tuple[str, ...]
    batches: Callable[[Export, int], Iterator[list[tuple]]]


@dataclass(frozen=True)
class ExportKind:
    """A kind of export: its title, its sheets (most kinds have one), how many rows in all, who may ask.

    A kind of several sheets is written as one XLSX workbook with a sheet each, or as a ZIP of one CSV per sheet.
    ``listed``: offered on 数据导出; a kind with a page of its own (the national record's) is not.
    """

    name: str
    title: str
    sheets: tuple[Sheet, ...]
    count: Callable[[Export], int]
    may_request: Callable[[object, dict, datetime], object]  # (actor, params, now) → the org; raises
    listed: bool = True


KINDS: dict[str, ExportKind] = {}


def register(kind: ExportKind) -> ExportKind:
    KINDS[kind.name] = kind
    return kind


def listed_kinds() -> dict[str, ExportKind]:
    return {name: kind for name, kind in KINDS.items() if kind.listed}


def extension(export: Export) -> str:
    """The file's extension: the format's, or ``zip`` for the CSV files of a kind of several sheets."""
    return "zip" if export.fmt == "csv" and len(KINDS[export.kind].sheets) > 1 else export.fmt


def neutralise(value):
    """A cell value safe for a spreadsheet: numbers as they are, text never read as a formula."""
    if value.__class__ is str:  # most cells: the test below, without the others first
        return "'" + value if value.startswith(_FORMULA_START) else value
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        return value
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def forget(values) -> None:
    """A written batch leaves the session (which would otherwise keep every row read): memory stays flat.
    ``values`` may mix rows (mapped objects) with plain column values, which are passed over."""
    for value in values:
        if isinstance(value, db.Model) and value in db.session:
            db.session.expunge(value)


def may_see_whole_ids(actor, level: int = WHOLE_ID_LEVEL) -> bool:
    """ID numbers are whole in an export only for admins of an approved org at ``level`` or above (市, 区县)."""
    own = admin_org_of(actor.id)
    return own is not None and own.status == ACTIVE and own.level <= level


def request_export(actor, kind: str, params: dict, fmt: str, *, now: datetime,
                   whole_id_level: int = WHOLE_ID_LEVEL) -> Export:
    """导出: checks the kind's permission and writes the row (the caller submits ``jobs.exports.run_export``).

    ``whole_id_level``: the lowest org level whose admins get whole ID numbers (the national record's page passes
    its configured ``[records] id_number_max_level``)."""
    if kind not in KINDS:
        raise RuleViolation("export_kind", "未知的导出类型。", 404)
    if fmt not in FORMATS:
        raise RuleViolation("export_format", "请选择导出格式（CSV 或 Excel）。")
    org = KINDS[kind].may_request(actor, params, now)
    export = Export(kind=kind, fmt=fmt, org_id=org.id, params=params,
                    whole_ids=may_see_whole_ids(actor, whole_id_level), requested_by_id=actor.id, state=QUEUED,
                    created_at=now)
    db.session.add(export)
    db.session.flush()
    return export


def get_export(actor, export_id) -> Export:
    """An export of ``actor``'s own (nobody else's list or file is shown)."""
    export = db.session.get(Export, export_id) if export_id else None
    if export is None or export.requested_by_id != actor.id:
        raise RuleViolation("export_not_found", "导出记录不存在。", 404)
    return export


def exports_of(actor, limit: int = 20, *, kind: str | None = None) -> list[Export]:
    query = Export.query.filter_by(requested_by_id=actor.id)
    if kind is not None:
        query = query.filter_by(kind=kind)
    return query.order_by(Export.created_at.desc(), Export.id.desc()).limit(limit).all()


def start(export_id: int, now: datetime) -> bool:
    """queued → running (or a failed run retried, or a run whose worker died: still "running" after
    ``ABANDONED_AFTER``); False when another run has it or it is done."""
    return won(update(Export).where(Export.id == export_id, or_(
        Export.state.in_((QUEUED, FAILED)), and_(Export.state == RUNNING, Export.started_at < now - ABANDONED_AFTER)))
        .values(state=RUNNING, started_at=now, rows_done=0, error=None))


def record_download(export: Export, now: datetime) -> None:
    if export.state != DONE:
        raise RuleViolation("export_not_ready", "导出尚未完成。", 409)
    db.session.execute(update(Export).where(Export.id == export.id)
                       .values(downloads=Export.downloads + 1, downloaded_at=now)
                       .execution_options(synchronize_session=False))

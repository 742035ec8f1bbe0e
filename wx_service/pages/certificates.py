"""志愿服务记录证明 pages: 证书打印 from 我的活动, 开具服务记录证明 for a period, my certificates (the PNG to
long-press-save, the PDF), the public verification page, and 我的志愿档案 (星级, 培训、表彰奖励、评价).

Thin: read the form, call ``models.records``, commit, render.  The files of a certificate are drawn once and kept
in the media store (``jobs.storage``, under ``certificates/``), served like every stored file
(``media_files.send_stored``): a certificate's facts never change after issue; its standing (valid, superseded,
revoked) is read fresh on every page.
"""

from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, url_for

from jobs.storage import storage
from models import RuleViolation, db
from models.records import certificates as certs
from models.records import entries, stars
from models.records.tables import REVOKED, STATE_LABELS, SUPERSEDED, VALID

from .. import clock
from ..config import settings
from ..records import files
from . import bp
from .fields import Date, Form, parse
from .guards import volunteer_required
from .media_files import send_stored

PERIOD_FORM = Form({"start": Date("开始日期", required=True), "end": Date("结束日期", required=True)})


def _font() -> files.Font:
    conf = settings().records
    return files.Font(conf.cjk_font, conf.cjk_font_index)


def verify_url(number: str) -> str:
    return settings().app.base_url.rstrip("/") + url_for("pages.certificate_verify", number=number)


# ------------------------------------------------------------------------------ issuing
@bp.post("/me/activities/<int:project_id>/certificate")
@volunteer_required
def certificate_for_project(project_id):
    """证书打印: the project's certificate (issued once for the same hours; asking again shows it)."""
    try:
        cert = certs.issue_for_project(g.volunteer, project_id, thresholds=settings().records.star_hours, now=clock.now(),
                                       tz=settings().app.timezone)
        db.session.commit()
    except RuleViolation as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("pages.my_activities", tab="done"))
    return redirect(url_for("pages.my_certificate", certificate_id=cert.id))


@bp.route("/me/certificates", methods=["GET", "POST"])
@volunteer_required
def my_certificates():
    """我的证书, and 开具服务记录证明 for a period over all projects."""
    error = None
    today = clock.today()
    if request.method == "POST":
        try:
            period = parse(PERIOD_FORM, request.form)
            issued = certs.issue_for_period(g.volunteer, period["start"], period["end"],
                                            mode=settings().records.period_issuer, thresholds=settings().records.star_hours,
                                            now=clock.now(), tz=settings().app.timezone)
            db.session.commit()
        except RuleViolation as exc:
            db.session.rollback()
            error = exc
        else:
            if len(issued) == 1:
                return redirect(url_for("pages.my_certificate", certificate_id=issued[0].id))
            return redirect(url_for("pages.my_certificates", issued=len(issued)))
    listed = [(c, certs.status_of(c)) for c in certs.certificates_of(g.volunteer.id)]
    return render_template("records/certificates.html", listed=listed, labels=STATE_LABELS, error=error,
                           start=request.form.get("start") or today.replace(month=1, day=1).isoformat(),
                           end=request.form.get("end") or today.isoformat(),
                           issued=request.args.get("issued", type=int)), (error.status if error else 200)


@bp.get("/me/certificates/<int:certificate_id>")
@volunteer_required
def my_certificate(certificate_id):
    cert = certs.mine(g.volunteer.id, certificate_id)
    return render_template("records/certificate.html", cert=cert, content=cert.content, status=certs.status_of(cert),
                           labels=STATE_LABELS, rows=files.rows(cert.content), verify=verify_url(cert.number))


FILE_TYPES = {"pdf": "application/pdf", "png": "image/png"}


def stored_path(cert, extension: str) -> str:
    """The certificate's PDF or PNG in the media store (``certificates/{id}-{number}.{ext}``), drawn on the first
    ask: its facts never change after issue, so two asks at once draw the same bytes and either write is right."""
    path = f"certificates/{cert.id}-{cert.number}.{extension}"
    store = storage()
    if not store.exists(path):
        draw = files.pdf_bytes if extension == "pdf" else files.png_bytes
        store.put(path, draw(cert.content, cert.number, verify_url(cert.number), _font()), FILE_TYPES[extension])
    return path


def send_certificate(cert, extension: str):
    """The file, through the one way stored files are served (bytes, or a signed redirect of an object store)."""
    return send_stored(stored_path(cert, extension), FILE_TYPES[extension], as_attachment=extension == "pdf",
                       download_name=f"志愿服务记录证明-{cert.number}.{extension}")


@bp.get("/me/certificates/<int:certificate_id>.<any(pdf, png):extension>")
@volunteer_required
def my_certificate_file(certificate_id, extension):
    return send_certificate(certs.mine(g.volunteer.id, certificate_id), extension)


# ------------------------------------------------------------------------------ verifying
def _verify_allowed() -> bool:
    """Lookups per address and minute (``[records] verify_per_minute``), counted where every process sees them."""
    count = current_app.extensions["wx_store"].incr(f"cert_verify:{request.remote_addr or 'unknown'}", 60)
    return count <= settings().records.verify_per_minute


@bp.get("/certificates/verify", defaults={"number": None})
@bp.get("/certificates/verify/<number>")
def certificate_verify(number):
    """证书核验, open to anyone (no sign-in): the facts masked, or that it was revoked or superseded.

    An unknown number and a malformed one get the same answer; every lookup counts against the limit, so numbers
    cannot be tried in bulk (and 80 random bits are not found by trying)."""
    number = number or request.args.get("number")
    if not number:
        return render_template("records/verify.html", cert=None, asked=False)
    if not _verify_allowed():
        return render_template("records/verify.html", cert=None, asked=True, limited=True), 429
    cert = certs.by_number(number)
    if cert is None:
        return render_template("records/verify.html", cert=None, asked=True), 404
    status = certs.status_of(cert)
    return render_template("records/verify.html", cert=cert, asked=True, status=status, labels=STATE_LABELS,
                           content=certs.public_facts(cert) if status != REVOKED else None,
                           rows=files.rows(cert.content), VALID=VALID, SUPERSEDED=SUPERSEDED, REVOKED=REVOKED)


# ------------------------------------------------------------------------------ 我的志愿档案
@bp.get("/me/record")
@volunteer_required
def my_record():
    """星级 by confirmed hours, the trainings, awards and evaluations recorded for me, my 统一编号."""
    return render_template("records/record.html", star=stars.standing(g.volunteer.id, settings().records.star_hours),
                           thresholds=settings().records.star_hours, entries=entries.entries_of(g.volunteer.id),
                           national_number=certs.national_number_of(g.volunteer.id),
                           names=stars.LEVEL_NAMES)


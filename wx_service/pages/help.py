"""一喊就来 (manual part 4 §三.1): the seeker's one-button page and the volunteers' request page.

Seeker side: ``/m/help`` binds on first use (ID number + phone, 图4-18), then is one big yellow
microphone button (图4-19): press and hold → ``wx.startRecord``; release → ``wx.stopRecord`` →
``wx.uploadVoice`` → ``POST /m/api/help/voice`` with the serverId; ``/m/api/help/status`` tells the
page who is coming.  Volunteer side: ``/m/help/requests/<id>`` (图4-21) with 认领求助 and 完成.
"""

from __future__ import annotations

from flask import current_app, flash, g, jsonify, redirect, render_template, request, url_for

from models import RuleViolation, db
from models import help_request as hr
from models import help_seeker as hs
from models.organization import is_active_admin

from .. import clock
from ..config import settings
from ..wechat.binding import bound_volunteer
from ..wechat.oauth import person_required
from . import bp
from .forms import attempt
from .guards import volunteer_required
from .json_body import TEXT, json_fields
from .media_files import send_media, send_stored

JSAPI = ["startRecord", "stopRecord", "uploadVoice", "onVoiceRecordEnd"]


# ------------------------------------------------------------------------------ the seeker
def _bind_page(error):
    """The bind form; a volunteer who opens it sees their own links (结对人管理 only if they are an admin)."""
    volunteer = bound_volunteer(g.account, g.openid)
    return render_template("help/bind.html", error=error, volunteer=volunteer,
                           admin=volunteer is not None and is_active_admin(volunteer.id))


@bp.get("/help")
@person_required
def help_home():
    seeker = hs.seeker_for(g.account, g.openid)
    if seeker is None:
        return _bind_page(None), 200
    return render_template("help/button.html", seeker=seeker, jsapi_list=JSAPI,
                           status=status_of(seeker))


@bp.post("/help/bind")
@person_required
def help_bind():
    _, error = attempt(lambda: hs.bind_seeker(g.account, g.openid, request.form.get("id_number", ""),
                                              request.form.get("phone", ""), now=clock.now(),
                                              store=current_app.extensions["wx_store"]))
    if error:
        return _bind_page(error), error.status
    return redirect(url_for("pages.help_home", account=g.account))


def _seeker_or_refuse() -> hs.HelpSeeker:
    seeker = hs.seeker_for(g.account, g.openid)
    if seeker is None:
        raise RuleViolation("not_bound", "请先绑定身份证和手机号。", 403)
    return seeker


@bp.post("/api/help/voice")
@person_required
def help_voice():
    """The page's upload: ``{"server_id": "..."}`` (the serverId of ``wx.uploadVoice``)."""
    seeker = _seeker_or_refuse()
    data = json_fields(server_id=TEXT, serverId=TEXT)
    server_id = data["server_id"] or data["serverId"] or ""
    req, note, is_new = hr.call_for_help(seeker, server_id, hr.JSSDK, g.account, now=clock.now(), tz=settings().app.timezone)
    db.session.commit()
    return jsonify(code="ok", request_id=req.id, new=is_new,
                   message="已通知志愿者" if is_new else "已经把您的话补充给志愿者了")


def status_of(seeker) -> dict:
    """What the seeker's page says about their latest request."""
    req = hr.latest_of(seeker.id)
    if req is None:
        return {"state": "none", "message": ""}
    out = {"state": req.state, "request_id": req.id}
    if req.state in hr.CLAIMABLE:
        out["message"] = "已通知志愿者，请您稍等"
    elif req.state == hr.CLAIMED:
        out["message"] = f"{req.claimer.name[:1]}志愿者已经接到您的求助，正在赶来"
        out["claimed_at"] = clock.local(req.claimed_at).strftime("%H:%M")
    else:
        out["message"] = f"{req.claimer.name[:1]}志愿者已经帮您办好了" if req.claimer else "已经办好了"
        out["done_at"] = clock.local(req.done_at).strftime("%m月%d日 %H:%M")
    return out


@bp.get("/api/help/status")
@person_required
def help_status():
    return jsonify(code="ok", **status_of(_seeker_or_refuse()))


# ------------------------------------------------------------------------------ the volunteers
def _render_request(req, error=None, status=200):
    viewer = g.volunteer
    seeker = req.seeker
    return render_template(
        "help/request.html", req=req, seeker=seeker, notes=req.voice_notes, full=hr.may_see_full(viewer, req),
        paired=hr.is_paired(viewer, req.seeker_id), told=hr.told_volunteers(req), error=error,
        is_admin=hs.is_station_admin(viewer, seeker), viewer=viewer), status


@bp.get("/help/requests/<int:request_id>")
@volunteer_required
def help_request_page(request_id):
    return _render_request(hr.require_view(g.volunteer, request_id))


@bp.post("/help/requests/<int:request_id>/claim")
@volunteer_required
def help_claim(request_id):
    req = hr.require_view(g.volunteer, request_id)
    _, error = attempt(lambda: hr.claim(g.volunteer, request_id, now=clock.now(), tz=settings().app.timezone))
    if error:
        return _render_request(hr.get_request(request_id), error=error, status=error.status)
    flash("认领成功！请尽快联系老人。", "success")
    return redirect(url_for("pages.help_request_page", request_id=req.id, account=g.account))


@bp.post("/help/requests/<int:request_id>/done")
@volunteer_required
def help_done(request_id):
    hr.require_view(g.volunteer, request_id)
    _, error = attempt(lambda: hr.mark_done(g.volunteer, request_id, request.form.get("note", ""), now=clock.now(),
                                            tz=settings().app.timezone))
    if error:
        return _render_request(hr.get_request(request_id), error=error, status=error.status)
    flash("已标记完成，辛苦了！", "success")
    return redirect(url_for("pages.help_request_page", request_id=request_id, account=g.account))


@bp.get("/help/mine")
@volunteer_required
def help_mine():
    return render_template("help/mine.html", requests=hr.requests_for_volunteer(g.volunteer))


@bp.get("/help/voice/<int:note_id>.mp3")
@volunteer_required
def help_voice_file(note_id):
    note = db.session.get(hr.VoiceNote, note_id)
    if note is None or not note.ready:
        raise RuleViolation("voice_not_ready", "语音还在获取中，请稍后刷新。", 404)
    hr.require_view(g.volunteer, note.request_id)
    return send_media(note.item, conditional=True, max_age=0)


@bp.get("/help/seekers/<int:seeker_id>/photo")
@volunteer_required
def help_seeker_photo(seeker_id):
    seeker = hs.get_seeker(seeker_id)
    if not (hs.is_station_admin(g.volunteer, seeker) or hr.is_paired(g.volunteer, seeker.id)
            or hr.HelpRequest.query.filter_by(seeker_id=seeker.id, claimer_id=g.volunteer.id).first()):
        raise RuleViolation("forbidden", "没有权限查看该照片。", 403)
    if not seeker.photo_path:
        raise RuleViolation("no_photo", "没有照片。", 404)
    return send_stored(seeker.photo_path, "image/jpeg",
                     max_age=0)

"""Reminders that ask back: the page a 确认参加 / 不能参加 link opens, and a project admin's one message to
everyone accepted (通知已录取).  Rules: ``models.ask_back``."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for

from models import RuleViolation, ask_back
from models import project as pr

from .. import clock
from ..config import settings
from . import bp
from .forms import act, attempt
from .guards import volunteer_required


def _ask_or_refusal(token: str):
    try:
        return ask_back.ask_for(settings().app.secret_key, token, g.volunteer), None
    except RuleViolation as exc:
        return None, exc


@bp.route("/attend/<token>", methods=["GET", "POST"])
@volunteer_required
def attend(token: str):
    ask, refused = _ask_or_refusal(token)
    if refused is not None:
        return render_template("error.html", message=refused.message, status=refused.status), refused.status
    error = None
    if request.method == "POST":
        _done, error = attempt(lambda: ask_back.answer(g.volunteer, ask, request.form.get("answer", ""),
                                                       now=clock.now()))
        if error is None:
            flash("已回复：" + ask.answer_label + ("，报名已取消，名额已让给候补的志愿者。" if ask.answer == ask_back.NO
                                                   else "，期待您的到来。"), "success")
            return redirect(url_for("pages.attend", token=token, account=g.account))
    status = error.status if error is not None else 200
    return render_template("projects/attend.html", ask=ask, project=ask.signup.project, error=error), status


@bp.route("/admin/projects/<int:project_id>/message", methods=["GET", "POST"])
@volunteer_required
def admin_project_message(project_id: int):
    try:
        project = pr.get_project(project_id)
    except RuleViolation:
        abort(404)
    if not pr.can_manage_project(g.volunteer, project, "review_signups", now=clock.now()):
        abort(403)
    back = url_for("pages.admin_project_message", project_id=project_id, account=g.account)
    if request.method == "POST":
        every = settings().projects.message_every_minutes
        return act(lambda: ask_back.message_accepted(g.volunteer, project_id, request.form.get("content", ""),
                                                     now=clock.now(), every_minutes=every),
                   "通知已发出，共发送给 {result.recipients} 位已录取的志愿者。", back)
    return render_template("projects/message.html", project=project, messages=ask_back.messages_of(project_id),
                           answers=ask_back.answers_of(project_id))

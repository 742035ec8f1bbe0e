"""What the page modules share: run a rule and flash its outcome, read the page number."""

from __future__ import annotations

from flask import flash, redirect, request

from models import RuleViolation, db


def act(func, success: str, back: str):
    """Run a model rule, commit, flash its outcome (or its refusal) and go back."""
    try:
        result = func()
        db.session.commit()
        flash(success.format(result=result) if "{result}" in success else success, "success")
    except RuleViolation as exc:
        db.session.rollback()
        flash(exc.message, "error")
    return redirect(back)


def page_arg() -> int:
    try:
        return max(int(request.args.get("page", 1)), 1)
    except ValueError:
        return 1

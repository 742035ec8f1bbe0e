"""What the page modules share: run a rule and flash its outcome, read the page number, read ``next``."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

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


# Control characters and whitespace, which browsers strip or fold ("/\t/evil" is "//evil" to them).
_UNSAFE_CHARS = re.compile(r"[\x00-\x20\x7f]")


def next_path(default: str) -> str:
    """Where a form goes back to: its ``next`` when that is a path of our mobile pages, else ``default``.

    Only a same-site relative path under ``/m/`` is taken: never another origin (``https://…``,
    ``//evil``, ``/\\evil``, which browsers read as ``//evil``), a backslash, a control character or a
    ``..`` segment.  Every page that reads ``next`` reads it here.
    """
    value = request.values.get("next", "")
    return value if is_our_page(value) else default


def is_our_page(value: str) -> bool:
    parts = urlsplit(value)
    decoded = unquote(parts.path)
    return (value.startswith("/m/") and not parts.scheme and not parts.netloc and "\\" not in value
            and "\\" not in decoded and not _UNSAFE_CHARS.search(value) and not _UNSAFE_CHARS.search(decoded)
            and not any(segment in (".", "..") for segment in decoded.split("/")))

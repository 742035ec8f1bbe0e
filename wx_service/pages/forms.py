"""What the page modules share: run a rule and flash its outcome, read the page number, read ``next``."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from flask import flash, redirect, request

from models import RuleViolation, db, positions

from ..errors import MAX_ID


def act(func, success: str, back: str, onward: str | None = None):
    """Run a model rule, commit, flash its outcome (or its refusal) and go back (on success: ``onward``, if given).

    ``success`` may name the rule's result: ``{result}``, ``{result.hours}``.
    """
    try:
        result = func()
        db.session.commit()
        flash(success.format(result=result) if "{result" in success else success, "success")
    except RuleViolation as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(back)
    return redirect(onward or back)


def attempt(func):
    """Run a model rule and commit: ``(result, None)``; on its refusal roll back: ``(None, violation)``.

    For pages that show the refusal on the same page again (``error=violation``, status
    ``violation.status``) rather than flashing it and going back (that is ``act``).
    """
    try:
        result = func()
        db.session.commit()
    except RuleViolation as exc:
        db.session.rollback()
        return None, exc
    return result, None


def as_id(value) -> int | None:
    """An id typed in a form or a query (ASCII digits within the database's integer range), else None.

    ``str.isdigit`` is not enough: it accepts ``²``, which ``int`` refuses, and numbers no row can have.
    """
    value = (value or "").strip()
    if not (value.isascii() and value.isdigit()) or len(value) > len(str(MAX_ID)):
        return None
    number = int(value)
    return number if number <= MAX_ID else None


def ids_of(values) -> list[int]:
    """The ids among a form's repeated values (``getlist``); anything else is dropped."""
    return [i for i in map(as_id, values) if i is not None]


#: No list has this many pages; a larger page number would overflow the database's OFFSET.
MAX_PAGE = 10_000


def page_arg() -> int:
    """``?page=``, clamped to 1…MAX_PAGE (anything that is not a number is page 1)."""
    raw = request.args.get("page", "1")
    if not (raw.isascii() and raw.isdigit()):
        return 1
    return MAX_PAGE if len(raw) > len(str(MAX_PAGE)) else min(max(int(raw), 1), MAX_PAGE)


def position_arg():
    """The user's gcj02 position from ``lat``/``lng`` (the page asks wx.getLocation), or None."""
    lat, lng = request.args.get("lat", "").strip(), request.args.get("lng", "").strip()
    if not lat or not lng:
        return None
    try:
        return positions.parse(lat, lng)
    except RuleViolation:
        return None


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

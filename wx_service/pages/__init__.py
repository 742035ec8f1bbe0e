"""The mobile pages under ``/m/``: one blueprint, one module per area."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("pages", __name__, url_prefix="/m")


def register(app) -> None:
    from . import (  # noqa: F401  (routes register on import)
        account,
        articles,
        ask_back,
        attendance,
        attendance_admin,
        certificates,
        closure,
        contact_admin,
        exports,
        gifts,
        gifts_admin,
        groups,
        help,
        help_admin,
        home,
        inbox,
        integrity,
        integrity_admin,
        me,
        org_admin,
        orgs,
        photos,
        practice,
        practice_admin,
        project_admin,
        projects,
        records_admin,
        registration,
        rule_constants,
        stats,
        wishes,
    )

    app.register_blueprint(bp)

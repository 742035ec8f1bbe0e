"""The mobile pages under ``/m/``: one blueprint, one module per area."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("pages", __name__, url_prefix="/m")


def register(app) -> None:
    from . import account, help, help_admin, home, inbox, me, org_admin, orgs, registration  # noqa: F401,I001

    app.register_blueprint(bp)

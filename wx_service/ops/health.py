"""``/healthz``: 200 when the database and (if configured) Redis answer, else 503."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from models import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    state = {"database": "ok"}
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
    except Exception as exc:
        db.session.rollback()
        state["database"] = f"down: {exc.__class__.__name__}"
    connection = current_app.extensions.get("wx_redis")
    if connection is not None:
        try:
            connection.ping()
            state["redis"] = "ok"
        except Exception as exc:
            state["redis"] = f"down: {exc.__class__.__name__}"
    else:
        state["redis"] = "not configured"
    healthy = all(v in ("ok", "not configured") for v in state.values())
    return jsonify(status="ok" if healthy else "unavailable", **state), 200 if healthy else 503

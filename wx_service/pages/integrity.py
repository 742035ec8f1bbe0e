"""Integrity on the volunteers' side: the dynamic personal QR code and the offline punch (离线打卡).

The rules are in ``models.integrity``; this module reads the request and hands plain values down.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import g, jsonify

from models import RuleViolation, db
from models.integrity import codes, offline

from .. import clock
from . import bp
from .attendance import _position, rules
from .guards import volunteer_required
from .json_body import NUMBER, POSITION, TEXT, json_fields
from .punch_context import PERSONAL, extras, key


def _recorded_at(value) -> datetime | None:
    """The page's recorded time (epoch milliseconds) as naive UTC."""
    try:
        millis = float(value)
        return datetime.fromtimestamp(millis / 1000, UTC).replace(tzinfo=None)
    except (TypeError, ValueError, OverflowError, OSError):
        raise RuleViolation("offline_time_invalid", "离线打卡的记录时间格式不正确。") from None


# -------------------------------------------------------------------------- the personal QR
def personal_payload(volunteer, now) -> str:
    return codes.personal_code(key(PERSONAL), volunteer.id, volunteer.qr_token, now)


@bp.get("/api/me/qrcode")
@volunteer_required
def my_qrcode_state():
    """When the page should fetch the next picture of its QR code."""
    return jsonify(refresh_in=codes.seconds_left(clock.now(), codes.PERSONAL_WINDOW))


# ------------------------------------------------------------------------------- 离线打卡
@bp.post("/api/checkin/<int:project_id>/offline")
@volunteer_required
def checkin_offline(project_id):
    """A punch the page kept without signal: judged at its recorded time, marked sent late."""
    data = json_fields(action=TEXT, recorded_at=NUMBER, ref=TEXT, onsite_code=TEXT, fix_age=NUMBER, **POSITION)
    cycle, repeat = offline.punch_offline(g.volunteer, project_id, data["action"] or "", _position(data),
                                          _recorded_at(data["recorded_at"]), data["ref"] or "", now=clock.now(),
                                          rules=rules(), extras=extras(data))
    when = clock.local_text(cycle.signed_out_at if data["action"] == "sign_out" else cycle.signed_in_at
                            or cycle.signed_out_at, "%H:%M")
    answer = {"ok": True, "repeat": repeat, "state": cycle.state, "hours": str(cycle.hours or ""),
              "message": f"离线打卡已补传，按记录时间 {when} 计入（已标记为延迟上传）。"}
    db.session.commit()
    return jsonify(answer)

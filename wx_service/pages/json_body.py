"""What a ``/m/api/`` POST may carry: one JSON object whose fields each have a declared type.

Every JSON endpoint reads its body through ``json_fields``, so a list, a string, a nested object
where a media id is expected, or a body that is not an object at all is a 400 ``{"code",
"message"}`` before any rule runs — nothing is written.
"""

from __future__ import annotations

import math

from flask import request

from models import RuleViolation

TEXT = (str,)
#: A number from the JS-SDK, or the same number as text (``positions.parse`` reads both).
NUMBER = (int, float, str)
#: The fields of a position, as every endpoint that takes one names them.
POSITION = {"latitude": NUMBER, "longitude": NUMBER, "accuracy": NUMBER, "datum": TEXT}

MAX_TEXT = 2000


def _refuse(message: str = "请求格式不正确。"):
    raise RuleViolation("bad_request", message, 400)


def _acceptable(value, types) -> bool:
    if value is None:
        return True
    if isinstance(value, bool) or not isinstance(value, types):  # bool is an int to Python, not to us
        return False
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, str):
        return "\x00" not in value and len(value) <= MAX_TEXT
    return True


def json_fields(**declared) -> dict:
    """The request's JSON object, limited to the declared fields (``name=(type, …)``), each of its type.

    An absent field, or ``null``, reads as ``None``; unknown fields are ignored.
    """
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        _refuse("请求格式不正确，应为JSON对象。")
    out = {}
    for name, types in declared.items():
        value = data.get(name)
        if not _acceptable(value, types):
            _refuse(f"字段 {name} 的格式不正确。")
        out[name] = value
    return out

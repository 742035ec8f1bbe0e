"""Service hours of one sign-in/sign-out cycle, rounded by a configurable rule.

The default, ``ceil_half_hour``, reproduces the 时长公示 table of the manual (图2-12):
14:41–15:16 (35 min) → 1.00, 14:39–15:11 → 1.00, 14:30–15:13 → 1.00, 13:11–14:27 (76 min) → 1.50.
"""

from __future__ import annotations

import math
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal


def _minutes(sign_in: datetime, sign_out: datetime) -> float:
    return max((sign_out - sign_in).total_seconds() / 60.0, 0.0)


def ceil_half_hour(minutes: float) -> Decimal:
    return Decimal(math.ceil(minutes / 30.0)) / 2


def floor_half_hour(minutes: float) -> Decimal:
    return Decimal(math.floor(minutes / 30.0)) / 2


def nearest_quarter(minutes: float) -> Decimal:
    return (Decimal(str(minutes)) / 15).quantize(Decimal(1), rounding=ROUND_HALF_UP) / 4


def exact(minutes: float) -> Decimal:
    return (Decimal(str(minutes)) / 60).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


RULES = {"ceil_half_hour": ceil_half_hour, "floor_half_hour": floor_half_hour,
         "nearest_quarter": nearest_quarter, "exact": exact}
DEFAULT_RULE = "ceil_half_hour"


def cycle_hours(sign_in: datetime, sign_out: datetime, rule: str = DEFAULT_RULE) -> Decimal:
    """Hours credited for one cycle, two decimals."""
    return RULES[rule](_minutes(sign_in, sign_out)).quantize(Decimal("0.01"))

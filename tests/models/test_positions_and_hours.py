from datetime import datetime
from decimal import Decimal

import pytest

from models import RuleViolation
from models.hours import RULES, cycle_hours
from models.positions import GCJ02, WGS84, Position, distance_m, parse


def at(hhmm: str) -> datetime:
    h, m = map(int, hhmm.split(":"))
    return datetime(2017, 12, 16, h, m)


@pytest.mark.parametrize("start, end, hours", [
    ("14:41", "15:16", "1.00"), ("14:39", "15:11", "1.00"), ("14:30", "15:13", "1.00"),
    ("13:11", "14:27", "1.50"), ("13:08", "14:24", "1.50"),          # the rows of 图2-12
    ("09:00", "09:30", "0.50"), ("09:00", "09:31", "1.00"), ("09:00", "12:00", "3.00"),
])
def test_default_rounding_reproduces_the_manual_table(start, end, hours):
    assert cycle_hours(at(start), at(end)) == Decimal(hours)


@pytest.mark.parametrize("rule, minutes, hours", [
    ("floor_half_hour", 35, "0.50"), ("nearest_quarter", 35, "0.50"), ("nearest_quarter", 38, "0.75"),
    ("exact", 35, "0.58"),
])
def test_other_rules(rule, minutes, hours):
    from datetime import timedelta

    start = at("10:00")
    assert rule in RULES
    assert cycle_hours(start, start + timedelta(minutes=minutes), rule) == Decimal(hours)


def test_wgs84_is_converted_to_gcj02_about_500_m_in_nantong():
    raw = parse(32.0137, 120.8647, 30, datum=WGS84)
    same = parse(32.0137, 120.8647, 30, datum=GCJ02)
    shift = distance_m(raw, same)
    assert 300 < shift < 700
    assert raw.accuracy == 30


def test_geodesic_distance():
    a = Position(32.0000, 120.8000)
    b = Position(32.0009, 120.8000)   # 0.0009 degrees of latitude ≈ 99.8 m
    assert distance_m(a, b) == pytest.approx(99.8, abs=0.5)


@pytest.mark.parametrize("lat, lng, acc", [("x", 1, None), (91, 0, None), (0, 181, None), (30, 120, -1)])
def test_bad_positions_are_refused(lat, lng, acc):
    with pytest.raises(RuleViolation):
        parse(lat, lng, acc)

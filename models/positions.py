"""Positions in one datum: gcj02, the datum of WeChat's and Tencent's maps.

Pages ask ``wx.getLocation({type: 'gcj02'})``; a position that arrives in wgs84 (a LOCATION event,
a phone that ignored the type) is converted with prcoords before use.  Distances are geodesic
(geopy).  Mixing the datums would shift points by about 500 m in China.
"""

from __future__ import annotations

from dataclasses import dataclass

import prcoords
from geopy.distance import geodesic

from .base import RuleViolation

GCJ02 = "gcj02"
WGS84 = "wgs84"


@dataclass(frozen=True)
class Position:
    latitude: float
    longitude: float
    accuracy: float | None = None  # metres, as the phone reports it


def parse(latitude, longitude, accuracy=None, datum: str = GCJ02) -> Position:
    """A gcj02 position from raw values; refused with a message when they are not a position."""
    try:
        lat, lng = float(latitude), float(longitude)
        acc = float(accuracy) if accuracy not in (None, "") else None
    except (TypeError, ValueError) as exc:
        raise RuleViolation("position_invalid", "无法获取有效的位置，请开启定位后重试。") from exc
    if not (-90 <= lat <= 90 and -180 <= lng <= 180) or (acc is not None and acc < 0):
        raise RuleViolation("position_invalid", "无法获取有效的位置，请开启定位后重试。")
    if datum == WGS84:
        converted = prcoords.wgs_gcj((lat, lng), True)
        lat, lng = converted.lat, converted.lon
    elif datum != GCJ02:
        raise RuleViolation("datum_invalid", "不支持的坐标系。")
    return Position(lat, lng, acc)


def distance_m(a: Position, b: Position) -> float:
    return geodesic((a.latitude, a.longitude), (b.latitude, b.longitude)).meters


def map_link(point: Position, label: str) -> str:
    """A Tencent map link (gcj02) for a point, for 查看 on the pages."""
    from urllib.parse import quote

    return (f"https://apis.map.qq.com/uri/v1/marker?marker=coord:{point.latitude:.6f},{point.longitude:.6f};"
            f"title:{quote(label)}&referer=jianghai")

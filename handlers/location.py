"""LOCATION events: the last position is kept raw on the follower; WeChat wants ``success``."""

from __future__ import annotations

from .router import router


@router.route("event", "location")
def on_location(incoming):
    msg = incoming.message
    incoming.follower.record_location(float(msg.latitude), float(msg.longitude),
                                      float(msg.precision) if msg.precision else None, incoming.now)
    return None

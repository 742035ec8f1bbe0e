"""Callbacks that race: the first messages of one person arriving at once all get their answer."""

from __future__ import annotations

import threading

from models import Follower
from tests.support import wechat


def test_simultaneous_first_callbacks_of_one_person(any_app):
    """Each creates the follower row; the losers of that race are retried, not answered 503."""
    barrier = threading.Barrier(8)
    statuses: list[int] = []

    def send(i: int) -> None:
        client = any_app.client()
        xml = wechat.event_xml("o_racer", "CLICK", "CONTACT", create_time=1_750_000_000 + i)
        barrier.wait(10)
        statuses.append(wechat.post(client, any_app.config, "demo", xml).status_code)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert statuses == [200] * 8
    with any_app.app.app_context():
        assert Follower.query.filter_by(openid="o_racer").count() == 1

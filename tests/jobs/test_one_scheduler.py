"""The periodic jobs run once per period however many schedulers run (``jobs.scheduler``).

Two ``Scheduler`` objects on one store (both stores) settle who leads and who submits; then real
processes: two schedulers side by side on Redis, the leader killed with SIGKILL, the other taking
over the lease, and two ``flask cron`` processes that together submit each periodic job once.
"""

from __future__ import annotations

import signal

import pytest
from rq import Queue

from jobs.schedule import PERIODIC
from jobs.scheduler import LEASE_KEY, Scheduler
from tests.support.processes import first_line, flask_process, start_fast_scheduler, stop, tick, wait_for


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_two_schedulers_one_leader_and_each_period_once(any_app):
    submitted = []
    job = type("Job", (), {})  # a stand-in job: records its submissions
    job.__module__, job.__name__ = "tests", "counted"
    job.now = staticmethod(lambda: submitted.append(1))
    clock = Clock(1_000_020.0)
    with any_app.app.app_context():
        store = any_app.app.extensions["wx_store"]
        first = Scheduler(store, [(job, 60)], lease_seconds=30, holder="host-a", clock=clock)
        second = Scheduler(store, [(job, 60)], lease_seconds=30, holder="host-b", clock=clock)
        assert first.tick() == [job] and second.tick() == []
        assert store.get(LEASE_KEY) == "host-a" and not second.leading
        clock.now += 30  # same period: nobody submits again
        assert first.tick() == [] and second.tick() == []
        clock.now += 30  # the next period (1_000_080 // 60): once
        assert first.tick() == [job] and second.tick() == []
        # host-a dies: its lease runs out (as Redis / the store's expiry does), host-b takes over
        store.delete(LEASE_KEY)
        assert second.tick() == [] and second.leading  # the period host-a already ran is not run again
        clock.now += 60
        assert second.tick() == [job]
        assert first.tick() == [] and not first.leading  # a holder back from the dead finds it taken
        second.release()
        assert store.get(LEASE_KEY) is None
    assert len(submitted) == 3


class Claims(dict):
    """{period: holder} of the fast job's period claims, as seen so far (a claim expires after a few periods)."""

    def __init__(self, connection, tag: str):
        super().__init__()
        self.connection, self.prefix = connection, f"{tag}:cron:ran:{tick.__module__}.{tick.__name__}:"

    def look(self) -> Claims:
        for key in self.connection.scan_iter(self.prefix + "*"):
            holder = self.connection.get(key)
            if holder is not None:
                self[int(key.decode()[len(self.prefix):])] = holder.decode()
        return self


@pytest.mark.redis
def test_two_scheduler_processes_one_killed_the_other_takes_over(app_pg):
    connection = app_pg.app.extensions["wx_redis"]
    tag = app_pg.config["redis"]["queue"]
    lease = f"{tag}:{LEASE_KEY}"
    holder = lambda: (connection.get(lease) or b"").decode()  # noqa: E731
    claims = Claims(connection, tag)
    first = start_fast_scheduler(app_pg.config_path, lease_seconds=2)
    second = None
    try:
        wait_for(lambda: holder().split(":")[1:2] == [str(first.pid)], "the first scheduler takes the lease",
                 processes=[first])
        a = holder()
        second = start_fast_scheduler(app_pg.config_path, lease_seconds=2)
        wait_for(lambda: len(claims.look()) >= 4, "four periods run", processes=[first, second])
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        wait_for(lambda: holder().split(":")[1:2] == [str(second.pid)], "the second takes over the lease",
                 processes=[second])
        b = holder()
        wait_for(lambda: list(claims.look().values()).count(b) >= 3, "three periods run by the second",
                 processes=[second])
        stop(second)
        assert second.returncode == 0
        assert connection.get(lease) is None  # given back on SIGTERM: a third would lead at once
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
    ran = claims.look()
    assert set(ran.values()) == {a, b}
    assert max(p for p, h in ran.items() if h == a) < min(p for p, h in ran.items() if h == b)
    queued = Queue(tag, connection=connection).get_jobs()
    assert len(queued) == len(ran)  # one job per period claimed: nothing submitted twice
    assert {j.func_name for j in queued} == {f"{tick.__module__}.{tick.__name__}"}


@pytest.mark.redis
def test_two_cron_commands_submit_each_periodic_job_once(app_pg):
    connection = app_pg.app.extensions["wx_redis"]
    tag = app_pg.config["redis"]["queue"]
    queue = Queue(tag, connection=connection)
    crons = [flask_process(app_pg.config_path, "cron", "--lease-seconds", "5", "--tick", "0.2") for _ in range(2)]
    try:
        banners = [first_line(proc, "flask cron") for proc in crons]  # both are up, their SIGTERM handlers set
        assert all(b.startswith("scheduler ") for b in banners), banners
        wait_for(lambda: queue.count >= len(PERIODIC), "the periodic jobs submitted", timeout=240, processes=crons)
        leader = (connection.get(f"{tag}:{LEASE_KEY}") or b"").decode()
        outputs = [stop(proc) for proc in crons]
    finally:
        for proc in crons:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert [proc.returncode for proc in crons] == [0, 0], outputs
    names = sorted(j.func_name for j in queue.get_jobs())
    assert names == sorted(f"{func.__module__}.{func.__name__}" for func, _ in PERIODIC)
    assert leader.split(":")[1] in {str(proc.pid) for proc in crons}

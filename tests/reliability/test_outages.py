"""Outages: Redis stopped during traffic, PostgreSQL cut and restored under a running app.

Redis: a private ``redis-server`` on a free loopback port, started and stopped by the test (the machine's
shared Redis is never touched), and a URL where nothing listens.  Callbacks keep answering well inside
WeChat's 5 s, deduplicating in the database meanwhile.

PostgreSQL: the app reaches the session's database through a loopback TCP forwarder; cutting the forwarder
(listener and live connections) is the outage, starting it on the same port is the recovery.  During the
outage pages, callbacks and ``/healthz`` answer a clear 503; afterwards the same app serves again and
WeChat's retry of a refused callback is processed once, in full.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time

import pytest
import redis as redis_lib
from sqlalchemy.engine import make_url

from models import Follower, SharedValue
from tests.conftest import SESSION_TAG
from tests.reliability.proxy import TcpProxy
from tests.support import people, wechat
from tests.support.appfactory import build_app, free_port

pytestmark = pytest.mark.timeout(120)

WECHAT_PATIENCE = 5.0
BOUND = "o_outage_bound"


class PrivateRedis:
    """A redis-server of our own on a free loopback port, stopped and restarted at will."""

    def __init__(self, workdir):
        self.port = free_port()
        self.workdir = workdir
        self.pid: int | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        pidfile = self.workdir / f"redis-{self.port}.pid"
        subprocess.run(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                        "--appendonly", "no", "--daemonize", "yes", "--pidfile", str(pidfile),
                        "--logfile", str(self.workdir / "redis.log"), "--dir", str(self.workdir)],
                       check=True, timeout=10)
        client = redis_lib.Redis(port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis_lib.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.pid = int(pidfile.read_text())

    def stop(self) -> None:
        if self.pid is None:
            return
        subprocess.run(["redis-cli", "-p", str(self.port), "shutdown", "nosave"], timeout=10,
                       capture_output=True)
        deadline = time.monotonic() + 10
        while _alive(self.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.pid = None


def _alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def private_redis(tmp_path, redis_url):
    if not shutil.which("redis-server") or not shutil.which("redis-cli"):
        pytest.skip("redis-server / redis-cli not installed")
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    if server.pid is not None and _alive(server.pid):
        server.stop()
    if server.pid is not None and _alive(server.pid):
        import os
        import signal

        os.kill(server.pid, signal.SIGKILL)


@pytest.fixture
def built(tmp_path):
    """Apps built by a test, emptied and stopped afterwards."""
    handles = []

    def build(database_url: str, redis_url: str, name: str):
        media = tmp_path / name
        media.mkdir()
        handle = build_app(database_url=database_url, redis_url=redis_url, tag=f"wx_test_{SESSION_TAG}_{name}",
                           media=media)
        handles.append(handle)
        return handle

    yield build
    for handle in handles:
        try:
            _empty_tables(handle)
        except Exception:  # noqa: BLE001 - a test that left the database cut must not hide its own failure
            pass
        handle.stop()


def _empty_tables(handle) -> None:
    """``AppHandle.reset`` without its Redis part (this Redis may be the one that is down)."""
    from sqlalchemy import text

    from models import db

    with handle.app.app_context():
        tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
        db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        db.session.commit()


def _bind_volunteer(handle, openid: str = BOUND) -> None:
    with handle.app.app_context():
        people.bind(people.make_volunteer(), openid)


_clock = iter(range(1_800_000_000, 1_900_000_000))


def click(client, config, openid: str = BOUND, create_time: int | None = None):
    xml = wechat.event_xml(openid, "CLICK", "MY_QRCODE", create_time=create_time or next(_clock))
    started = time.perf_counter()
    res = wechat.post(client, config, "demo", xml)
    return res, time.perf_counter() - started


def subscribe(client, config, openid: str, create_time: int):
    started = time.perf_counter()
    res = wechat.post(client, config, "demo", wechat.event_xml(openid, "subscribe", create_time=create_time))
    return res, time.perf_counter() - started


# --- Redis ----------------------------------------------------------------------------------------

def test_redis_unreachable_callbacks_answer_and_dedup_in_the_database(postgres_url, built):
    handle = built(postgres_url, f"redis://127.0.0.1:{free_port()}/0", "noredis")  # nothing listens there
    _empty_tables(handle)
    _bind_volunteer(handle)
    client = handle.client()
    res, seconds = click(client, handle.config)
    assert res.status_code == 200 and "me/qrcode" in res.get_data(as_text=True) and seconds < WECHAT_PATIENCE
    first, seconds_first = subscribe(client, handle.config, "o_outage_new", 1_700_000_001)
    again, seconds_again = subscribe(client, handle.config, "o_outage_new", 1_700_000_001)
    assert first.status_code == again.status_code == 200
    assert again.data == first.data and "欢迎关注" in first.get_data(as_text=True)
    assert max(seconds_first, seconds_again) < WECHAT_PATIENCE
    with handle.app.app_context():
        assert Follower.query.filter_by(openid="o_outage_new").count() == 1
        assert SharedValue.query.filter(SharedValue.key.like("dedup:demo:%")).count() == 2
    assert client.get("/healthz").status_code == 503


def test_redis_stopped_during_traffic(postgres_url, private_redis, built):
    handle = built(postgres_url, private_redis.url, "redisstop")
    _empty_tables(handle)
    _bind_volunteer(handle)
    results: list[tuple[str, int, float, bool]] = []
    phase = ["before"]
    stop = threading.Event()

    def traffic():
        client = handle.client()
        while not stop.is_set():
            res, seconds = click(client, handle.config)
            results.append((phase[0], res.status_code, seconds, "me/qrcode" in res.get_data(as_text=True)))

    workers = [threading.Thread(target=traffic) for _ in range(3)]
    for worker in workers:
        worker.start()
    try:
        time.sleep(0.5)
        phase[0] = "outage"
        private_redis.stop()
        time.sleep(1.0)
        # A callback and WeChat's repeat of it, while Redis is down: one effect, the same reply.
        client = handle.client()
        first, _ = subscribe(client, handle.config, "o_outage_during", 1_700_000_100)
        again, _ = subscribe(client, handle.config, "o_outage_during", 1_700_000_100)
        assert first.status_code == again.status_code == 200 and first.data == again.data
        assert client.get("/healthz").status_code == 503
        private_redis.start()
        phase[0] = "after"
        time.sleep(0.8)
    finally:
        stop.set()
        for worker in workers:
            worker.join(30)
    assert handle.client().get("/healthz").status_code == 200
    by_phase = {p: [r for r in results if r[0] == p] for p in ("before", "outage", "after")}
    assert all(by_phase.values()), {p: len(r) for p, r in by_phase.items()}
    assert all(status == 200 and ok for _, status, _, ok in results), [r for r in results if r[1] != 200][:5]
    slowest = max(seconds for _, _, seconds, _ in results)
    assert slowest < WECHAT_PATIENCE, f"slowest callback {slowest:.2f} s"
    with handle.app.app_context():
        assert Follower.query.filter_by(openid="o_outage_during").count() == 1
        assert SharedValue.query.filter(SharedValue.key.like("dedup:demo:%")).count() >= 1  # the fallback


# --- PostgreSQL -----------------------------------------------------------------------------------

@pytest.fixture
def pg_proxy(postgres_url):
    url = make_url(postgres_url)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432)).start()
    yield proxy, url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    proxy.stop()


def test_postgres_outage_is_a_clear_503_and_the_same_app_recovers(pg_proxy, redis_url, built):
    proxy, proxied_url = pg_proxy
    try:
        handle = built(proxied_url, redis_url, "pgcut")
        _empty_tables(handle)
        _bind_volunteer(handle)
        client = handle.client()
        people.sign_in(client, BOUND)
        assert client.get("/m/").status_code == 200
        res, _ = click(client, handle.config)
        assert res.status_code == 200

        proxy.stop()
        # A person seen within the minute is answered from the follower card: no database needed.
        during_click = next(_clock)
        res, seconds = click(client, handle.config, create_time=during_click)
        assert res.status_code == 200 and "me/qrcode" in res.get_data(as_text=True) and seconds < WECHAT_PATIENCE
        res, seconds = subscribe(client, handle.config, "o_outage_pg", 1_700_000_200)
        assert res.status_code == 503 and seconds < WECHAT_PATIENCE
        page = client.get("/m/")
        assert page.status_code == 503 and "服务暂时不可用" in page.get_data(as_text=True)
        health = client.get("/healthz")
        assert health.status_code == 503 and health.get_json()["database"].startswith("down")

        proxy.start()  # the same port: the database is back
        deadline = time.monotonic() + 10
        while client.get("/healthz").status_code != 200:
            assert time.monotonic() < deadline, "the app did not recover"
            time.sleep(0.1)
        assert client.get("/m/").status_code == 200
        # The click answered during the outage is a repeat now; WeChat's retry of the refused
        # subscribe is processed in full, once.
        res, _ = click(client, handle.config, create_time=during_click)
        assert res.status_code == 200 and "me/qrcode" in res.get_data(as_text=True)
        first, _ = subscribe(client, handle.config, "o_outage_pg", 1_700_000_200)
        again, _ = subscribe(client, handle.config, "o_outage_pg", 1_700_000_200)
        assert first.status_code == 200 and "欢迎关注" in first.get_data(as_text=True) and again.data == first.data
        with handle.app.app_context():
            followers = Follower.query.filter_by(openid="o_outage_pg").all()
            assert len(followers) == 1 and followers[0].following and followers[0].subscribed_at is not None
    finally:
        if not proxy.running:
            proxy.start()  # let the teardown empty the tables

"""The shared store's writes that no request waits for (``set_and_set_if_soon``), on the real Redis: sent in
batches, one command each, by a thread of the process that ends when idle and that a fork does not inherit."""

import gc
import logging
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
import redis as redis_lib

from wx_service.shared_store import DatabaseStore, GuardedSet, RedisStore, SoonWrites

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def store(redis_url):
    prefix = f"wx_test_soon_{uuid.uuid4().hex[:8]}"
    client = redis_lib.Redis.from_url(redis_url)
    yield RedisStore(client, prefix)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


def counting_batches(store, monkeypatch):
    batches = []
    write_batch = store._write_batch

    def record(writes):
        batches.append(len(writes))
        write_batch(writes)

    monkeypatch.setattr(store, "_soon", SoonWrites(record))
    return batches


def test_writes_made_together_go_in_one_command_and_keep_their_guards(store, monkeypatch):
    monkeypatch.setattr(SoonWrites, "LINGER", 5.0)  # nothing is sent before the flush below hurries it
    batches = counting_batches(store, monkeypatch)
    store.set("gen:held", "3", 60)
    for n in range(40):
        store.set_and_set_if_soon(f"reply:{n}", f"回复{n}", 60, None)
    store.set_and_set_if_soon("reply:a", "甲", 60, GuardedSet("card:a", "volunteer 7", 60, "gen:held", "3"))
    store.set_and_set_if_soon("reply:b", "乙", 60, GuardedSet("card:b", "volunteer 8", 60, "gen:held", "2"))
    store.set_and_set_if_soon("reply:c", "丙", 60, GuardedSet("card:c", "nobody", 60, "gen:none", None))
    assert store.get("reply:0") is None and batches == []  # not waited for by the caller: still lingering
    store.flush()
    assert batches == [43]  # every write of that moment in one command
    assert [store.get(f"reply:{n}") for n in (0, 39)] == ["回复0", "回复39"]
    assert (store.get("reply:a"), store.get("card:a")) == ("甲", "volunteer 7")
    assert (store.get("reply:b"), store.get("card:b")) == ("乙", None)  # the generation moved: no card
    assert store.get("card:c") == "nobody"
    assert 0 < store.ttl("card:a") <= 60


def test_the_writer_thread_ends_when_idle_and_the_next_write_starts_another(store, monkeypatch):
    monkeypatch.setattr(SoonWrites, "IDLE", 0.05)
    store.set_and_set_if_soon("reply:1", "一", 60, None)
    store.flush()
    first = store._soon._thread
    deadline = time.monotonic() + 5
    while store._soon._thread is not None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert store._soon._thread is None and not first.is_alive()
    store.set_and_set_if_soon("reply:2", "二", 60, None)
    store.flush()
    assert store.get("reply:2") == "二"


def test_a_failed_batch_is_logged_and_the_next_is_still_sent(store, monkeypatch, caplog):
    calls = []
    write_batch = store._write_batch

    def failing_once(writes):
        calls.append(len(writes))
        if len(calls) == 1:
            raise redis_lib.ConnectionError("Redis went away")
        write_batch(writes)

    monkeypatch.setattr(store, "_soon", SoonWrites(failing_once))
    with caplog.at_level(logging.WARNING, logger="wx_service.shared_store"):
        store.set_and_set_if_soon("reply:lost", "丢", 60, None)
        store.flush()
        store.set_and_set_if_soon("reply:kept", "留", 60, None)
        store.flush()
    assert "could not send 1 shared-store writes" in caplog.text
    assert (store.get("reply:lost"), store.get("reply:kept")) == (None, "留")


def _child_writes(prefix, url, done):
    child = RedisStore(redis_lib.Redis.from_url(url), prefix)
    child._soon = PARENT_SOON  # the parent's writer, as a forked worker inherits it
    child.set_and_set_if_soon("reply:child", "子", 60, None)
    child.flush()
    done.put(True)


PARENT_SOON = None


def test_a_forked_child_sends_its_own_writes_and_never_its_parents(store, redis_url, monkeypatch):
    global PARENT_SOON
    release, parent = threading.Event(), os.getpid()
    write_batch = store._write_batch

    def held(writes):
        if os.getpid() == parent:
            release.wait(30)
        write_batch(writes)

    PARENT_SOON = SoonWrites(held)
    monkeypatch.setattr(store, "_soon", PARENT_SOON)
    store.set_and_set_if_soon("reply:parent", "父", 60, None)  # queued, its batch held
    time.sleep(SoonWrites.LINGER * 3)
    done = multiprocessing.get_context("fork").Queue()
    child = multiprocessing.get_context("fork").Process(target=_child_writes,
                                                        args=(store.prefix[:-1], redis_url, done))
    child.start()
    try:
        # the child's writer is its own: the parent's batch, still held here, is not sent twice or lost
        assert done.get(timeout=20)
        child.join(20)
        assert child.exitcode == 0
        assert store.get("reply:child") == "子"
        assert store.get("reply:parent") is None
    finally:
        release.set()
        PARENT_SOON.flush()
    assert store.get("reply:parent") == "父"


def test_the_database_store_writes_at_once(app_lite):
    db_store = app_lite.app.extensions["wx_db_store"]
    assert isinstance(db_store, DatabaseStore)
    with app_lite.app.app_context():
        db_store.set_and_set_if_soon("reply:db", "库", 60, GuardedSet("card:db", "v", 60, "gen:db", None))
        assert (db_store.get("reply:db"), db_store.get("card:db")) == ("库", "v")


def _claim_many(store, tag, count):
    """``count`` claims, each checked: a connection shared with another process would cross the answers."""
    for n in range(count):
        claim = store.claim(f"pair:{tag}:{n}", f"digest-{tag}-{n}", 60, f"dedup:{tag}:{n}", "pending", 60,
                            (f"card:{tag}", f"card:{tag}:gen"))
        assert (claim.state, claim.added) == ("first", True)
        again = store.claim(f"pair:{tag}:{n}", f"digest-{tag}-{n}", 60, f"dedup:{tag}:{n}", "pending", 60,
                            (f"card:{tag}", f"card:{tag}:gen"))
        assert (again.state, again.found) == ("again", ("pending",))


def _child_claims(done):
    try:
        _claim_many(FORKED_STORE, "child", 300)
        done.put("ok")
    except BaseException as exc:  # noqa: BLE001 - the parent reports it
        done.put(repr(exc))


FORKED_STORE = None


def test_a_forked_child_claims_on_a_connection_of_its_own(store):
    global FORKED_STORE
    FORKED_STORE = store
    _claim_many(store, "parent-before", 5)  # the parent's thread now keeps a connection
    context = multiprocessing.get_context("fork")
    done = context.Queue()
    child = context.Process(target=_child_claims, args=(done,))
    child.start()
    _claim_many(store, "parent", 300)  # at the same time as the child
    assert done.get(timeout=30) == "ok"
    child.join(20)


def test_a_thread_gives_its_connection_back_when_it_ends(store):
    pool = store.redis.connection_pool
    worker = threading.Thread(target=_claim_many, args=(store, "thread", 3))
    worker.start()
    worker.join()
    gc.collect()
    assert len(pool._in_use_connections) == 0
    _claim_many(store, "main", 3)
    assert len(pool._in_use_connections) == 1  # this thread's, kept


GRACEFUL_APP = '''
import os

import redis

from wx_service.shared_store import RedisStore, SoonWrites

SoonWrites.LINGER = 120  # far beyond gunicorn's graceful timeout: only the flush at exit can send it
store = RedisStore(redis.Redis.from_url(os.environ["SOON_REDIS"]), os.environ["SOON_PREFIX"])


def app(environ, start_response):
    store.set_and_set_if_soon("reply:graceful", "好", 60, None)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
'''


def test_a_gunicorn_worker_that_stops_gracefully_sends_what_it_had_queued(store, redis_url, tmp_path):
    (tmp_path / "graceful_app.py").write_text(GRACEFUL_APP)
    port = free_port()
    env = {**os.environ, "SOON_REDIS": redis_url, "SOON_PREFIX": store.prefix[:-1],
           "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}",
                               "--graceful-timeout", "20", "graceful_app:app"], env=env, cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as answer:
                    assert answer.read() == b"ok"
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "gunicorn did not start"
                time.sleep(0.2)
        assert store.get("reply:graceful") is None  # lingering
        server.send_signal(signal.SIGTERM)
        assert server.wait(30) == 0
    finally:
        if server.poll() is None:
            server.kill()
    assert store.get("reply:graceful") == "好"


def test_request_threads_that_write_first_at_once_share_one_writer(store):
    """A gthread worker: its threads' first writes come together; none is lost to a second queue."""
    ready = threading.Barrier(16)

    def first_write(n):
        ready.wait()
        store.set_and_set_if_soon(f"reply:t{n}", f"线程{n}", 60, None)

    threads = [threading.Thread(target=first_write, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    store.flush()
    assert [store.get(f"reply:t{n}") for n in range(16)] == [f"线程{n}" for n in range(16)]

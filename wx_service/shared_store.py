"""State that every process must agree on: tokens, dedup keys, locks, counters.

Redis when ``[redis] url`` is set; otherwise rows of ``shared_value`` in the database.  Each
operation runs on a connection of its own and commits at once, so it never joins (or is rolled
back with) the transaction of the request that uses it — except the ``…_soon`` writes, which on Redis
a thread of the process sends a few milliseconds later, many at once (``SoonWrites``).
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
import uuid
import weakref
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar, NamedTuple

import redis as redis_lib
from sqlalchemy import Integer, Text, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from models import SharedValue, utcnow

log = logging.getLogger("wx_service.shared_store")

class LockTimeout(Exception):
    """Another process held the lock for longer than we were willing to wait."""


class GuardedSet(NamedTuple):
    """``set(key, value, ttl)`` only while ``guard`` holds ``expected`` (None: absent): see ``set_if``."""

    key: str
    value: str
    ttl: int
    guard: str
    expected: str | None


@dataclass(frozen=True)
class Claim:
    """What ``claim`` found: ``state`` FIRST (the guard was free and is now held; ``added``: whether the key
    was added; ``found``: the values of the reads), AGAIN (the guard held this digest: ``found`` is the
    key's value) or OTHER (it held another digest)."""

    FIRST: ClassVar[str] = "first"
    AGAIN: ClassVar[str] = "again"
    OTHER: ClassVar[str] = "other"

    state: str
    added: bool
    found: tuple[str | None, ...]


_forks = 0  # how many forks made this process: what a process inherited from before its fork is not its own


_starting = threading.Lock()  # a writer's queue and thread are made once a process, by one thread


def _forked() -> None:
    global _forks, _starting
    _forks += 1
    _starting = threading.Lock()  # a lock some thread of the parent held at the fork stays held here


os.register_at_fork(after_in_child=_forked)


def _text(value: bytes | None) -> str | None:
    return value.decode() if value is not None else None


class Locks:
    """``store.lock(name)``: a lock every process honours, built on the store's ``add``/``delete_if`` so
    it works on both stores."""

    @contextmanager
    def lock(self, name: str, timeout: float = 10.0, hold: int = 30):
        owner = uuid.uuid4().hex
        key = f"lock:{name}"
        deadline = time.monotonic() + timeout
        delay = 0.005
        while not self.add(key, owner, hold):
            if time.monotonic() > deadline:
                raise LockTimeout(name)
            time.sleep(delay)
            delay = min(delay * 2, 0.1)
        try:
            yield
        finally:
            self.delete_if(key, owner)


class RedisStore(Locks):
    def __init__(self, client: redis_lib.Redis, prefix: str):
        self.redis = client
        self.prefix = prefix + ":"
        self._soon = SoonWrites(self._write_batch)
        self._threads = threading.local()

    def _own_client(self) -> redis_lib.Redis:
        """A client on a connection this thread keeps, for the callback's one round trip (``claim``).

        Taking a connection from the pool and giving it back — with the pool's fork check and its probe
        that the connection has nothing left to read — cost the callback more CPU than the command
        itself.  The connection goes back to the pool when the thread ends; a forked child makes its own.
        """
        own = getattr(self._threads, "client", None)
        if own is None or self._threads.forks != _forks:
            own = redis_lib.Redis(connection_pool=self.redis.connection_pool, single_connection_client=True)
            self._threads.client, self._threads.forks = own, _forks
        return own

    def _k(self, key: str) -> str:
        return self.prefix + key

    def add(self, key: str, value: str, ttl: int) -> bool:
        """Set only if absent (SET NX EX); True when this call created it."""
        return bool(self.redis.set(self._k(key), value, nx=True, ex=ttl))

    def get(self, key: str) -> str | None:
        value = self.redis.get(self._k(key))
        return value.decode() if value is not None else None

    _CLAIM = ("local kept = redis.call('get', KEYS[1]) "
              "if kept then if kept ~= ARGV[1] then return {0} end return {1, redis.call('get', KEYS[2])} end "
              "redis.call('set', KEYS[1], ARGV[1], 'EX', ARGV[2]) "
              "local added = redis.call('set', KEYS[2], ARGV[3], 'NX', 'EX', ARGV[4]) "
              "if ARGV[5] ~= '' then redis.call('hset', KEYS[5], ARGV[5], ARGV[6]) end "
              "return {2, added and 1 or 0, redis.call('get', KEYS[3]), redis.call('get', KEYS[4])}")

    def claim(self, guard: str, digest: str, guard_ttl: int, key: str, value: str, ttl: int,
              reads: tuple[str, str], mark: tuple[str, str, str] | None = None) -> Claim:
        """Hold ``guard = digest``, ``add(key)``, ``get`` both ``reads`` and ``mark(*mark)``, atomically and in
        one round trip (the callback's nonce pair, dedup key, follower card and its generation, last-seen
        time) — unless ``guard`` is held already: then nothing is written (see ``Claim``)."""
        guard_key, card_key, generation_key = self._k(guard), self._k(reads[0]), self._k(reads[1])
        marks, field, noted = (self._k(mark[0]), mark[1], mark[2]) if mark else (guard_key, "", "")
        answer = self._own_client().eval(self._CLAIM, 5, guard_key, self._k(key), card_key, generation_key, marks,
                                 digest, guard_ttl, value, ttl, field, noted)
        if answer[0] == 2:
            return Claim(Claim.FIRST, bool(answer[1]), tuple(_text(v) for v in answer[2:]))
        return Claim(Claim.AGAIN if answer[0] == 1 else Claim.OTHER, False, tuple(_text(v) for v in answer[1:]))

    def mark(self, name: str, field: str, value: str) -> None:
        """Note ``field = value`` in the set of marks ``name`` (a later note of one field replaces it)."""
        self.redis.hset(self._k(name), field, value)

    def take_marks(self, name: str) -> dict[str, str]:
        """Every mark of ``name``, removed at once (atomically: a mark noted meanwhile is in the next take)."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.hgetall(self._k(name))
        pipe.delete(self._k(name))
        marks, _ = pipe.execute()
        return {k.decode(): v.decode() for k, v in marks.items()}

    _SET_IF = ("local g = redis.call('get', KEYS[2]) if (g == false and ARGV[3] == '') or g == ARGV[3] then "
               "redis.call('set', KEYS[1], ARGV[1], 'EX', ARGV[2]) return 1 end return 0")

    def set_if(self, key: str, value: str, ttl: int, guard: str, expected: str | None) -> bool:
        """``set(key)`` only while ``guard`` still holds ``expected`` (None: absent), atomically; whether set."""
        return bool(self.redis.eval(self._SET_IF, 2, self._k(key), self._k(guard), value, ttl, expected or ""))

    def set_and_set_if(self, key: str, value: str, ttl: int, guarded: GuardedSet | None) -> None:
        """``set(key)`` and, when given, ``set_if(*guarded)``, in one round trip (the callback's reply and the
        follower card it read)."""
        self._write_batch([(key, value, ttl, guarded)])

    def set_and_set_if_soon(self, key: str, value: str, ttl: int, guarded: GuardedSet | None) -> None:
        """``set_and_set_if``, sent by the process's writer thread within a few milliseconds, with the others
        of that moment in one command (see ``SoonWrites``); a failure is logged there."""
        self._soon.put((key, value, ttl, guarded))

    def flush(self) -> None:
        """Wait until every ``…_soon`` write made so far by this process has been sent."""
        self._soon.flush()

    # Many ``set_and_set_if`` in one command: per write a flag (guarded or not), then key, value, ttl and,
    # when guarded, the guarded key, its value and ttl and the guard's expected value (keys in KEYS).
    _SET_AND_SET_IF_MANY = (
        "local k, a = 1, 1 while a <= #ARGV do redis.call('set', KEYS[k], ARGV[a + 1], 'EX', ARGV[a + 2]) "
        "if ARGV[a] == '1' then local g = redis.call('get', KEYS[k + 2]) "
        "if (g == false and ARGV[a + 5] == '') or g == ARGV[a + 5] then "
        "redis.call('set', KEYS[k + 1], ARGV[a + 3], 'EX', ARGV[a + 4]) end k, a = k + 3, a + 6 "
        "else k, a = k + 1, a + 3 end end return 0")

    def _write_batch(self, writes) -> None:
        """A batch of ``set_and_set_if_soon`` writes, in one command (packing commands one by one would cost
        the writer thread more than the round trip it saves)."""
        keys, args = [], []
        for key, value, ttl, guarded in writes:
            keys.append(self._k(key))
            if guarded is None:
                args += ("0", value, ttl)
            else:
                keys += (self._k(guarded.key), self._k(guarded.guard))
                args += ("1", value, ttl, guarded.value, guarded.ttl, guarded.expected or "")
        self.redis.eval(self._SET_AND_SET_IF_MANY, len(keys), *keys, *args)

    def delete_many(self, keys) -> None:
        if keys:
            self.redis.delete(*(self._k(k) for k in keys))

    def set(self, key: str, value: str, ttl: int) -> None:
        self.redis.set(self._k(key), value, ex=ttl)

    def delete(self, key: str) -> None:
        self.redis.delete(self._k(key))

    _DELETE_IF = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"

    def delete_if(self, key: str, expected: str) -> bool:
        """Delete only while it still holds ``expected`` (compare-and-delete, atomic)."""
        return bool(self.redis.eval(self._DELETE_IF, 1, self._k(key), expected))

    _EXTEND_IF = ("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('expire', KEYS[1], ARGV[2]) end "
                  "return 0")

    def extend_if(self, key: str, expected: str, ttl: int) -> bool:
        """Give the key ``ttl`` seconds more only while it still holds ``expected`` (a lease renewed by its holder)."""
        return bool(self.redis.eval(self._EXTEND_IF, 1, self._k(key), expected, ttl))

    def incr(self, key: str, ttl: int, amount: int = 1) -> int:
        """Count up by ``amount``; the window of ``ttl`` seconds starts at the first count."""
        pipe = self.redis.pipeline()
        pipe.incr(self._k(key), amount)
        pipe.expire(self._k(key), ttl, nx=True)
        return int(pipe.execute()[0])

    def ttl(self, key: str) -> int:
        return max(int(self.redis.ttl(self._k(key))), 0)

    def ping(self) -> bool:
        return bool(self.redis.ping())


class DatabaseStore(Locks):
    """The same operations on the ``shared_value`` table (no Redis configured).

    Its expiries run on the real time (``models.utcnow``), not on ``clock.now()``: they stand in for
    Redis's TTLs, which a test cannot stop either, and are no rule of the service.
    """

    def __init__(self, engine_getter):
        self._engine = engine_getter
        self.table = SharedValue.__table__

    def _live(self, now):
        t = self.table
        return (t.c.expires_at.is_(None)) | (t.c.expires_at > now)

    def add(self, key: str, value: str, ttl: int) -> bool:
        now = utcnow()
        t = self.table
        with self._engine().begin() as conn:
            conn.execute(delete(t).where(t.c.key == key, t.c.expires_at <= now))
        try:
            with self._engine().begin() as conn:
                conn.execute(insert(t).values(key=key, value=value, expires_at=now + timedelta(seconds=ttl)))
            return True
        except IntegrityError:
            return False

    def claim(self, guard: str, digest: str, guard_ttl: int, key: str, value: str, ttl: int,
              reads: tuple[str, str], mark: tuple[str, str, str] | None = None) -> Claim:
        """As ``RedisStore.claim``, in steps: a guard held and a key not yet added is undone when a step fails."""
        if not self.add(guard, digest, guard_ttl):
            kept = self.get(guard)
            if kept is not None and kept != digest:
                return Claim(Claim.OTHER, False, (kept,))
            return Claim(Claim.AGAIN, False, (self.get(key),))
        try:
            if mark:
                self.mark(*mark)
            return Claim(Claim.FIRST, self.add(key, value, ttl), tuple(self.get(read) for read in reads))
        except Exception:
            with suppress(Exception):
                self.delete(guard)
            raise

    def set_and_set_if(self, key: str, value: str, ttl: int, guarded: GuardedSet | None) -> None:
        self.set(key, value, ttl)
        if guarded is not None:
            self.set_if(*guarded)

    set_and_set_if_soon = set_and_set_if  # a database write gains nothing from waiting for others

    def flush(self) -> None:
        """Nothing waits: every write of this store is made at once."""

    MARK_TTL = 7 * 24 * 3600  # a mark nobody took (no scheduler running) is purged with the expired rows

    def mark(self, name: str, field: str, value: str) -> None:
        self.set(f"{name}|{field}", value, self.MARK_TTL)

    def take_marks(self, name: str) -> dict[str, str]:
        """Every mark of ``name``, removed; a mark noted again meanwhile (another value) stays for the next take."""
        t = self.table
        prefix = f"{name}|"
        with self._engine().begin() as conn:
            rows = conn.execute(select(t.c.key, t.c.value).where(t.c.key.startswith(prefix, autoescape=True),
                                                                   self._live(utcnow()))).all()
            for key, value in rows:
                conn.execute(delete(t).where(t.c.key == key, t.c.value == value))
        return {key[len(prefix):]: value for key, value in rows}

    def set_if(self, key: str, value: str, ttl: int, guard: str, expected: str | None) -> bool:
        """``set(key)`` only while ``guard`` holds ``expected`` (None: absent) — checked, then set: not one
        step as in Redis; the gap is the time of one statement, where a lost race costs one stale card."""
        if self.get(guard) != expected:
            return False
        self.set(key, value, ttl)
        return True

    def delete_many(self, keys) -> None:
        for key in keys:
            self.delete(key)

    def get(self, key: str) -> str | None:
        t = self.table
        with self._engine().connect() as conn:
            return conn.execute(select(t.c.value).where(t.c.key == key, self._live(utcnow()))).scalar()

    def set(self, key: str, value: str, ttl: int) -> None:
        t = self.table
        expires = utcnow() + timedelta(seconds=ttl)
        with self._engine().begin() as conn:
            if not conn.execute(update(t).where(t.c.key == key).values(value=value, expires_at=expires)).rowcount:
                try:
                    with conn.begin_nested():
                        conn.execute(insert(t).values(key=key, value=value, expires_at=expires))
                except IntegrityError:
                    conn.execute(update(t).where(t.c.key == key).values(value=value, expires_at=expires))

    def delete(self, key: str) -> None:
        with self._engine().begin() as conn:
            conn.execute(delete(self.table).where(self.table.c.key == key))

    def delete_if(self, key: str, expected: str) -> bool:
        t = self.table
        with self._engine().begin() as conn:
            return bool(conn.execute(delete(t).where(t.c.key == key, t.c.value == expected)).rowcount)

    def extend_if(self, key: str, expected: str, ttl: int) -> bool:
        t = self.table
        now = utcnow()
        with self._engine().begin() as conn:
            return bool(conn.execute(update(t).where(t.c.key == key, t.c.value == expected, self._live(now))
                                     .values(expires_at=now + timedelta(seconds=ttl))).rowcount)

    def incr(self, key: str, ttl: int, amount: int = 1) -> int:
        t = self.table
        now = utcnow()
        for _ in range(5):
            with self._engine().begin() as conn:
                conn.execute(delete(t).where(t.c.key == key, t.c.expires_at <= now))
                if conn.execute(
                    update(t).where(t.c.key == key).values(value=(t.c.value.cast(Integer) + amount).cast(Text))
                ).rowcount:
                    return int(conn.execute(select(t.c.value).where(t.c.key == key)).scalar())
            if self.add(key, str(amount), ttl):
                return amount
        raise RuntimeError(f"could not count {key}")

    def ttl(self, key: str) -> int:
        t = self.table
        with self._engine().connect() as conn:
            expires = conn.execute(select(t.c.expires_at).where(t.c.key == key)).scalar()
        return max(int((expires - utcnow()).total_seconds()), 0) if expires else 0

    def ping(self) -> bool:
        with self._engine().connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        return True



class SoonWrites:
    """Writes no request waits for, sent by one thread of the process a few milliseconds after the first
    of them, together with every other that came meanwhile, through ``write_batch``.

    The callback's reply and follower card are such writes: the reply is there for WeChat's retry,
    which comes seconds later, and a card written a moment late only means one more database read.
    Under a broadcast's rush the process then makes one Redis round trip a batch instead of one a
    callback — each round trip also wakes Redis, which on a small machine costs more than the command.
    A process that dies in those milliseconds loses its unsent writes: a retry of such a callback is
    answered ``success`` (its first answer had been sent), and the card is made again when next needed.

    The thread ends after ``IDLE`` seconds with nothing to write and is started again by the next write;
    a forked child (a gunicorn worker) starts its own and never sends what its parent had queued.
    """

    LINGER = 0.01
    IDLE = 30.0
    MOST = 500  # writes a batch, at the most

    def __init__(self, write_batch):
        self._write_batch = write_batch
        self._forks = None
        _ALL.add(self)

    def _start_afresh(self) -> None:
        self._lock = threading.Lock()
        self._queue: queue.Queue = queue.Queue()
        self._hurry = threading.Event()
        self._thread = None
        self._forks = _forks  # last: a thread that sees it current finds the rest made

    def put(self, write) -> None:
        if self._forks != _forks:
            with _starting:
                if self._forks != _forks:
                    self._start_afresh()
        with self._lock:
            self._queue.put(write)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="shared-store-writes", daemon=True)
                self._thread.start()

    def flush(self) -> None:
        """Send every write put so far without lingering, and wait until it is sent (or failed and was logged)."""
        if self._forks == _forks:
            self._hurry.set()
            try:
                self._queue.join()
            finally:
                self._hurry.clear()

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=self.IDLE)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._thread = None
                        return
                continue
            self._hurry.wait(self.LINGER)
            batch = [first]
            with suppress(queue.Empty):
                while len(batch) < self.MOST:
                    batch.append(self._queue.get_nowait())
            try:
                self._write_batch(batch)
            except Exception:
                log.warning("could not send %d shared-store writes", len(batch), exc_info=True)
            finally:
                for _ in batch:
                    self._queue.task_done()


_ALL: weakref.WeakSet[SoonWrites] = weakref.WeakSet()


@atexit.register
def _flush_at_exit() -> None:
    """A worker that stops (gunicorn's graceful restart) sends what it has queued first."""
    for writes in list(_ALL):
        writes.flush()

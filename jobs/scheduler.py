"""One scheduler of the periodic jobs, however many ``cron`` processes run (on one host or several).

Two locks in the shared store (Redis when configured, else the database) make it so:

- **the lease** (``cron:lease``): one holder at a time enqueues anything.  The holder renews it every
  third of its length; a holder that dies (killed, host gone) stops renewing, the lease runs out after
  ``lease_seconds`` and the next scheduler that asks takes it over.  A scheduler that stops on SIGTERM
  gives the lease back at once.
- **one slot per period** (``cron:ran:<job>:<n>``, n = the epoch seconds // the interval): a job is
  submitted only by whoever creates its key for the current period.  A new holder that takes over
  mid-period therefore does not run again what the old one ran a second before it died; a period
  in which no one held the lease is skipped, not caught up (each periodic job sweeps everything due).

Everything is submitted through ``func.now()``, so the job runs wherever the app's jobs run: an rq
worker in production, the web process's job thread on the embedded default.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid

log = logging.getLogger(__name__)

LEASE_KEY = "cron:lease"
LEASE_SECONDS = 30  # a dead holder is replaced within this long
TICK_SECONDS = 1.0


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Scheduler:
    """Runs ``periodic`` ([(job, interval seconds)]) once per interval across every scheduler on ``store``."""

    def __init__(self, store, periodic, *, lease_seconds: int = LEASE_SECONDS, holder: str | None = None,
                 clock=time.time):
        if lease_seconds < 1:
            raise ValueError("lease_seconds must be at least 1")
        self.store = store
        self.periodic = list(periodic)
        self.lease_seconds = lease_seconds
        self.holder = holder or holder_name()
        self.clock = clock
        self.leading = False
        self._renewed_at = float("-inf")
        self._handled: dict[str, int] = {}  # job name -> the last period this scheduler settled

    # ------------------------------------------------------------------ the lease
    def hold_lease(self) -> bool:
        """Take the lease if it is free, renew it if it is ours; whether we hold it now."""
        now = self.clock()
        if self.leading and now - self._renewed_at < self.lease_seconds / 3:
            return True
        if self.leading:
            held = self.store.extend_if(LEASE_KEY, self.holder, self.lease_seconds)
        else:
            held = self.store.add(LEASE_KEY, self.holder, self.lease_seconds)
        if held:
            self._renewed_at = now
        if held != self.leading:
            log.info("scheduler %s %s the lease", self.holder, "took" if held else "lost")
            self._handled.clear()
        self.leading = held
        return held

    def release(self) -> None:
        if self.leading:
            self.store.delete_if(LEASE_KEY, self.holder)
            self.leading = False
            log.info("scheduler %s gave the lease back", self.holder)

    # ------------------------------------------------------------------ the periods
    def due(self, now: float) -> list:
        """The jobs whose current period nobody has claimed yet; each is claimed by this call."""
        due = []
        for func, interval in self.periodic:
            name = f"{func.__module__}.{func.__name__}"
            period = int(now // interval)
            if self._handled.get(name) == period:
                continue
            if self.store.add(f"cron:ran:{name}:{period}", self.holder, interval + self.lease_seconds):
                due.append(func)
            self._handled[name] = period
        return due

    def tick(self) -> list:
        """One round: hold the lease, then submit every job due in this period; what was submitted."""
        if not self.hold_lease():
            return []
        submitted = []
        for func in self.due(self.clock()):
            func.now()
            submitted.append(func)
            log.info("scheduled %s", func.__name__, extra={"job": func.__name__})
        return submitted

    def run(self, stop: threading.Event, tick_seconds: float = TICK_SECONDS) -> None:
        """Tick until ``stop`` is set, then give the lease back.  A store outage is logged and waited out."""
        try:
            while not stop.is_set():
                try:
                    self.tick()
                except Exception as exc:  # Redis or the database away: keep trying, the lease runs out meanwhile
                    self.leading = False
                    log.warning("scheduler %s: %s", self.holder, exc.__class__.__name__)
                stop.wait(tick_seconds)
        finally:
            try:
                self.release()
            except Exception:  # the store is away: the lease runs out by itself
                log.warning("scheduler %s could not give the lease back", self.holder)

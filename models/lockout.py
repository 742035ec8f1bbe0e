"""Wrong-guess lockout for the bind forms: five wrong tries lock for 15 minutes.

Counted in the shared store (Redis, or the database without it) under keys the caller chooses —
an ID number, a WeChat user — so every process agrees.  The messages stay the caller's: a volunteer
and an elderly help-seeker are spoken to differently.
"""

from __future__ import annotations

LOCK_AFTER = 5
LOCK_SECONDS = 15 * 60


def minutes_locked(store, keys: list[str]) -> int:
    """Minutes left on the longest lock among ``keys``; 0 when none is locked."""
    left = 0
    for key in keys:
        count = store.get(key)
        if count is not None and int(count) >= LOCK_AFTER:
            left = max(left, max(1, -(-store.ttl(key) // 60)))
    return left


def wrong_try(store, keys: list[str]) -> int:
    """Count a wrong try on every key; the tries left before the lock (0: now locked)."""
    counts = [store.incr(key, LOCK_SECONDS) for key in keys]
    return max(LOCK_AFTER - max(counts), 0)


def clear(store, keys: list[str]) -> None:
    for key in keys:
        store.delete(key)

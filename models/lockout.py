"""Wrong-guess lockout for the bind forms: five tries, then a lock that doubles each time.

Counted in the shared store (Redis, or the database without it) under keys the caller chooses —
the person guessed at (an ID number), the WeChat user guessing — so every process agrees.  A try
is spent *before* the guess is checked, by an atomic count, so guesses sent in parallel cannot all
be checked against a count read earlier: the fifth try of a round locks at once (lifted again if it
was right), and a try counted past the fifth is refused unchecked.

Locks grow: 15 minutes, then 30, 60 … up to a day, while earlier locks are remembered (a week).
Who may never be locked out is the caller's business (a volunteer's own WeChat skips the lock on
the volunteer); the messages stay the caller's too: a volunteer and an elderly help-seeker are spoken
to differently.
"""

from __future__ import annotations

from dataclasses import dataclass

LOCK_AFTER = 5
FIRST_LOCK_SECONDS = 15 * 60
LONGEST_LOCK_SECONDS = 24 * 3600
#: how long wrong tries of an unfinished round are remembered
ROUND_SECONDS = 24 * 3600
#: how long past locks make the next one longer
HISTORY_SECONDS = 7 * 24 * 3600


@dataclass
class Attempt:
    """One try spent on every key, or refused unchecked (``refused_minutes`` > 0)."""

    keys: list[str]
    left: int = LOCK_AFTER  # tries left after this one, if it is wrong
    refused_minutes: int = 0
    lock_minutes: int = 0  # this try ended its round: the lock it set stands unless the guess is right


def lock_seconds(level: int) -> int:
    """The length of the ``level``-th lock (1: the first)."""
    return min(FIRST_LOCK_SECONDS * 2 ** (level - 1), LONGEST_LOCK_SECONDS)


def _minutes(seconds: int) -> int:
    return max(1, -(-seconds // 60))


def _locked_minutes(store, key: str) -> int:
    if store.get(f"{key}:locked") is None:
        return 0
    return _minutes(store.ttl(f"{key}:locked"))


def attempt(store, keys: list[str]) -> Attempt:
    """Spend a try on every key, or find one of them locked (then nothing is spent)."""
    result = Attempt(keys=keys, refused_minutes=max((_locked_minutes(store, key) for key in keys), default=0))
    if result.refused_minutes:
        return result
    for key in keys:
        n = store.incr(f"{key}:tries", ROUND_SECONDS)
        if n > LOCK_AFTER:  # the fifth of this round is being checked, or its lock was set just now
            result.refused_minutes = max(result.refused_minutes,
                                         _locked_minutes(store, key) or _minutes(FIRST_LOCK_SECONDS))
        elif n == LOCK_AFTER:
            seconds = lock_seconds(store.incr(f"{key}:level", HISTORY_SECONDS))
            store.set(f"{key}:locked", "1", seconds)
            store.set(f"{key}:tries", str(n), seconds)  # the round ends with the lock
            result.lock_minutes = max(result.lock_minutes, _minutes(seconds))
        result.left = min(result.left, max(LOCK_AFTER - n, 0))
    return result


def succeeded(store, result: Attempt) -> None:
    """The guess was right: its round starts over and a lock it set is lifted (past locks still count)."""
    for key in result.keys:
        store.delete_many([f"{key}:tries", f"{key}:locked"])


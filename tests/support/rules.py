"""What a rule says when it refuses, for the tests to compare; rules run at the same moment."""

from __future__ import annotations

import threading

import pytest

from models import RuleViolation, db


def code_of(func, *args, **kwargs) -> str:
    """The code of the ``RuleViolation`` that ``func(*args, **kwargs)`` raises (failing the test when none)."""
    with pytest.raises(RuleViolation) as info:
        func(*args, **kwargs)
    return info.value.code


def at_once(app, *actions, ok: str = "ok") -> list[str]:
    """Run ``actions`` on real connections at the same moment: each in a thread and an app context of its own,
    released together by a barrier, then committed.  Their outcomes: ``ok``, or the refusal's code."""
    barrier = threading.Barrier(len(actions))
    outcomes = []

    def attempt(action):
        with app.app_context():
            barrier.wait(10)
            try:
                action()
                db.session.commit()
                outcomes.append(ok)
            except RuleViolation as exc:
                db.session.rollback()
                outcomes.append(exc.code)

    threads = [threading.Thread(target=attempt, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcomes

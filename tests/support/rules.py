"""What a rule says when it refuses, for the tests to compare."""

from __future__ import annotations

import pytest

from models import RuleViolation


def code_of(func, *args, **kwargs) -> str:
    """The code of the ``RuleViolation`` that ``func(*args, **kwargs)`` raises (failing the test when none)."""
    with pytest.raises(RuleViolation) as info:
        func(*args, **kwargs)
    return info.value.code

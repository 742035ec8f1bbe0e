"""The rules of 联系我们 answers, with an injected ``now``."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from models import RuleViolation, contact

NOW = datetime(2026, 3, 2, 1, 30)


def test_the_window_is_48_hours_after_the_last_action():
    assert contact.window_open(NOW - timedelta(hours=47, minutes=59), NOW)
    assert not contact.window_open(NOW - timedelta(hours=48), NOW)
    assert not contact.window_open(None, NOW)


def test_an_answer_is_cleaned_and_checked():
    assert contact.check_answer("  您好，已经处理。\n", NOW - timedelta(hours=1), NOW) == "您好，已经处理。"
    for text, code in (("  ", "answer_empty"), ("好" * (contact.ANSWER_MAX_CHARS + 1), "answer_too_long")):
        with pytest.raises(RuleViolation) as refused:
            contact.check_answer(text, NOW - timedelta(hours=1), NOW)
        assert refused.value.code == code
    with pytest.raises(RuleViolation) as late:
        contact.check_answer("您好", NOW - timedelta(hours=49), NOW)
    assert late.value.code == "window_closed" and "48 小时" in late.value.message

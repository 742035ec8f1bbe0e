"""Integrity rules as tables with ``now`` injected: the on-site code and the dynamic personal code
(fresh, stale screenshot, other project/day, forged), the location signals, the offline time bounds."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from models import RuleViolation
from models.integrity import codes, flags, offline

KEY = codes.derive_key("test-secret", codes.ONSITE_PURPOSE)
OTHER_KEY = codes.derive_key("another-secret", codes.ONSITE_PURPOSE)
DAY = date(2026, 3, 1)
SHOWN = datetime(2026, 3, 1, 2, 0, 0)  # a window start (10:00 local); windows are 30 s


def code_violation(text, project_id=7, day=DAY, now=SHOWN) -> str | None:
    try:
        codes.check_onsite_code(KEY, text, project_id, day, now)
    except RuleViolation as exc:
        return exc.code
    return None


def test_on_site_code_freshness_and_binding():
    shown = codes.onsite_code(KEY, 7, DAY, SHOWN + timedelta(seconds=3))
    s = timedelta(seconds=1)
    cases = [  # (what is scanned, checked at, project, day, expected refusal or None)
        (shown, SHOWN + 3 * s, 7, DAY, None),
        (shown, SHOWN + 29 * s, 7, DAY, None),
        (shown, SHOWN + 45 * s, 7, DAY, None),  # its window + the scan-to-punch latency
        (shown, SHOWN + 46 * s, 7, DAY, "onsite_code_stale"),  # a screenshot passed on
        (shown, SHOWN + 600 * s, 7, DAY, "onsite_code_stale"),
        (shown, SHOWN - 5 * s, 7, DAY, None),  # another host's clock a little behind
        (shown, SHOWN - 6 * s, 7, DAY, "onsite_code_stale"),
        (shown, SHOWN + 3 * s, 8, DAY, "onsite_code_other_project"),
        (shown, SHOWN + 3 * s, 7, DAY + timedelta(days=1), "onsite_code_other_day"),
        (shown[:-1] + ("0" if shown[-1] != "0" else "1"), SHOWN + 3 * s, 7, DAY, "onsite_code_invalid"),
        (codes.onsite_code(OTHER_KEY, 7, DAY, SHOWN), SHOWN, 7, DAY, "onsite_code_invalid"),
        ("JHZY-C1:7:20260301:x:abc", SHOWN, 7, DAY, "onsite_code_invalid"),
        ("https://example.com/", SHOWN, 7, DAY, "onsite_code_invalid"),
        (None, SHOWN, 7, DAY, "onsite_code_required"),
    ]
    for text, now, project_id, day, expected in cases:
        assert code_violation(text, project_id, day, now) == expected, (text, now, project_id, day)
    stale = pytest.raises(RuleViolation)
    with stale as info:
        codes.check_onsite_code(KEY, shown, 7, DAY, SHOWN + timedelta(minutes=5))
    assert "截图无效" in info.value.message and info.value.status == 409


def test_on_site_code_rotates_every_30_seconds():
    seen = [codes.onsite_code(KEY, 7, DAY, SHOWN + timedelta(seconds=n)) for n in (0, 29, 30, 59, 60)]
    assert seen[0] == seen[1] != seen[2] == seen[3] != seen[4]
    assert [codes.seconds_left(SHOWN + timedelta(seconds=n), 30) for n in (0, 1, 29, 30)] == [30, 29, 1, 30]


def test_personal_code_is_fresh_for_its_minute_only():
    key = codes.derive_key("test-secret", codes.PERSONAL_PURPOSE)
    tokens = {42: "tok-42", 43: "tok-43"}
    shown = codes.personal_code(key, 42, "tok-42", SHOWN + timedelta(seconds=10))
    cases = [  # (scanned, at, tokens, expected volunteer id or refusal code)
        (shown, SHOWN + timedelta(seconds=10), tokens, 42),
        (shown, SHOWN + timedelta(seconds=89), tokens, 42),
        (shown, SHOWN + timedelta(seconds=91), tokens, "qr_stale"),
        (shown, SHOWN + timedelta(hours=3), tokens, "qr_stale"),
        (shown, SHOWN + timedelta(seconds=10), {42: "regenerated"}, "qr_invalid"),
        (shown.replace("JHZY-D1:42:", "JHZY-D1:43:"), SHOWN + timedelta(seconds=10), tokens, "qr_invalid"),
        ("JHZY-D1:42:abc", SHOWN, tokens, "qr_invalid"),
    ]
    for text, now, known, expected in cases:
        try:
            got = codes.read_personal_code(key, text, now, known.get)
        except RuleViolation as exc:
            got = exc.code
        assert got == expected, (text, now)


def test_static_token_is_what_follows_its_own_prefix_within_the_column():
    assert codes.static_token("  JHZY-V1:abc \n", "JHZY-V1:", 64) == "abc"
    assert codes.static_token("JHZY-P1:abc", "JHZY-V1:", 64) is None
    assert codes.static_token("JHZY-V1:", "JHZY-V1:", 64) is None
    assert codes.static_token(None, "JHZY-V1:", 64) is None
    assert codes.static_token("JHZY-V1:" + "x" * 40, "JHZY-V1:", 40) == "x" * 40
    assert codes.static_token("JHZY-V1:" + "x" * 41, "JHZY-V1:", 40) is None


def test_keys_differ_by_purpose_and_secret():
    assert codes.derive_key("s", "a") != codes.derive_key("s", "b") != codes.derive_key("t", "a")
    assert codes.derive_key("s", "a") == codes.derive_key(b"s", "a")


# ------------------------------------------------------------------------ location signals
def fix(minutes, lat, lng, accuracy=20):
    return flags.Fix(SHOWN + timedelta(minutes=minutes), lat, lng, accuracy)


def test_speed_between_two_punches():
    cases = [  # (a, b, flagged?)
        (fix(0, 32.0100, 120.8600), fix(30, 32.0100, 120.8600), False),  # stayed
        (fix(0, 32.0100, 120.8600), fix(30, 32.0500, 120.9000), False),  # ~5.8 km in 30 min by bus
        (fix(0, 32.0100, 120.8600), fix(10, 32.4900, 120.8600), True),  # ~53 km in 10 min
        (fix(0, 32.0100, 120.8600), fix(0, 32.0200, 120.8600), True),  # 1.1 km in no time at all
        (fix(0, 32.0100, 120.8600, 600), fix(0, 32.0200, 120.8600, 600), False),  # within their accuracies
        (fix(0, 32.0100, 120.8600), fix(60, 31.2300, 121.4700), False),  # Shanghai by high-speed rail, an hour
        (fix(0, 32.0100, 120.8600), fix(20, 31.2300, 121.4700), True),  # ... in 20 minutes
    ]
    for a, b, flagged in cases:
        assert (flags.speed_flag(a, b) is not None) == flagged, (a, b, flags.speed_kmh(a, b))
    assert "公里/小时" in flags.speed_flag(*cases[2][:2])


def test_accuracy_and_same_spot_details():
    assert [flags.accuracy_flag(a, r) is not None for a, r in
            [(None, 200), (150, 200), (200, 200), (201, 200), (500, None), (500, 0)]] == \
        [False, False, False, True, False, False]
    assert flags.same_spot_flag(0, 0) is None
    assert flags.same_spot_flag(2, 0) == "与另有2名志愿者的打卡坐标完全相同"
    assert flags.same_spot_flag(1, 3) == "与另有1名志愿者、本人另有3天的打卡坐标完全相同"


# -------------------------------------------------------------------------------- offline
def test_offline_recorded_time_is_bounded():
    grace = timedelta(minutes=30)
    arrived = SHOWN + timedelta(hours=1)
    cases = [  # (recorded at, expected time counted or refusal)
        (arrived - timedelta(minutes=5), arrived - timedelta(minutes=5)),
        (arrived - timedelta(minutes=30), arrived - timedelta(minutes=30)),
        (arrived - timedelta(minutes=31), "offline_too_old"),  # a lie buys at most the grace window
        (arrived - timedelta(days=2), "offline_too_old"),
        (arrived + timedelta(minutes=1), arrived),  # a phone clock a little fast: the arrival counts
        (arrived + timedelta(minutes=3), "offline_time_future"),
        (None, "offline_time_required"),
    ]
    for recorded, expected in cases:
        try:
            got = offline.judge_time(recorded, arrived, grace)
        except RuleViolation as exc:
            got = exc.code
        assert got == expected, recorded

"""Period keys of the roll-ups: a local month ``'2026-11'``, a year ``'2026'``, all time ``'*'``.

Months are those of the local activity day (``Cycle.day``, ``Project.start_date``) or, for joins, of
the local date of the approval, so every key is computed from a plain date.
"""

from __future__ import annotations

from datetime import date

ALL = "*"
NO_MONTH = ""  # the "previous month" of a volunteer's first active month (sorts before every month)


def month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def year_key(day: date) -> str:
    return f"{day.year:04d}"


def keys_of(day: date) -> tuple[str, str, str]:
    """The three periods a record of ``day`` adds to."""
    return month_key(day), year_key(day), ALL


def is_month(key: str) -> bool:
    return len(key) == 7


def months_between(first: str, last: str) -> list[str]:
    """Every month key from ``first`` to ``last``, both included ('2026-11', '2027-01' → 3 keys)."""
    year, month = int(first[:4]), int(first[5:])
    out = []
    while f"{year:04d}-{month:02d}" <= last:
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def quarter_months(day: date) -> list[str]:
    first = 3 * ((day.month - 1) // 3) + 1
    return [f"{day.year:04d}-{m:02d}" for m in range(first, first + 3)]


def chain_links(months) -> list[tuple[str, str]]:
    """(month, previous month or NO_MONTH) for a volunteer's sorted active months.

    A volunteer active in some month of ``[a, b]`` has exactly one link with ``a ≤ month ≤ b`` and
    ``previous < a``: their first active month in the range.  Counting those links per org answers
    "how many distinct members were active in the range" from a few rows, for any month range.
    """
    ordered = sorted(set(months))
    return [(m, ordered[i - 1] if i else NO_MONTH) for i, m in enumerate(ordered)]

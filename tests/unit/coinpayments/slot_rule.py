"""The slot book's rule (store/rate_limits.py) in Python, for the limiter's fakes of the database.

The integration tests (tests/integration/store/test_rate_limits.py) hold the SQL to the same rule."""

from __future__ import annotations

from typing import NamedTuple


class Booked(NamedTuple):
    first: float | None  # the first slot booked (absolute), None when `within` refused
    cursor: float  # the next free slot afterwards (absolute)


def book(
    cursor: float, now: float, interval: float, within: float | None, count: int, lead: float, allowance: float
) -> Booked:
    """Slots `count` from max(cursor − allowance, now + lead), one interval apart; the cursor moves
    `count` intervals past the later of itself and the start (a generic cell rate algorithm).
    `within` refuses unless the cursor is at most that far after now + lead."""
    if within is not None and cursor > now + lead + within:
        return Booked(None, cursor)
    start = max(cursor - allowance, now + lead)
    return Booked(start, max(cursor, start) + interval * count)

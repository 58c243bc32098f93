"""Two clocks: the wall clock (signatures) and the simulated clock (invoice life).

Advancing the simulated clock drives expiry without making every client's signature
stale: requests are still checked against the wall clock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

WallClock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class SimClock:
    """Wall clock plus an offset that control endpoints can move forward (never back)."""

    def __init__(self, wall: WallClock | None = None) -> None:
        self._wall = wall or utc_now
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def wall(self) -> datetime:
        """Real time (or the injected clock): what signed timestamps are compared against."""
        return self._wall()

    def now(self) -> datetime:
        """Simulated time: what creation, expiry and every invoice timestamp use."""
        return self._wall() + self._offset

    @property
    def offset(self) -> timedelta:
        return self._offset

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("the simulated clock only moves forward")
        with self._lock:
            self._offset += delta
        return self.now()

    def reset(self) -> None:
        with self._lock:
            self._offset = timedelta(0)

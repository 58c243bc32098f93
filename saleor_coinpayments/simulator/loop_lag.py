"""How late the simulator's event loop wakes: a task sleeps PERIOD_SECONDS again and again and
records by how much each sleep overran.

The rate meter stamps an arrival when the ASGI app is called, not when the bytes reached the
socket. While this one process's loop is busy (three replicas' requests, a List invoices scan of
every invoice), requests wait in the socket and are stamped together when it frees up, so a stall
here can make the meter count more within one second than the clients sent. Reported with the
meter (`GET /__sim/api-rate` → `loopLag`) so a benchmark can tell that apart from late sends.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

PERIOD_SECONDS = 0.010
STALL_SECONDS = 0.050  # a lag above this is counted: about the limiter's margin (ratelimit.py)


class LoopLag:
    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()  # read and reset from the control routes, maybe another thread
        self.max_seconds = 0.0
        self.stalls = 0
        self.samples = 0

    def observe(self, lag: float) -> None:
        with self._lock:
            self.samples += 1
            self.max_seconds = max(self.max_seconds, lag)
            if lag > STALL_SECONDS:
                self.stalls += 1

    async def step(self) -> None:
        """One sleep, and how much later than asked it ended."""
        asked = self._clock() + PERIOD_SECONDS
        await self._sleep(PERIOD_SECONDS)
        self.observe(max(0.0, self._clock() - asked))

    async def watch(self) -> None:
        while True:
            await self.step()

    def reset(self) -> None:
        with self._lock:
            self.max_seconds, self.stalls, self.samples = 0.0, 0, 0

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {
                "maxMs": round(self.max_seconds * 1000),  # whole ms: the simulator's JSON carries no floats
                "over50ms": self.stalls,
                "samples": self.samples,
            }

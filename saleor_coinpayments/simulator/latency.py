"""The simulator's response latency: how long every CoinPayments API answer takes (`--latency-ms`).

Unlike the `latencySeconds` fault (cleared with the faults, fixed once a request started waiting),
this is a setting of the simulated service: it stays until changed, and a change applies to
requests already waiting too — lowering it to 0 releases them. So a test can hold CoinPayments'
answer as long as it needs, look at what the app did meanwhile, then let the answer go, without
asserting on time. It also counts the API requests waiting and answered, for such tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from starlette.types import ASGIApp, Receive, Scope, Send


class ResponseLatency:
    """Milliseconds before each `/api/…` answer, and counters of waiting and answered requests."""

    def __init__(self, ms: int = 0) -> None:
        if ms < 0:
            raise ValueError("the response latency is a non-negative number of milliseconds")
        self.initial_ms = ms
        self.ms = ms
        self.waiting = 0
        self.answered = 0
        self._changed = asyncio.Event()

    def set(self, ms: int) -> None:
        """Change the latency; requests already waiting wait for the new value from their start."""
        if ms < 0:
            raise ValueError("the response latency is a non-negative number of milliseconds")
        self.ms = ms
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def reset(self) -> None:
        self.set(self.initial_ms)
        self.answered = 0

    async def wait(self) -> None:
        """Hold one API request until `ms` after it arrived (as `ms` is when that moment comes)."""
        start = time.monotonic()
        self.waiting += 1
        try:
            while True:
                remaining = start + self.ms / 1000 - time.monotonic()
                if remaining <= 0:
                    return
                changed = self._changed
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), remaining)
        finally:
            self.waiting -= 1

    def to_json(self) -> dict[str, int]:
        return {"responseLatencyMs": self.ms, "waiting": self.waiting, "answered": self.answered}


class LatencyMiddleware:
    """Holds every `/api/…` request for the current latency, then counts it answered."""

    def __init__(self, app: ASGIApp, latency: ResponseLatency) -> None:
        self.app = app
        self.latency = latency

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope.get("path", "").startswith("/api/"):
            await self.app(scope, receive, send)
            return
        await self.latency.wait()
        try:
            await self.app(scope, receive, send)
        finally:
            self.latency.answered += 1

"""Counts `/api/…` requests per client id as they arrive: totals, the most that arrived within any
one second (a sliding window), and how many were answered 429. Tests and benchmarks read it to
check the summed rate of several app processes against CoinPayments' limit (coinpayments.md#rate-limit)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from saleor_coinpayments.simulator.loop_lag import LoopLag
from saleor_coinpayments.simulator.state import json_response


@dataclass
class _Client:
    requests: int = 0
    max_per_second: int = 0
    rate_limited: int = 0
    recent: deque[float] = field(default_factory=deque)


class RateMeter:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._clients: dict[str, _Client] = {}

    def arrived(self, client_id: str) -> None:
        now = self._clock()
        with self._lock:
            client = self._clients.setdefault(client_id, _Client())
            client.requests += 1
            client.recent.append(now)
            while client.recent and client.recent[0] <= now - 1.0:
                client.recent.popleft()
            client.max_per_second = max(client.max_per_second, len(client.recent))

    def answered(self, client_id: str, status: int) -> None:
        if status == 429:
            with self._lock:
                self._clients.setdefault(client_id, _Client()).rate_limited += 1

    def reset(self) -> None:
        with self._lock:
            self._clients.clear()

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {
                "clients": {
                    client_id: {
                        "requests": c.requests,
                        "maxPerSecond": c.max_per_second,
                        "rateLimited": c.rate_limited,
                    }
                    for client_id, c in self._clients.items()
                }
            }


class RateMeterMiddleware:
    """Outermost, so arrivals are counted before any latency or fault is applied."""

    def __init__(self, app: ASGIApp, meter: RateMeter) -> None:
        self.app = app
        self.meter = meter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope.get("path", "").startswith("/api/"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        client_id = headers.get(b"x-coinpayments-client", b"").decode("latin-1") or "anonymous"
        self.meter.arrived(client_id)

        async def send_and_count(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.meter.answered(client_id, int(message["status"]))
            await send(message)

        await self.app(scope, receive, send_and_count)


def build_rate_router(meter: RateMeter, lag: LoopLag) -> APIRouter:
    """The meter's counts, and the simulator's loop lag over the same time (loop_lag.py)."""
    router = APIRouter(prefix="/__sim")

    def report() -> dict[str, Any]:
        return meter.to_json() | {"loopLag": lag.to_json()}

    @router.get("/api-rate")
    async def api_rate() -> Response:
        return json_response(report())

    @router.delete("/api-rate")
    async def reset_api_rate() -> Response:
        meter.reset()
        lag.reset()
        return json_response(report())

    return router

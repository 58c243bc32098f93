"""Fault injection for tests: failing or slow API answers, rate limiting, webhook mischief.

API faults are applied by an ASGI middleware to the real API paths (`/api/…`) only, so the
control endpoints keep working while the "CoinPayments" side misbehaves.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from saleor_coinpayments.simulator.problems import problem_body

_CAMEL = {
    "fail_next": "failNext",
    "fail_status": "failStatus",
    "fail_path": "failPath",
    "latency_seconds": "latencySeconds",
    "latency_path": "latencyPath",
    "rate_limit_per_second": "rateLimitPerSecond",
    "webhook_drop": "webhookDrop",
    "webhook_drop_percent": "webhookDropPercent",
    "webhook_duplicate": "webhookDuplicate",
    "webhook_reorder": "webhookReorder",
    "webhook_delay_seconds": "webhookDelaySeconds",
    "webhook_fail_next": "webhookFailNext",
}


@dataclass
class Faults:
    """Current faults. Counters (`*_next`, `webhook_drop`, …) count down as they are used."""

    fail_next: int = 0  # the next N API requests answer `fail_status`
    fail_status: int = 503
    fail_path: str | None = None  # only requests whose path contains this
    latency_seconds: float = 0.0  # every API answer waits this long first
    latency_path: str | None = None
    rate_limit_per_second: float | None = None  # token bucket → 429 (coinpayments.md#rate-limit: 70 req/s)
    webhook_drop: int = 0  # the next N notifications are never sent
    webhook_drop_percent: int = 0  # each notification is never sent with this chance (0-100)
    webhook_duplicate: int = 0  # the next N notifications are sent twice
    webhook_reorder: int = 0  # hold the next N notifications, then send them newest first
    webhook_delay_seconds: float = 0.0  # wait before sending each notification
    webhook_fail_next: int = 0  # the next N attempts fail as if the receiver were unreachable

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens = 0.0
        self._refilled = time.monotonic()

    def update(self, changes: dict[str, Any]) -> None:
        """Apply camelCase fields from a control request; refuses unknown names and bad values."""
        by_camel = {camel: name for name, camel in _CAMEL.items()}
        with self._lock:
            for key, value in changes.items():
                name = by_camel.get(key)
                if name is None:
                    raise ValueError(f"unknown fault {key!r}; known: {sorted(by_camel)}")
                if name.endswith("_path"):
                    if value is not None and not isinstance(value, str):
                        raise ValueError(f"{key} takes a string")
                elif name in ("latency_seconds", "webhook_delay_seconds", "rate_limit_per_second"):
                    if value is None and name == "rate_limit_per_second":
                        pass
                    elif isinstance(value, bool) or not isinstance(value, int | float | str) or float(value) < 0:
                        raise ValueError(f"{key} takes a non-negative number")
                    else:
                        value = float(value)
                elif isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise ValueError(f"{key} takes a non-negative integer")
                if name == "webhook_drop_percent" and value > 100:
                    raise ValueError("webhookDropPercent is a percentage (0-100)")
                if name == "fail_status" and not 500 <= value <= 599:
                    raise ValueError("failStatus must be a 5xx status")
                setattr(self, name, value)
            self._tokens = float(self.rate_limit_per_second or 0)

    def clear(self) -> None:
        with self._lock:
            for f in fields(self):
                setattr(self, f.name, f.default)

    def to_json(self) -> dict[str, Any]:
        def plain(value: Any) -> Any:  # seconds are floats here; the JSON writer takes Decimals only
            return Decimal(repr(value)) if isinstance(value, float) else value

        return {camel: plain(getattr(self, name)) for name, camel in _CAMEL.items()}

    def lose_by_chance(self) -> bool:
        """Whether this notification is one of the `webhook_drop_percent` lost."""
        with self._lock:
            return self.webhook_drop_percent > 0 and random.randrange(100) < self.webhook_drop_percent

    def take(self, counter: str) -> bool:
        """Use one unit of a countdown fault; True if it applied."""
        with self._lock:
            left = getattr(self, counter)
            if left > 0:
                setattr(self, counter, left - 1)
                return True
            return False

    def take_failure(self, path: str) -> int | None:
        with self._lock:
            if self.fail_next > 0 and (self.fail_path is None or self.fail_path in path):
                self.fail_next -= 1
                return self.fail_status
            return None

    def latency_for(self, path: str) -> float:
        if self.latency_seconds and (self.latency_path is None or self.latency_path in path):
            return self.latency_seconds
        return 0.0

    def rate_limited(self) -> bool:
        with self._lock:
            limit = self.rate_limit_per_second
            if not limit:
                return False
            now = time.monotonic()
            self._tokens = min(limit, self._tokens + (now - self._refilled) * limit)
            self._refilled = now
            if self._tokens >= 1:
                self._tokens -= 1
                return False
            return True


class FaultMiddleware:
    """Slows, throttles or fails `/api/…` requests as the current `Faults` say."""

    def __init__(self, app: ASGIApp, faults: Faults) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/api/"):
            await self.app(scope, receive, send)
            return
        delay = self.faults.latency_for(path)
        if delay:
            await asyncio.sleep(delay)
        status = 429 if self.faults.rate_limited() else self.faults.take_failure(path)
        if status is None:
            await self.app(scope, receive, send)
            return
        detail = "Rate limit exceeded." if status == 429 else "Injected fault (simulator)."
        body = problem_body(status, detail, None, path)
        headers = [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

"""Client-side limits per CoinPayments client id (the API caps at 70 requests/s, §9.2).

The app uses `SharedRateLimiter`: slots booked in the database (store/rate_limits.py), so every
replica on one database together stays under the cap. Slots are spaced 1/(0.97 × limit) apart:
in any second at most 0.97 × limit + 1 requests start, a little room for network jitter.
Requests a buyer may be waiting for (initialize, coin choice, status) book the next slot at
once; background reads (the reconciler) book only a slot that is free right now (within
LOOKAHEAD_SECONDS), so they fill the spare capacity and never push a live request back more than
that. One background booker per client id and process polls while the limit is busy.

`TokenBucket` / `limiter_for` is the per-process bucket for clients made outside the app
(a CoinPaymentsClient without a limiter, tools and tests).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from prometheus_client import Histogram

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
BookSlot = Callable[[str, float, float | None, int], Awaitable[float | None]]

HEADROOM = 0.97
LOOKAHEAD_SECONDS = 0.05
BACKGROUND_BATCH = 4  # background slots booked per statement when reads queue up in this process

LIMITER_WAITS = Histogram(
    "coinpayments_rate_limiter_wait_seconds",
    "Time a CoinPayments request waited for its rate-limit slot, by priority",
    ["priority"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


class RateLimit(Protocol):
    async def acquire(self) -> float:
        """Wait until one request may start; returns the seconds waited."""
        ...


class TokenBucket:
    """`rate` tokens per second, at most `capacity` saved up; `acquire` waits for one token."""

    def __init__(
        self,
        rate: float,
        capacity: float | None = None,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.capacity = capacity if capacity is not None else max(1.0, rate)
        self._tokens = self.capacity
        self._clock = clock
        self._sleep = sleep
        self._updated = clock()
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take a token now (possibly going into debt) and say how long to wait before using it."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            self._tokens -= 1
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    async def acquire(self) -> float:
        """Wait for a token; returns the seconds waited (0 when there was one)."""
        wait = self.reserve()
        if wait > 0:
            await self._sleep(wait)
        return wait


def client_key(client_id: str) -> str:
    """Dashed and undashed forms of a client id share one limit."""
    return client_id.strip().lower().replace("-", "")


class SharedRateLimiter:
    """The limit per client id, shared through the database by every process (see the module doc)."""

    def __init__(
        self,
        book: BookSlot,
        rate: float,
        *,
        headroom: float = HEADROOM,
        lookahead: float = LOOKAHEAD_SECONDS,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.interval = 1.0 / (rate * headroom)
        self.lookahead = max(lookahead, self.interval)
        self._book = book
        self._sleep = sleep
        self._background: dict[str, asyncio.Lock] = {}
        self._queued: dict[str, int] = {}  # background reads waiting for a slot, per client id
        self._spare: dict[str, list[float]] = {}  # booked background slots not handed out yet (monotonic)

    def for_client(self, client_id: str, *, background: bool = False) -> ClientRateLimit:
        return ClientRateLimit(self, client_key(client_id), background)

    async def acquire(self, key: str, *, background: bool) -> float:
        started = time.monotonic()
        if background:
            wait = await self._background_slot(key)
        else:
            wait = await self._book(key, self.interval, None, 1) or 0.0
        if wait > 0:
            await self._sleep(wait)
        waited = time.monotonic() - started
        LIMITER_WAITS.labels(priority="background" if background else "live").observe(waited)
        return waited

    async def _background_slot(self, key: str) -> float:
        """Seconds until a background slot: a spare one booked earlier, or new ones booked for as
        many queued reads as there are (up to BACKGROUND_BATCH) once the first is free now."""
        self._queued[key] = self._queued.get(key, 0) + 1
        try:
            async with self._background.setdefault(key, asyncio.Lock()):  # the others queue in order
                spare = self._spare.setdefault(key, [])
                if spare:
                    return max(0.0, spare.pop(0) - time.monotonic())
                count = max(1, min(BACKGROUND_BATCH, self._queued[key]))
                while (wait := await self._book(key, self.interval, self.lookahead, count)) is None:
                    await self._sleep(self.lookahead / 2)
                first = time.monotonic() + wait
                spare.extend(first + self.interval * n for n in range(1, count))
                return wait
        finally:
            self._queued[key] -= 1


class ClientRateLimit:
    """One client id's limit at one priority, as a CoinPaymentsClient uses it."""

    def __init__(self, limiter: SharedRateLimiter, key: str, background: bool) -> None:
        self._limiter = limiter
        self._key = key
        self.background = background

    async def acquire(self) -> float:
        return await self._limiter.acquire(self._key, background=self.background)


_registry: dict[str, TokenBucket] = {}
_registry_lock = threading.Lock()


def limiter_for(client_id: str, rate: float = 70.0) -> TokenBucket:
    """The process-wide bucket for `client_id` (dashed and undashed forms share one bucket)."""
    key = client_key(client_id)
    with _registry_lock:
        bucket = _registry.get(key)
        if bucket is None:
            bucket = _registry[key] = TokenBucket(rate)
        return bucket


def reset_registry() -> None:
    """Forget all buckets (tests)."""
    with _registry_lock:
        _registry.clear()

"""A client-side token bucket per CoinPayments client id (the API caps at 70 requests/s, §9.2).

Every `CoinPaymentsClient` for the same client id in this process shares one bucket (see
`limiter_for`), so many short-lived clients cannot add up to more than the cap. The bucket takes
tokens by reservation under a thread lock and then sleeps outside it, so it works on any event
loop and from several threads (tests run servers and clients on different loops).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


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


_registry: dict[str, TokenBucket] = {}
_registry_lock = threading.Lock()


def limiter_for(client_id: str, rate: float = 70.0) -> TokenBucket:
    """The process-wide bucket for `client_id` (dashed and undashed forms share one bucket)."""
    key = client_id.strip().lower().replace("-", "")
    with _registry_lock:
        bucket = _registry.get(key)
        if bucket is None:
            bucket = _registry[key] = TokenBucket(rate)
        return bucket


def reset_registry() -> None:
    """Forget all buckets (tests)."""
    with _registry_lock:
        _registry.clear()

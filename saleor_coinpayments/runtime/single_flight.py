"""Background jobs keyed by name, at most one running per key (in this process).

transactionProcess answers from the stored payment and leaves the re-read of CoinPayments to a
job here: 32 storefront polls of one payment start one read, not 32, and none of them waits on it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any


class SingleFlight:
    """Runs `job()` in the background unless a job with the same key is still running.

    With `enabled=False` (the REFRESH_SINGLE_FLIGHT setting off) every call starts its own job,
    as if each poll re-read CoinPayments for itself (still in the background)."""

    def __init__(self, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self._running: dict[str, asyncio.Task[Any]] = {}
        self._unkeyed: set[asyncio.Task[Any]] = set()

    def start(self, key: str, job: Callable[[], Coroutine[Any, Any, Any]]) -> bool:
        """Start the job; False (and `job` is not called) when one with this key is running."""
        loop = asyncio.get_running_loop()
        if not self.enabled:
            task = loop.create_task(job(), name=f"single-flight-off:{key}")
            self._unkeyed.add(task)
            task.add_done_callback(self._unkeyed.discard)
            return True
        if key in self._running:
            return False
        task = loop.create_task(job(), name=f"single-flight:{key}")
        self._running[key] = task
        task.add_done_callback(lambda _: self._running.pop(key, None))
        return True

    def running(self, key: str) -> bool:
        return key in self._running

    async def aclose(self) -> None:
        """Cancel what is still running (shutdown); the reconciler picks those payments up later."""
        tasks = [*self._running.values(), *self._unkeyed]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

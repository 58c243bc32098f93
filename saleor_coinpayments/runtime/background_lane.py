"""Work a request leaves behind runs one piece at a time beside the requests, never many at once
ahead of them.

The event loop runs what is ready in arrival order. When a hundred re-reads that polls started come
back from CoinPayments together, each with a few milliseconds of parsing and a database write, a
request arriving then waits behind all of them (transactionProcess p99 8–11 ms instead of about 1 ms
with CoinPayments answering in 300 ms). Such work holds the lane while it computes and lets go of
it while it waits on the network (`network_wait()`, around CoinPayments calls), so a request waits
on at most one piece of it, and the re-reads still overlap their network waits.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass
class _Holding:
    slot: asyncio.Semaphore
    holding: bool


_HELD: ContextVar[_Holding | None] = ContextVar("background_lane_held", default=None)


class BackgroundLane:
    """One piece of background work computes at a time (per app).

    With `enabled=False` (the BACKGROUND_LANE setting off) `held()` does nothing: background work
    computes whenever the event loop gets to it."""

    def __init__(self, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self._slot = asyncio.Semaphore(1)

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        """Hold the lane for this block, except while it waits on the network."""
        if not self.enabled:
            yield
            return
        await self._slot.acquire()
        holding = _Holding(self._slot, True)
        token = _HELD.set(holding)
        try:
            yield
        finally:
            _HELD.reset(token)
            if holding.holding:
                self._slot.release()

    @property
    def busy(self) -> bool:
        return self._slot.locked()


@contextlib.asynccontextmanager
async def network_wait() -> AsyncIterator[None]:
    """Let go of the lane this task holds (if any) while the block waits on another service."""
    holding = _HELD.get()
    if holding is None or not holding.holding:
        yield
        return
    holding.holding = False
    holding.slot.release()
    try:
        yield
    finally:
        await holding.slot.acquire()  # cancelled here: not holding, and `held` knows it
        holding.holding = True

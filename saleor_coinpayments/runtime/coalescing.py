"""Work per key, one run at a time; what arrives while a run waits to start joins that run.

A CoinPayments notification only says "re-read this invoice". Several for one invoice (one per
status change, redeliveries, a burst after an outage) need one re-read that starts after all of
them were recorded, not one each: a re-read costs CPU, a database write and one of CoinPayments'
70 requests a second. An item joins only a run that has not started, so the run that covers it
always begins after it arrived; items arriving while a run is under way gather for the next one.

`slots` bounds the runs under way across keys. A key waiting for a slot keeps its batch open, so
under a burst the batches grow instead of the runs multiplying.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Coalescer(Generic[T]):
    """Per key: at most one run under way and one batch gathering behind it (in this process); at
    most `slots` runs under way in all."""

    def __init__(self, *, slots: int | None = None, coalesce: bool = True) -> None:
        # coalesce=False (the NOTIFICATION_COALESCING setting off): every item gets a run of its
        # own, still one run at a time per key and within `slots`.
        self.coalesce = coalesce
        self._slots = asyncio.Semaphore(slots) if slots is not None else None
        self._gathering: dict[str, list[T]] = {}
        # A turn lives as long as someone holds or awaits it (their frames keep it).
        self._turns: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    async def submit(self, key: str, item: T, run: Callable[[list[T]], Awaitable[None]]) -> bool:
        """Add `item` to `key`'s batch that has not started. The call that opened the batch waits
        for the key's turn and a slot, and runs it, returning True after; a call that joined returns
        False at once. If the opener is cancelled before its run starts, its batch is dropped (its
        items stay wherever the caller recorded them)."""
        batch = self._gathering.get(key) if self.coalesce else None
        if batch is not None:
            batch.append(item)
            return False
        batch = [item]
        if self.coalesce:
            self._gathering[key] = batch
        turn = self._turns.get(key)
        if turn is None:
            turn = self._turns[key] = asyncio.Lock()
        try:
            await turn.acquire()
            try:
                if self._slots is not None:
                    await self._slots.acquire()
            except BaseException:
                turn.release()
                raise
        finally:
            if self._gathering.get(key) is batch:
                del self._gathering[key]  # closed: from here on items start the next batch
        try:
            await run(batch)
        finally:
            if self._slots is not None:
                self._slots.release()
            turn.release()
        return True

    def gathering(self, key: str) -> int:
        """Items waiting for `key`'s next run (0 when no batch is open)."""
        return len(self._gathering.get(key, ()))

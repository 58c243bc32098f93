"""A limiter that starts beside a running one on a real database keeps to the slots the database
holds, even when its first statements are slow on the way there (a cold connection).

Its clock is set from readings on warm connections before its first booking; set from the first
(cold) statement it placed its slots early by half that delay and a restarted replica's requests
arrived on top of the running replicas' (93 within one second after a restart, the limit is 70)."""

from __future__ import annotations

import asyncio

import pytest

from saleor_coinpayments.coinpayments.ratelimit import SharedRateLimiter
from saleor_coinpayments.store.db import Database
from saleor_coinpayments.store.rate_limits import Booking, RateLimitRepository

COLD_SECONDS = 0.4
AHEAD = 0.8  # the running replica's bookings reach this far ahead


class ColdStart:
    """The new process's way to the database: statements sent before its connection is open wait
    for it on the way there (injected latency; the statements themselves are the real ones)."""

    def __init__(self, repository: RateLimitRepository) -> None:
        self._repository = repository
        self._open_at: float | None = None

    async def _arrive(self) -> None:
        now = asyncio.get_running_loop().time()
        if self._open_at is None:
            self._open_at = now + COLD_SECONDS
        if self._open_at > now:
            await asyncio.sleep(self._open_at - now)

    async def book(
        self, key: str, interval: float, within: float | None, count: int, lead: float, allowance: float
    ) -> Booking:
        await self._arrive()
        return await self._repository.book(key, interval, within, count, lead, allowance)

    async def database_now(self) -> float:
        await self._arrive()
        return await self._repository.database_now()


@pytest.mark.asyncio
async def test_a_starting_limiter_never_starts_before_the_slot_the_database_gave_it(database_url: str) -> None:
    running, starting = Database(database_url), Database(database_url)
    try:
        book = RateLimitRepository(running)
        # The running replica has booked up to AHEAD seconds from now (one long slot stands for its
        # queue), under the client id's key (client_key: no dashes).
        held = await book.book("clientr", AHEAD, None)
        cursor = held.now + held.next_free
        cold = ColdStart(RateLimitRepository(starting))
        limiter = SharedRateLimiter(cold.book, 70, read_now=cold.database_now)
        await limiter.for_client("clientr").acquire()
        started = await book.database_now()  # read at once after: a few ms after the start at most
        earliest = cursor - limiter.allowance
        assert started >= earliest - 0.01, f"started {(earliest - started) * 1000:.0f} ms before its slot"
    finally:
        await running.dispose()
        await starting.dispose()

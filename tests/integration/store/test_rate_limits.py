"""The shared rate limiter's slots on a real database: never two requests closer than one interval,
however many processes book at once, and background bookings only take a slot that is free now."""

from __future__ import annotations

import asyncio

import pytest

from saleor_coinpayments.store.db import Database
from saleor_coinpayments.store.rate_limits import RateLimitRepository

# Slots this far apart make the time the test itself takes irrelevant: spacing, not timing.
INTERVAL = 1000.0


@pytest.mark.asyncio
async def test_slots_are_one_interval_apart_across_replicas(database_url: str) -> None:
    replicas = [Database(database_url) for _ in range(3)]
    try:
        books = [RateLimitRepository(db) for db in replicas]

        async def book_many(repository: RateLimitRepository) -> list[float]:
            waits = []
            for _ in range(4):
                wait = await repository.book("client-a", INTERVAL, None)
                assert wait is not None
                waits.append(wait)
            return waits

        waits = sorted(w for batch in await asyncio.gather(*(book_many(b) for b in books)) for w in batch)
    finally:
        for db in replicas:
            await db.dispose()
    assert len(waits) == 12
    assert waits[0] < INTERVAL / 10  # the first slot is now
    gaps = [later - earlier for earlier, later in zip(waits, waits[1:], strict=False)]
    assert all(gap > INTERVAL * 0.99 for gap in gaps), gaps


@pytest.mark.asyncio
async def test_background_bookings_take_only_a_slot_free_now(database_url: str) -> None:
    db = Database(database_url)
    try:
        repository = RateLimitRepository(db)
        assert await repository.book("client-b", INTERVAL, within=1.0) is not None  # free now: taken
        assert await repository.book("client-b", INTERVAL, within=1.0) is None  # next one is far off
        live = await repository.book("client-b", INTERVAL, None)  # a live request books it anyway
        assert live is not None
        assert live > INTERVAL * 0.99
        # Other client ids have their own slots.
        assert await repository.book("client-c", INTERVAL, within=1.0) == pytest.approx(0, abs=INTERVAL / 10)
    finally:
        await db.dispose()

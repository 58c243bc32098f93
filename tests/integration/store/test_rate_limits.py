"""The shared rate limiter's slots on a real database: never two requests closer than one interval,
however many processes book at once, and background bookings only take a slot that is free now."""

from __future__ import annotations

import asyncio
import time

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
                wait, _, _ = await repository.book("client-a", INTERVAL, None)
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
        assert (await repository.book("client-b", INTERVAL, within=1.0)).first is not None  # free now: taken
        refused = await repository.book("client-b", INTERVAL, within=1.0)  # the next one is far off
        assert refused.first is None
        assert refused.next_free == pytest.approx(INTERVAL, abs=INTERVAL / 10), "but it says when it is free"
        live = await repository.book("client-b", INTERVAL, None)  # a live request books it anyway
        assert live.first is not None
        assert live.first > INTERVAL * 0.99
        assert live.next_free == pytest.approx(live.first + INTERVAL)
        # Other client ids have their own slots.
        other = await repository.book("client-c", INTERVAL, within=1.0)
        assert other.first == pytest.approx(0, abs=INTERVAL / 10)
    finally:
        await db.dispose()


@pytest.mark.asyncio
async def test_a_batch_books_consecutive_slots_and_says_when_the_next_is_free(database_url: str) -> None:
    db = Database(database_url)
    try:
        repository = RateLimitRepository(db)
        batch = await repository.book("client-d", INTERVAL, within=1.0, count=3)
        assert batch.first == pytest.approx(0, abs=INTERVAL / 10)
        assert batch.next_free == pytest.approx(3 * INTERVAL, abs=INTERVAL / 10)
        after = await repository.book("client-d", INTERVAL, None)
        assert after.first == pytest.approx(3 * INTERVAL, abs=INTERVAL / 10), "no slot of the batch is given twice"
        assert after.now == pytest.approx(time.time(), abs=60), "the database's now, epoch seconds"
    finally:
        await db.dispose()


@pytest.mark.asyncio
async def test_a_lead_keeps_the_first_slot_one_answer_away_and_moves_the_window(database_url: str) -> None:
    db = Database(database_url)
    try:
        repository = RateLimitRepository(db)
        led = await repository.book("client-e", 1.0, within=0.5, count=1, lead=30.0)
        assert led.first == pytest.approx(30.0, abs=1.0), "not sooner than the lead"
        # The next free slot is 31 s away: free within 0.5 s after a lead of 31 s, not after 0.
        assert (await repository.book("client-e", 1.0, within=0.5, lead=0.0)).first is None
        assert (await repository.book("client-e", 1.0, within=0.5, lead=31.0)).first == pytest.approx(31.0, abs=1.0)
    finally:
        await db.dispose()


@pytest.mark.asyncio
async def test_a_live_booking_may_come_one_allowance_before_the_cursor_and_moves_it_on(database_url: str) -> None:
    db = Database(database_url)
    try:
        repository = RateLimitRepository(db)
        background = await repository.book("client-f", INTERVAL, within=1.0)  # its slot is now
        assert background.next_free == pytest.approx(INTERVAL, abs=INTERVAL / 10)
        live = await repository.book("client-f", INTERVAL, None, allowance=INTERVAL)
        assert live.first == pytest.approx(0, abs=INTERVAL / 10), "the slot interval after the cursor was free for it"
        assert live.next_free == pytest.approx(2 * INTERVAL, abs=INTERVAL / 10), "and the cursor moved one interval on"
        again = await repository.book("client-f", INTERVAL, None, allowance=INTERVAL)
        assert again.first == pytest.approx(INTERVAL, abs=INTERVAL / 10), "the allowance is a burst of one, not a lane"
        batch = await repository.book("client-f", INTERVAL, None, count=3, allowance=INTERVAL)
        assert batch.first == pytest.approx(2 * INTERVAL, abs=INTERVAL / 10)
        assert batch.next_free == pytest.approx(6 * INTERVAL, abs=INTERVAL / 10), "three intervals for three slots"
        refused = await repository.book("client-f", INTERVAL, within=1.0)
        assert refused.first is None, "a background booking never takes the allowance"
        early = await repository.book("client-f", INTERVAL, None, allowance=2 * INTERVAL)
        assert early.first == pytest.approx(4 * INTERVAL, abs=INTERVAL / 10), "two intervals before the cursor"
        assert early.next_free == pytest.approx(7 * INTERVAL, abs=INTERVAL / 10), "which moves on by one"
        with pytest.raises(ValueError, match="allowance"):
            await repository.book("client-f", INTERVAL, None, allowance=3 * INTERVAL)
        assert (await repository.database_now()) == pytest.approx(time.time(), abs=60)
    finally:
        await db.dispose()

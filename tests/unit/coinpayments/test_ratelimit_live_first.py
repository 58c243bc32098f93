"""A buyer never waits for background work: on a virtual clock (virtual_time.py), background readers
in one or three processes ask for more than the limit, and a live request arriving at random
moments waits for its slot at most one slot interval (p99), while the starts of both together stay
within the limit in every sliding second.

Before live requests could take the slot interval ahead of the cursor, and while background reads
booked batches of slots ahead, a live request queued behind every slot booked for the background:
74 ms at the median measured on the app, 16 slots here. With one interval of allowance, a request
that booked still waited up to one interval past its round trip (17.5 ms at p99 on three processes
10 ms from the database); with two it waits about its round trip."""

from __future__ import annotations

import asyncio
import random

import pytest

from saleor_coinpayments.coinpayments.ratelimit import ClientRateLimit, SharedRateLimiter
from tests.unit.coinpayments import slot_rule
from tests.unit.coinpayments.test_ratelimit_fill import RATE, READERS, SlotBook, _run
from tests.unit.coinpayments.virtual_time import VirtualTimeLoop

WARM_UP, UNTIL = 1.0, 7.0
LIVE_CALLS = 80


async def _buyer(limiter: SharedRateLimiter, waits: list[float], starts: list[float], seed: int) -> None:
    """One live request in flight at a time, each after a random pause (so at random moments
    relative to the background's bookings), at least two intervals after the last one started:
    live requests closer together wait for each other, which is the limit, not the background."""
    loop = asyncio.get_running_loop()
    arrivals = random.Random(seed)
    live = limiter.for_client("c")
    await asyncio.sleep(WARM_UP)
    for _ in range(LIVE_CALLS):
        await asyncio.sleep(arrivals.uniform(2 * limiter.interval, 0.1))
        asked = loop.time()
        await live.acquire()
        waits.append(loop.time() - asked)
        starts.append(loop.time())


async def _keep_reading(limit: ClientRateLimit, starts: list[float]) -> None:
    """A background reader that asks again as soon as it got a slot."""
    loop = asyncio.get_running_loop()
    while loop.time() < UNTIL:
        await limit.acquire()
        starts.append(loop.time())
        await asyncio.sleep(0)


def _most_in_one_second(starts: list[float]) -> int:
    ordered = sorted(starts)
    return max(sum(1 for t in ordered if first <= t < first + 1.0) for first in ordered)


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


@pytest.mark.parametrize("processes", [1, 3])
@pytest.mark.parametrize("rtt", [0.0005, 0.002, 0.01])
def test_a_live_request_waits_at_most_one_slot_interval_whatever_the_background_asks(
    loop: VirtualTimeLoop, processes: int, rtt: float
) -> None:
    book = SlotBook(rtt)
    limiters = [SharedRateLimiter(book.book, RATE) for _ in range(processes)]
    background: list[float] = []
    waits: list[float] = []
    live: list[float] = []
    # READERS readers per process, each reading again at once: far more than the limit.
    readers = [
        _keep_reading(limiter.for_client("c", background=True), background)
        for limiter in limiters
        for _ in range(READERS)
    ]
    _run(loop, *readers, _buyer(limiters[0], waits, live, seed=processes))
    interval = limiters[0].interval
    assert len(waits) == LIVE_CALLS
    assert _p99(waits) <= interval, f"p99 wait {_p99(waits) * 1000:.1f} ms, one interval is {interval * 1000:.1f} ms"
    measured = [t for t in background + live if WARM_UP <= t < UNTIL]
    assert len([t for t in background if WARM_UP <= t < UNTIL]) >= 0.5 * (UNTIL - WARM_UP) / interval, (
        "the background still gets the rest"
    )
    assert _most_in_one_second(measured) <= RATE


class SlowWayThere:
    """A slot book whose statements wait `there` on the way (a pooled connection, the loop's lag
    before the send) and come back at once; the clock's readings are quick both ways."""

    def __init__(self, there: float, back: float) -> None:
        self.there, self.back = there, back
        self.next_slot: dict[str, float] = {}

    async def book(
        self, key: str, interval: float, within: float | None, count: int, lead: float, allowance: float = 0.0
    ) -> tuple[float | None, float, float]:
        await asyncio.sleep(self.there)
        now = asyncio.get_running_loop().time()
        booked = slot_rule.book(self.next_slot.get(key, 0.0), now, interval, within, count, lead, allowance)
        self.next_slot[key] = booked.cursor
        await asyncio.sleep(self.back)
        return (None if booked.first is None else booked.first - now), max(0.0, booked.cursor - now), now

    async def read_now(self) -> float:
        await asyncio.sleep(0.0005)
        now = asyncio.get_running_loop().time()
        await asyncio.sleep(0.0005)
        return now


def test_a_live_request_waits_for_its_own_booking_not_for_the_backgrounds_way_to_the_database(
    loop: VirtualTimeLoop,
) -> None:
    # Every booking statement waits 30 ms on its way there. The background's slots used to be
    # booked that whole round trip ahead of the database's now (the lead), so the cursor ran 31 ms
    # ahead and a buyer's request, allowed only one interval before it, waited 31 ms behind
    # background bookings on top of its own 31 ms (p99 77 ms). Only the way back needs a lead.
    book = SlowWayThere(there=0.03, back=0.001)
    limiters = [SharedRateLimiter(book.book, RATE, read_now=book.read_now) for _ in range(3)]
    background: list[float] = []
    waits: list[float] = []
    readers = [
        _keep_reading(limiter.for_client("c", background=True), background)
        for limiter in limiters
        for _ in range(READERS)
    ]
    _run(loop, *readers, _buyer(limiters[0], waits, [], seed=3))
    own = book.there + book.back
    assert len(waits) == LIVE_CALLS
    p99 = _p99(waits)
    assert p99 - own <= limiters[0].interval, f"p99 {p99 * 1000:.1f} ms, its own booking {own * 1000:.0f} ms"


@pytest.mark.parametrize("processes", [1, 3])
@pytest.mark.parametrize("rtt", [0.0005, 0.002])
def test_on_a_quick_database_a_live_request_waits_about_its_round_trip(
    loop: VirtualTimeLoop, processes: int, rtt: float
) -> None:
    """A slot held here for background work is taken only when it comes within about a booking's
    round trip; a later one made the buyer wait for it (7-8 ms at p99 where booking took 0.5 ms).
    Should the held slot still come before the booking lands, the buyer takes it then."""
    book = SlotBook(rtt)
    limiters = [SharedRateLimiter(book.book, RATE) for _ in range(processes)]
    waits: list[float] = []
    readers = [
        _keep_reading(limiter.for_client("c", background=True), []) for limiter in limiters for _ in range(READERS)
    ]
    _run(loop, *readers, _buyer(limiters[0], waits, [], seed=processes))
    assert len(waits) == LIVE_CALLS
    assert _p99(waits) <= rtt + 0.0005, f"p99 wait {_p99(waits) * 1000:.1f} ms, a round trip {rtt * 1000:.1f} ms"

"""A live request takes a slot its own process holds for background work, on a virtual clock
(virtual_time.py): a spare one, or one handed to a background read that has not started. No
database round trip, and no slot used twice: the read goes back to the front of the queue.

Before, a live request always booked, and on a slow way to the database its wait was that round
trip plus up to one interval even with background slots held right here (30 ms round trip: 36 ms
at the median, 53 ms at p99; 9.6 ms and 34 ms since)."""

from __future__ import annotations

import asyncio
import statistics

import pytest

from saleor_coinpayments.coinpayments.ratelimit import SharedRateLimiter
from tests.unit.coinpayments.test_ratelimit_fill import RATE, READERS, SlotBook, _run
from tests.unit.coinpayments.test_ratelimit_live_first import LIVE_CALLS, UNTIL, WARM_UP, _buyer, _keep_reading, _p99
from tests.unit.coinpayments.virtual_time import VirtualTimeLoop

ROUND_TRIP = 0.03  # a slow way to the database: every statement takes this


class CountingBook(SlotBook):
    """The slot book, counting live bookings (those without `within`)."""

    def __init__(self, rtt: float) -> None:
        super().__init__(rtt)
        self.live = 0

    async def book(
        self, key: str, interval: float, within: float | None, count: int, lead: float, allowance: float = 0.0
    ) -> tuple[float | None, float, float]:
        self.live += within is None
        return await super().book(key, interval, within, count, lead, allowance)


def _background_and_buyer(
    loop: VirtualTimeLoop, processes: int
) -> tuple[CountingBook, SharedRateLimiter, list[float], list[float]]:
    """READERS background readers per process (far above the limit) and a buyer on the first
    process: the book, that limiter, the buyer's waits, and every start (background and live)."""
    book = CountingBook(ROUND_TRIP)
    limiters = [SharedRateLimiter(book.book, RATE) for _ in range(processes)]
    starts: list[float] = []
    waits: list[float] = []
    readers = [
        _keep_reading(limiter.for_client("c", background=True), starts) for limiter in limiters for _ in range(READERS)
    ]
    _run(loop, *readers, _buyer(limiters[0], waits, starts, seed=processes))
    return book, limiters[0], waits, starts


def test_a_live_request_takes_a_slot_held_here_instead_of_a_round_trip(loop: VirtualTimeLoop) -> None:
    book, limiter, waits, _ = _background_and_buyer(loop, processes=1)
    assert len(waits) == LIVE_CALLS
    median = statistics.median(waits)
    assert median <= limiter.interval, f"median {median * 1000:.1f} ms: a round trip is {ROUND_TRIP * 1000:.0f} ms"
    assert book.live < LIVE_CALLS / 2, "most live requests did without a booking"
    assert _p99(waits) <= ROUND_TRIP + limiter.interval, "never worse than booking"


@pytest.mark.xfail(
    strict=True,
    reason="issue 24's target on a database 30 ms away: 3 of 80 buyer's requests wait up to 20 ms, when a"
    " buyer's own booking moved the cursor past the window of the background booking under way, which was"
    " refused and sent again",
)
def test_a_live_request_waits_at_most_one_interval_at_p99_on_a_slow_database(loop: VirtualTimeLoop) -> None:
    _, limiter, waits, _ = _background_and_buyer(loop, processes=1)
    assert _p99(waits) <= limiter.interval + 0.001, f"p99 {_p99(waits) * 1000:.1f} ms"


def _unused_twice(starts: list[float], slots: list[float], tolerance: float) -> list[float]:
    """The starts that no booked slot of their own accounts for: each start needs a slot of its
    own at most `tolerance` before it (matched earliest first; all windows are alike)."""
    free, unmatched = sorted(slots), []
    for start in sorted(starts):
        while free and free[0] < start - tolerance - 1e-9:
            free.pop(0)  # too early for this start and all later ones
        if free and free[0] <= start + 1e-9:
            free.pop(0)
        else:
            unmatched.append(start)
    return unmatched


@pytest.mark.parametrize("processes", [1, 3])
def test_every_start_has_a_booked_slot_of_its_own(loop: VirtualTimeLoop, processes: int) -> None:
    book, limiter, waits, starts = _background_and_buyer(loop, processes)
    assert len(waits) == LIVE_CALLS
    assert book.live < LIVE_CALLS, "some live requests took held slots"
    measured = [t for t in starts if WARM_UP <= t < UNTIL]
    assert _unused_twice(measured, book.slots, limiter.tolerance) == []


class GatedBook(SlotBook):
    """Wakes `gate` just before its first background answer: a task waiting on it runs after the
    booker has handed the slot to a read but before that read resumes."""

    def __init__(self, rtt: float, gate: asyncio.Future[None]) -> None:
        super().__init__(rtt)
        self.gate = gate
        self.calls: list[float | None] = []

    async def book(
        self, key: str, interval: float, within: float | None, count: int, lead: float, allowance: float = 0.0
    ) -> tuple[float | None, float, float]:
        self.calls.append(within)
        answer = await super().book(key, interval, within, count, lead, allowance)
        if not self.gate.done():
            self.gate.set_result(None)
        return answer


def test_a_read_woken_with_a_slot_a_live_request_took_does_not_start_on_it(loop: VirtualTimeLoop) -> None:
    started: dict[str, float] = {}

    async def scenario() -> None:
        gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        book = GatedBook(0.002, gate)
        # The first background slot is ahead (the read would sleep), but within a round trip:
        # sooner than the live request's own booking could give.
        book.next_slot["c"] = 0.003
        limiter = SharedRateLimiter(book.book, RATE)

        async def read() -> None:
            await limiter.for_client("c", background=True).acquire()
            started["read"] = loop.time()

        async def live() -> None:
            await gate
            await limiter.for_client("c").acquire()
            started["live"] = loop.time()

        await asyncio.gather(read(), live())
        assert book.calls == [limiter.lookahead, limiter.lookahead], "the live request booked nothing"
        assert started["live"] == pytest.approx(0.003), "it took the read's slot"
        assert started["read"] == pytest.approx(0.003 + limiter.interval), "the read took the next one"
        assert book.slots == pytest.approx([started["live"], started["read"]]), "each slot used once"

    _run(loop, scenario())


def test_a_cancelled_read_leaves_no_slot_behind_for_a_live_request(loop: VirtualTimeLoop) -> None:
    async def scenario() -> None:
        book = CountingBook(0.002)
        book.next_slot["c"] = 0.008
        limiter = SharedRateLimiter(book.book, RATE)
        read = asyncio.create_task(limiter.for_client("c", background=True).acquire())
        await asyncio.sleep(0.004)  # it holds the slot at 0.008 and sleeps until then
        read.cancel()
        with pytest.raises(asyncio.CancelledError):
            await read
        await limiter.for_client("c").acquire()
        assert book.live == 1, "the cancelled read's slot was not handed on: the live request booked"

    _run(loop, scenario())


class LoggedBook(CountingBook):
    """The slot book, logging each statement: live or not, when sent, and its first slot."""

    def __init__(self, rtt: float) -> None:
        super().__init__(rtt)
        self.log: list[tuple[bool, float, float | None]] = []

    async def book(
        self, key: str, interval: float, within: float | None, count: int, lead: float, allowance: float = 0.0
    ) -> tuple[float | None, float, float]:
        sent = asyncio.get_running_loop().time()
        first, next_free, now = await super().book(key, interval, within, count, lead, allowance)
        self.log.append((within is None, sent, None if first is None else now + first))
        return first, next_free, now


def test_a_live_request_takes_a_background_booking_that_lands_before_its_own(loop: VirtualTimeLoop) -> None:
    """Between two background bookings the process holds no slot, so a buyer's request books; the
    background booking already under way lands first, and its slot goes to the buyer, whose own
    booking's slot then goes to the read (none unused, none used twice)."""
    started: dict[str, float] = {}

    async def scenario() -> None:
        book = LoggedBook(ROUND_TRIP)
        limiter = SharedRateLimiter(book.book, RATE)
        background = limiter.for_client("c", background=True)
        await background.acquire()  # the limiter has learnt the round trip
        read = asyncio.create_task(background.acquire())
        await asyncio.sleep(ROUND_TRIP * 2 / 3)  # the read's booking is two thirds of the way
        asked = loop.time()
        await limiter.for_client("c").acquire()
        started["live"], started["waited"] = loop.time(), loop.time() - asked
        await read
        started["read"] = loop.time()
        (_, _, background_slot), (live, live_sent, live_slot) = book.log[-2:]
        assert live, "the last statement was the buyer's booking"
        assert live_sent == pytest.approx(asked), "sent when it asked"
        assert started["live"] == pytest.approx(background_slot), "and took the background's slot, landed first"
        assert started["waited"] == pytest.approx(ROUND_TRIP / 3), "a third of a round trip, not a whole one"
        assert started["read"] == pytest.approx(live_slot), "the read took the buyer's booked slot"

    _run(loop, scenario())


def test_few_live_requests_wait_past_one_interval_on_a_slow_database(loop: VirtualTimeLoop) -> None:
    """With background bookings that land first going to a buyer waiting for its own: 3 of 80 wait
    more than one interval on a database 30 ms away (24 before), at most about 20 ms (35 before)."""
    _, limiter, waits, _ = _background_and_buyer(loop, processes=1)
    late = [wait for wait in waits if wait > limiter.interval + 0.001]
    assert len(late) <= len(waits) // 20, f"{len(late)} of {len(waits)} waited past one interval"
    assert max(waits) <= ROUND_TRIP, "never a whole round trip"


class SlowLiveBook(CountingBook):
    """Background statements take `rtt`, a live one `live_rtt` (a statement stuck on a busy machine)."""

    def __init__(self, rtt: float, live_rtt: float) -> None:
        super().__init__(rtt)
        self.live_rtt = live_rtt

    async def book(
        self, key: str, interval: float, within: float | None, count: int, lead: float, allowance: float = 0.0
    ) -> tuple[float | None, float, float]:
        self.rtt = self.live_rtt if within is None else 0.002
        return await super().book(key, interval, within, count, lead, allowance)


def test_a_live_request_waiting_for_its_booking_takes_a_held_slot_that_comes_first(loop: VirtualTimeLoop) -> None:
    """A slot held here further away than a round trip: the buyer books, but when that slot comes
    before the booking lands (a statement stuck for 30 ms), the buyer starts on it; the read it was
    held for books again, and the buyer's own booked slot is nobody's loss."""
    started: dict[str, float] = {}

    async def scenario() -> None:
        book = SlowLiveBook(0.002, live_rtt=0.03)
        book.next_slot["c"] = 0.008
        limiter = SharedRateLimiter(book.book, RATE)

        async def read() -> None:
            await limiter.for_client("c", background=True).acquire()
            started["read"] = loop.time()

        async def live() -> None:
            await asyncio.sleep(0.003)  # the read holds the slot at 0.008 by now
            await limiter.for_client("c").acquire()
            started["live"] = loop.time()

        await asyncio.gather(read(), live())
        assert book.live == 1, "it booked: the held slot was more than a round trip away"
        assert started["live"] == pytest.approx(0.008), "and started on the held slot, 25 ms before its booking landed"
        assert started["read"] > 0.008, "the read went on to a slot of its own"
        assert any(slot == pytest.approx(started["read"]) for slot in book.slots), "a booked one"

    _run(loop, scenario())

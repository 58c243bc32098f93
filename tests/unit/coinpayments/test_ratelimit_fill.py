"""Background bookings on a virtual clock (virtual_time.py), every statement taking a round trip.

Readers in several processes, sharing one slot book, use (nearly) every slot and never two within
one interval, also when the round trip is slow and the event loop busy: blind polling missed the
lookahead window and handing spare slots over reader by reader cost a loop pass each, which left
a third of the slots empty at 60-100 ms round trips. And a client id's slots are its own.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Coroutine
from typing import Any

import pytest

from saleor_coinpayments.coinpayments.ratelimit import ClientRateLimit, SharedRateLimiter
from saleor_coinpayments.settings import Settings
from tests.unit.coinpayments import slot_rule
from tests.unit.coinpayments.virtual_time import VirtualTimeLoop

RATE = 70.0
READ_SECONDS = 0.3  # CoinPayments' answer, during which a reader holds its task
READERS = Settings.model_fields["reconcile_concurrency"].default  # reads in flight per process
WARM_UP, UNTIL = 1.0, 4.0


class SlotBook:
    """The slots row as the database keeps it; every statement takes `rtt` (half each way)."""

    def __init__(self, rtt: float) -> None:
        self.rtt = rtt
        self.next_slot: dict[str, float] = {}
        self.statements = 0
        self.slots: list[float] = []  # every slot booked, on the database's clock
        self.booked: dict[str, int] = {}

    async def book(
        self, key: str, interval: float, within: float | None, count: int, lead: float, allowance: float = 0.0
    ) -> tuple[float | None, float, float]:
        self.statements += 1
        await asyncio.sleep(self.rtt / 2)
        now = asyncio.get_running_loop().time()
        booked = slot_rule.book(self.next_slot.get(key, 0.0), now, interval, within, count, lead, allowance)
        self.next_slot[key] = booked.cursor
        first: float | None = None
        if booked.first is not None:
            self.slots.extend(booked.first + interval * n for n in range(count))
            self.booked[key] = self.booked.get(key, 0) + count
            first = booked.first - now
        next_free = max(0.0, booked.cursor - now)
        await asyncio.sleep(self.rtt / 2)
        return first, next_free, now


async def _keep_reading(limit: ClientRateLimit, starts: list[float], pause: float = READ_SECONDS) -> None:
    loop = asyncio.get_running_loop()
    while loop.time() < UNTIL:
        await limit.acquire()
        starts.append(loop.time())
        await asyncio.sleep(pause)


def _measured(starts: list[float]) -> list[float]:
    return sorted(t for t in starts if WARM_UP <= t < UNTIL)


def _background_readers(loop: VirtualTimeLoop, processes: int, rtt: float) -> tuple[SlotBook, float, list[float]]:
    """READERS background readers in each of `processes` limiters on one slot book: the book, the
    slot interval, and the reads' start times in the measured window."""
    book = SlotBook(rtt)
    limiters = [SharedRateLimiter(book.book, RATE) for _ in range(processes)]
    starts: list[float] = []
    readers = (limiter.for_client("c", background=True) for limiter in limiters for _ in range(READERS))
    _run(loop, *(_keep_reading(reader, starts) for reader in readers))
    return book, limiters[0].interval, _measured(starts)


def _most_in_one_second(starts: list[float]) -> int:
    return max(sum(1 for t in starts if first <= t < first + 1.0) for first in starts)


@pytest.mark.parametrize("loop", [0.0, 0.0001, 0.0002], indirect=True)
@pytest.mark.parametrize("processes", [1, 3])
@pytest.mark.parametrize("rtt", [0.002, 0.03, 0.1])
def test_background_readers_of_several_processes_fill_the_slots(
    loop: VirtualTimeLoop, processes: int, rtt: float
) -> None:
    book, interval, measured = _background_readers(loop, processes, rtt)
    slots = (UNTIL - WARM_UP) / interval
    assert len(measured) >= 0.98 * slots, f"{len(measured)} of {slots:.0f} slots used"
    booked = _measured(book.slots)
    assert _most_in_one_second(booked) <= math.floor(1 / interval) + 1
    gaps = [later - earlier for earlier, later in zip(booked, booked[1:], strict=False)]
    assert min(gaps) >= interval * 0.999, "never two slots within one interval"


@pytest.mark.parametrize("loop", [0.0005], indirect=True)
@pytest.mark.parametrize("processes", [1, 3])
@pytest.mark.parametrize("rtt", [0.002, 0.1])
def test_on_a_stalling_event_loop_requests_still_never_bunch_over_the_limit(
    loop: VirtualTimeLoop, processes: int, rtt: float
) -> None:
    # Every callback costs 0.5 ms: with a hundred reads in flight a wake-up comes 50 ms late, more
    # than the headroom allows. Late background slots are given up, so the starts themselves (not
    # only the slots) stay within the limit, and the reads still go on.
    _, interval, measured = _background_readers(loop, processes, rtt)
    assert _most_in_one_second(measured) <= RATE
    assert len(measured) >= 0.5 * (UNTIL - WARM_UP) / interval


def _run(loop: VirtualTimeLoop, *reads: Coroutine[Any, Any, None]) -> None:
    async def run() -> None:
        await asyncio.wait_for(asyncio.gather(*reads), timeout=60)  # virtual seconds: a hang fails

    loop.run_until_complete(run())


def test_queued_reads_share_one_booking_of_consecutive_slots(loop: VirtualTimeLoop) -> None:
    book = SlotBook(rtt=0.06)  # a slow database: one slot per statement would leave slots empty
    limiter = SharedRateLimiter(book.book, RATE)
    book.next_slot["c"] = 0.5  # live requests hold the next slots
    started: list[float] = []
    _run(loop, *(_read_once(limiter.for_client("c", background=True), started) for _ in range(4)))
    # The first booking was refused (the slot at 0.5 is beyond the window) and measured the round
    # trip; then one statement booked four consecutive slots, one for each read.
    assert book.statements == 2
    assert book.slots == pytest.approx([book.slots[0] + limiter.interval * n for n in range(4)])
    assert started == pytest.approx(book.slots)


def test_spare_slots_belong_to_their_client_id(loop: VirtualTimeLoop) -> None:
    book = SlotBook(rtt=0.0)
    limiter = SharedRateLimiter(book.book, 10, headroom=1.0, lookahead=0.2)
    started: dict[str, list[float]] = {"a": [], "b": []}
    book.next_slot["b"] = 0.5  # b's next slots are taken: its read must not take a's spares
    reads = [_read_once(limiter.for_client("a", background=True), started["a"]) for _ in range(4)]
    _run(loop, *reads, _read_once(limiter.for_client("b", background=True), started["b"]))
    assert book.booked == {"a": 4, "b": 1}
    assert started["b"] == pytest.approx([0.5]), "b waited for its own slot"
    assert len(started["a"]) == 4


def test_background_reads_of_different_clients_do_not_wait_for_each_other(loop: VirtualTimeLoop) -> None:
    book = SlotBook(rtt=0.0)
    limiter = SharedRateLimiter(book.book, 10, headroom=1.0, lookahead=0.2)
    book.next_slot["busy"] = 5.0
    started: dict[str, list[float]] = {"busy": [], "idle": []}
    _run(loop, *(_read_once(limiter.for_client(key, background=True), started[key]) for key in started))
    assert started["idle"][0] <= 0.01, "the idle client's read went at once"
    assert started["busy"][0] == pytest.approx(5.0, abs=0.01)


async def _read_once(limit: ClientRateLimit, started: list[float]) -> None:
    await limit.acquire()
    started.append(asyncio.get_running_loop().time())

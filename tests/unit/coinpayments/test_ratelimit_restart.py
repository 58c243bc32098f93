"""A replica that starts while others run (a restart, a rolling deploy) keeps the summed rate within
the limit, on a virtual clock (virtual_time.py).

A new process's first statement pays for opening its database connection on the way there. When
that statement was a booking, the process set its clock from it: off by half that delay, it placed
the whole batch of slots early, on top of the slots the running replicas had booked (93 requests
within one second after a restart, at a limit of 70). A new process now reads the database's clock
on warm connections before it books anything."""

from __future__ import annotations

import asyncio

import pytest

from saleor_coinpayments.coinpayments import ratelimit
from saleor_coinpayments.coinpayments.ratelimit import ClientRateLimit, SharedRateLimiter
from tests.unit.coinpayments.test_ratelimit_fill import RATE, READERS, SlotBook, _run
from tests.unit.coinpayments.virtual_time import VirtualTimeLoop

STARTS_AT, UNTIL = 1.5, 4.0
COLD_SECONDS = 0.3  # the new process's first statement, on its way to the database
BUYERS = 30


class ColdConnection:
    """A new process's way to the slot book: statements sent before its connection is open (its
    first one opens it) wait for it on the way there; the answers come back at once."""

    def __init__(self, book: SlotBook) -> None:
        self._book = book
        self._open_at: float | None = None

    async def _arrive(self) -> None:
        now = asyncio.get_running_loop().time()
        if self._open_at is None:
            self._open_at = now + COLD_SECONDS
        if self._open_at > now:
            await asyncio.sleep(self._open_at - now)

    async def book(
        self, key: str, interval: float, within: float | None, count: int, lead: float, allowance: float
    ) -> tuple[float | None, float, float]:
        await self._arrive()
        return await self._book.book(key, interval, within, count, lead, allowance)

    async def read_now(self) -> float:
        await self._arrive()
        await asyncio.sleep(self._book.rtt / 2)
        now = asyncio.get_running_loop().time()
        await asyncio.sleep(self._book.rtt / 2)
        return now


async def _keep_reading(limit: ClientRateLimit, starts: list[float], begin: float = 0.0) -> None:
    loop = asyncio.get_running_loop()
    await asyncio.sleep(begin)
    while loop.time() < UNTIL:
        await limit.acquire()
        starts.append(loop.time())
        await asyncio.sleep(0.3)  # CoinPayments' answer


def _most_in_one_second(starts: list[float]) -> int:
    ordered = sorted(starts)
    return max(sum(1 for t in ordered if first <= t < first + 1.0) for first in ordered)


def _replica(book: SlotBook | ColdConnection) -> SharedRateLimiter:
    read_now = book.read_now if isinstance(book, ColdConnection) else None
    return SharedRateLimiter(book.book, RATE, read_now=read_now)


@pytest.mark.parametrize("running", [1, 2])
@pytest.mark.parametrize("rtt", [0.001, 0.02])
def test_a_replica_starting_beside_running_ones_keeps_every_second_within_the_limit(
    loop: VirtualTimeLoop, running: int, rtt: float
) -> None:
    book = SlotBook(rtt)
    old = [_replica(book) for _ in range(running)]
    new = _replica(ColdConnection(book))
    starts: list[float] = []
    # The running replicas' buyers ask for more than the limit: their bookings run ahead of now,
    # and a slot placed early lands on one of theirs.
    reads = [_keep_reading(r.for_client("c", background=True), starts) for r in old for _ in range(READERS)]
    reads += [_keep_reading(r.for_client("c"), starts) for r in old for _ in range(BUYERS)]
    # Buyers who waited for the new replica (their requests share its first booking), then its
    # reconciler.
    reads += [_keep_reading(new.for_client("c"), starts, STARTS_AT) for _ in range(BUYERS)]
    reads += [_keep_reading(new.for_client("c", background=True), starts, STARTS_AT + 0.01) for _ in range(READERS)]
    _run(loop, *reads)
    assert sum(1 for t in starts if t >= STARTS_AT + COLD_SECONDS) > 0, "the new replica took part"
    assert _most_in_one_second(starts) <= RATE


def test_a_new_replica_continues_after_the_slots_the_old_one_booked(loop: VirtualTimeLoop) -> None:
    book = SlotBook(0.001)
    book.next_slot["c"] = 2.0  # the replica that stopped had booked up to here
    started: list[float] = []

    async def one_read() -> None:
        await _replica(ColdConnection(book)).for_client("c").acquire()
        started.append(asyncio.get_running_loop().time())

    _run(loop, one_read())
    # A live request may come one interval early, never sooner: the cursor is on the database.
    assert started[0] >= 2.0 - ratelimit.slot_spacing(RATE)[1] - 1e-9

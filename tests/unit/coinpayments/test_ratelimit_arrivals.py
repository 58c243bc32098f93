"""The summed rate as CoinPayments counts it, on a virtual clock (virtual_time.py): requests counted
as they arrive, by the simulator's own sliding-second meter, each up to the limiter's whole budget
after its slot.

A request may start up to `tolerance` after its slot, and nothing bounds the rest of its way to
CoinPayments' counter (the socket, the network, the server's queue, the replicas' clocks) but the
margin the slots leave, SEND_JITTER_SECONDS. The slots used to be 1/(0.95 × 70) apart with 19 ms
for that way: the worst second held exactly 70, so any send a little later than that made 71 (it
did, at the simulator, during a rolling deploy of three replicas with 10,000 reads due at once).
Here the arrivals are bunched the worst way the budget allows: every other second, each request
that starts in it arrives its late start plus the whole margin later, as if CoinPayments' counter
(or the network to it) had stalled, and the requests after the stall arrive on time, on top."""

from __future__ import annotations

import asyncio
import math
import random

import pytest

from saleor_coinpayments.coinpayments import ratelimit
from saleor_coinpayments.coinpayments.ratelimit import ClientRateLimit, SharedRateLimiter
from saleor_coinpayments.simulator.rate_meter import RateMeter
from tests.unit.coinpayments.test_ratelimit_fill import RATE, READERS, SlotBook, _run
from tests.unit.coinpayments.test_ratelimit_restart import ColdConnection
from tests.unit.coinpayments.virtual_time import VirtualTimeLoop

WAY_SECONDS = 0.040  # from a request's start until CoinPayments counts it, at most (the margin)
UNTIL = 6.0
STALL_EVERY = 2.0  # arrivals of the first second of every two are late by the whole budget
BUYER_PAUSE = (0.005, 0.05)  # live requests, one in flight per buyer, at random moments


@pytest.mark.parametrize("rate", [70.0, 100.0, 10.0, 3.0, 2.0, 1.0])
def test_the_slots_leave_the_margin_for_a_late_start_and_the_way(rate: float) -> None:
    limiter = SharedRateLimiter(_never_called, rate)
    assert ratelimit.SEND_JITTER_SECONDS >= WAY_SECONDS
    spread = limiter.tolerance + ratelimit.SEND_JITTER_SECONDS
    assert ratelimit.most_in_one_second(limiter.interval, limiter.allowance, spread) <= math.floor(rate)


async def _never_called(*_: object) -> tuple[float | None, float, float]:
    raise AssertionError("no booking expected")


async def _keep_reading(limit: ClientRateLimit, starts: list[float], begin: float, end: float) -> None:
    loop = asyncio.get_running_loop()
    await asyncio.sleep(begin)
    while loop.time() < end:
        await limit.acquire()
        if loop.time() < end:  # a killed replica sends nothing after its end
            starts.append(loop.time())
        await asyncio.sleep(0.3)  # CoinPayments' answer


async def _buyer(limit: ClientRateLimit, starts: list[float], begin: float, end: float, seed: int) -> None:
    loop, pauses = asyncio.get_running_loop(), random.Random(seed)
    await asyncio.sleep(begin)
    while loop.time() < end:
        await asyncio.sleep(pauses.uniform(*BUYER_PAUSE))
        await limit.acquire()
        if loop.time() < end:
            starts.append(loop.time())


def _counted(starts: list[float], late: float) -> int:
    """The most arrivals within one sliding second at the simulator's meter, arrivals bunched by a
    stall of `late` at the end of every other second."""
    arrivals = sorted(t + late if math.floor(t / STALL_EVERY * 2) % 2 == 0 else t for t in starts)
    clock = iter(arrivals)
    meter = RateMeter(clock=lambda: next(clock))
    for _ in arrivals:
        meter.arrived("c")
    return int(meter.to_json()["clients"]["c"]["maxPerSecond"])


@pytest.mark.parametrize("rtt", [0.001, 0.02])
def test_across_a_rolling_deploy_and_a_kill_no_second_counts_more_than_the_limit(
    loop: VirtualTimeLoop, rtt: float
) -> None:
    """Replicas a and b run; c starts (a new process, its connection cold) and a stops, as a
    rolling deploy does; then b is killed and d starts. Background reads ask for far more than the
    limit throughout, buyers' live requests come at random moments on every replica."""
    book = SlotBook(rtt)
    starts: list[float] = []
    lives = [(0.0, 2.5), (0.0, 4.0), (1.5, UNTIL), (4.2, UNTIL)]  # a, b, c, d: (started, stopped)
    work = []
    for n, (begin, end) in enumerate(lives):
        cold = begin > 0
        way = ColdConnection(book) if cold else book
        limiter = SharedRateLimiter(way.book, RATE, read_now=way.read_now if cold else None)
        work += [
            _keep_reading(limiter.for_client("c", background=True), starts, begin + 0.01, end) for _ in range(READERS)
        ]
        work += [_buyer(limiter.for_client("c"), starts, begin, end, seed=n * 10 + k) for k in range(3)]
    _run(loop, *work)
    limiter = SharedRateLimiter(_never_called, RATE)
    assert len(starts) >= 0.9 * UNTIL / limiter.interval, "the slots were used"
    late = limiter.tolerance + WAY_SECONDS
    assert _counted(starts, 0.0) <= RATE
    assert _counted(starts, late) <= RATE, f"with arrivals up to {late * 1000:.0f} ms after their slot"

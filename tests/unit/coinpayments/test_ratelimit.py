"""The token bucket, driven by a fake clock: counts of waits, not wall-clock timing."""

from __future__ import annotations

import asyncio
import math
from types import SimpleNamespace

import pytest

from saleor_coinpayments.coinpayments import ratelimit
from saleor_coinpayments.coinpayments.ratelimit import SharedRateLimiter, TokenBucket, limiter_for, reset_registry
from tests.unit.coinpayments import slot_rule


class FakeTime:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.mark.asyncio
async def test_burst_up_to_capacity_then_one_token_per_interval() -> None:
    time = FakeTime()
    bucket = TokenBucket(70, clock=time.clock, sleep=time.sleep)
    waits = [await bucket.acquire() for _ in range(140)]
    assert sum(1 for w in waits if w == 0) == 70  # the saved-up second
    assert len(time.sleeps) == 70  # every later call waited
    assert time.now == pytest.approx(1.0)  # 70 more in exactly one more second: 70/s sustained
    assert all(s == pytest.approx(1 / 70) for s in time.sleeps)


@pytest.mark.asyncio
async def test_a_bucket_slot_is_when_its_token_came_due(monkeypatch: pytest.MonkeyPatch) -> None:
    """The client measures a send's lateness from this moment: a token saved up is due at once, a
    later one after the bucket's wait for it."""
    time = FakeTime()
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(monotonic=time.clock))
    bucket = TokenBucket(10, capacity=1, clock=time.clock, sleep=time.sleep)
    first, second = await bucket.acquire_slot(), await bucket.acquire_slot()
    assert (first.at, first.priority) == (0.0, "bucket")
    assert second.at == pytest.approx(0.1)
    assert second.priority == "bucket"


@pytest.mark.asyncio
async def test_tokens_refill_with_time_but_not_beyond_capacity() -> None:
    time = FakeTime()
    bucket = TokenBucket(10, clock=time.clock, sleep=time.sleep)
    for _ in range(10):
        await bucket.acquire()
    time.now += 100.0  # idle for a long time
    waits = [await bucket.acquire() for _ in range(11)]
    assert waits.count(0.0) == 10
    assert waits[-1] == pytest.approx(0.1)


@pytest.mark.asyncio
async def test_concurrent_callers_share_the_bucket() -> None:
    recorded: list[float] = []

    async def sleep_without_time_passing(seconds: float) -> None:
        recorded.append(seconds)
        await asyncio.sleep(0)

    bucket = TokenBucket(5, clock=lambda: 0.0, sleep=sleep_without_time_passing)
    waits = await asyncio.gather(*(bucket.acquire() for _ in range(15)))
    assert sorted(waits)[:5] == [0.0] * 5
    # all reserve at t=0: the n-th caller after the burst waits n/5 s, so none of them collide
    assert sorted(recorded) == pytest.approx([n / 5 for n in range(1, 11)])


def test_registry_is_per_client_id_and_dash_insensitive() -> None:
    reset_registry()
    a = limiter_for("0a1b2c3d4e5f40718293a4b5c6d7e8f9")
    assert limiter_for("0A1B2C3D-4E5F-4071-8293-A4B5C6D7E8F9") is a
    assert limiter_for("ffffffffffffffffffffffffffffffff") is not a
    assert a.rate == 70.0


def test_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        TokenBucket(0)


class FakeSlots:
    """A slot book with a fake clock: what the database does, one process, no real time."""

    def __init__(self, time: FakeTime) -> None:
        self.time = time
        self.next_slot: dict[str, float] = {}
        self.calls: list[tuple[str, float | None]] = []
        self.booked = 0

    async def book(
        self,
        key: str,
        interval: float,
        within: float | None,
        count: int = 1,
        lead: float = 0.0,
        allowance: float = 0.0,
    ) -> tuple[float | None, float, float]:
        self.calls.append((key, within))
        await asyncio.sleep(0)  # a statement: other tasks run meanwhile
        now = self.time.now
        booked = slot_rule.book(self.next_slot.get(key, 0.0), now, interval, within, count, lead, allowance)
        self.next_slot[key] = booked.cursor
        if booked.first is None:
            return None, booked.cursor - now, now
        self.booked += count
        return booked.first - now, booked.cursor - now, now


def _limiter_on_fake_time(monkeypatch: pytest.MonkeyPatch) -> tuple[FakeTime, FakeSlots, SharedRateLimiter]:
    """A limiter at 70/s on a fake slot book, both on a fake clock the limiter reads too."""
    time = FakeTime()
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(monotonic=time.clock))
    slots = FakeSlots(time)
    return time, slots, SharedRateLimiter(slots.book, 70, sleep=time.sleep)


@pytest.mark.asyncio
async def test_shared_limiter_spaces_requests_below_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    time, slots, limiter = _limiter_on_fake_time(monkeypatch)
    live = limiter.for_client("AB-CD")
    # The first three share the moment 0 (a live request may come two intervals early), the rest
    # one interval apart: 66 start within the first second at 15.8 ms (63.2/s), the next after it.
    within = math.floor(1 / limiter.interval) + 1 + ratelimit.LIVE_ALLOWANCE_SLOTS
    assert within == 66
    for _ in range(within):
        await live.acquire()
    assert time.now < 1.0
    await live.acquire()
    assert time.now >= 1.0
    assert limiter.for_client("abcd").key == "abcd"


@pytest.mark.asyncio
async def test_background_reads_book_only_free_slots_and_live_requests_go_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    time, slots, limiter = _limiter_on_fake_time(monkeypatch)
    # Live requests have booked a full second ahead.
    for _ in range(68):
        await slots.book("c", limiter.interval, None)
    await limiter.for_client("c", background=True).acquire()
    # The background read was refused, slept until the live slots were (nearly) used up, then
    # took the next: one refusal, one booking, no polling in between.
    assert time.now == pytest.approx(68 * limiter.interval)
    assert [w for _, w in slots.calls[68:]] == [limiter.lookahead, limiter.lookahead]
    assert time.sleeps[0] == pytest.approx(68 * limiter.interval - limiter.lookahead * ratelimit.AIM)


@pytest.mark.asyncio
async def test_queued_background_reads_on_a_quick_database_book_one_slot_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    time, slots, limiter = _limiter_on_fake_time(monkeypatch)
    reader = limiter.for_client("c", background=True)
    horizons: list[float] = []

    async def read() -> None:
        await reader.acquire()
        horizons.append(slots.next_slot["c"] - time.now)

    await asyncio.gather(*(read() for _ in range(8)))
    assert slots.booked == 8  # one slot per read, never more
    # The database answers at once: no slot is booked before it is nearly due, so when a read
    # starts the next free slot is at most one interval away (a buyer's request would wait no more).
    assert max(horizons) <= limiter.interval * 1.0001


@pytest.mark.asyncio
async def test_live_requests_queued_behind_a_booking_share_the_next_one_and_each_gets_its_own_slot(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    time, slots, limiter = _limiter_on_fake_time(monkeypatch)
    live = limiter.for_client("c")
    started: list[float] = []

    async def request() -> None:
        await live.acquire()
        started.append(time.now)

    first = [asyncio.create_task(request()) for _ in range(3)]  # together: one statement
    await asyncio.sleep(0)
    await asyncio.sleep(0)  # that booking is under way (FakeSlots yields once inside it)
    assert len(slots.calls) == 1
    later = [asyncio.create_task(request()) for _ in range(7)]  # queued behind it
    await asyncio.gather(*first, *later)
    assert slots.booked == 10  # one slot per request, never more
    assert len(slots.calls) == 2  # two statements for ten requests
    assert all(within is None for _, within in slots.calls)  # booked at once, as live requests are
    # Within each booking one interval apart; a live booking may take a slot up to one interval
    # before the cursor, so at most two ever share an interval (the bound the limit allows for).
    ordered = sorted(started)
    assert all(b - a >= limiter.interval * 0.999 for a, b in zip(ordered, ordered[2:], strict=False))
    assert ordered[-1] - ordered[0] >= (len(ordered) - 2) * limiter.interval * 0.999


@pytest.mark.asyncio
async def test_a_failed_live_booking_fails_its_batch_and_the_next_request_books_again() -> None:
    calls: list[int] = []
    gate = asyncio.Event()

    async def book(
        key: str, interval: float, within: float | None, count: int, lead: float, allowance: float
    ) -> tuple[float | None, float, float]:
        calls.append(count)
        if len(calls) == 1:
            await gate.wait()
            raise ConnectionError("database gone")
        return 0.0, interval * count, 0.0

    live = SharedRateLimiter(book, 70).for_client("c")
    first = asyncio.create_task(live.acquire())
    await asyncio.sleep(0.01)  # its booking is under way
    queued = asyncio.create_task(live.acquire())
    await asyncio.sleep(0.01)
    gate.set()
    with pytest.raises(ConnectionError):
        await first  # its own booking failed
    assert isinstance(await queued, float)  # queued behind it: booked by the next statement
    assert isinstance(await live.acquire(), float)  # the client id stays usable
    assert calls == [1, 1, 1]


@pytest.mark.asyncio
async def test_a_live_request_cancelled_while_queued_leaves_the_others_their_slots() -> None:
    gate = asyncio.Event()
    counts: list[int] = []

    async def book(
        key: str, interval: float, within: float | None, count: int, lead: float, allowance: float
    ) -> tuple[float | None, float, float]:
        counts.append(count)
        await gate.wait()
        return 0.0, interval * count, 0.0

    live = SharedRateLimiter(book, 70).for_client("c")
    first = asyncio.create_task(live.acquire())
    await asyncio.sleep(0.01)  # its booking is under way
    queued = [asyncio.create_task(live.acquire()) for _ in range(3)]
    await asyncio.sleep(0.01)
    queued[1].cancel()
    gate.set()
    await asyncio.gather(first, queued[0], queued[2])
    assert queued[1].cancelled()
    assert counts == [1, 2]  # the cancelled request took no slot


@pytest.mark.asyncio
async def test_acquire_slot_gives_the_slot_started_on_and_its_priority(monkeypatch: pytest.MonkeyPatch) -> None:
    """The client measures its send's lateness against this slot (send_lateness.py)."""
    time, slots, limiter = _limiter_on_fake_time(monkeypatch)
    for _ in range(10):  # live requests booked ahead: the next slot is ten intervals away
        await slots.book("c", limiter.interval, None)
    live = await limiter.for_client("c").acquire_slot()
    background = await limiter.for_client("c", background=True).acquire_slot()
    assert live.priority == "live"
    assert background.priority == "background"
    assert background.at == pytest.approx(time.now)  # it slept until its slot, then started
    early = 10 - ratelimit.LIVE_ALLOWANCE_SLOTS
    assert early * limiter.interval - 1e-9 <= live.at < background.at  # after those booked ahead, bar its allowance

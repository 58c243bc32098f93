"""The rate limiters at their edges: rates below one per second, explicit capacities, fractional
tokens, the background booker's polling, one lock per client id, and the wait metric's labels.

Mutation testing (`make mutation`) found these missing; each test names what it protects."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from prometheus_client import REGISTRY

from saleor_coinpayments.coinpayments import ratelimit
from saleor_coinpayments.coinpayments.ratelimit import SharedRateLimiter, TokenBucket
from tests.unit.coinpayments.test_ratelimit import FakeSlots, FakeTime


async def never_called(
    key: str, interval: float, within: float | None, count: int, lead: float, allowance: float
) -> tuple[float | None, float, float]:
    raise AssertionError("not booked")


# --- TokenBucket --------------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [0, -1])
def test_a_token_bucket_refuses_a_rate_that_is_not_positive(rate: float) -> None:
    with pytest.raises(ValueError, match="^rate must be positive$") as caught:
        TokenBucket(rate)
    assert str(caught.value) == "rate must be positive"


@pytest.mark.asyncio
async def test_a_rate_below_one_per_second_saves_up_one_token() -> None:
    time = FakeTime()
    bucket = TokenBucket(0.5, clock=time.clock, sleep=time.sleep)
    assert bucket.capacity == 1.0
    assert [await bucket.acquire() for _ in range(3)] == [0.0, 2.0, 2.0]


@pytest.mark.asyncio
async def test_an_explicit_capacity_is_the_burst() -> None:
    time = FakeTime()
    bucket = TokenBucket(10, capacity=3, clock=time.clock, sleep=time.sleep)
    waits = [await bucket.acquire() for _ in range(4)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3] == pytest.approx(0.1)


def test_a_fractional_token_left_means_no_wait() -> None:
    time = FakeTime()
    bucket = TokenBucket(1, capacity=1.5, clock=time.clock, sleep=time.sleep)
    assert bucket.reserve() == 0.0, "half a token is left: this one goes now, and the wait is never negative"
    assert bucket.reserve() == pytest.approx(0.5)


# --- SharedRateLimiter ---------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [0, -1])
def test_a_shared_limiter_refuses_a_rate_that_is_not_positive(rate: float) -> None:
    with pytest.raises(ValueError, match="^rate must be positive$") as caught:
        SharedRateLimiter(never_called, rate)
    assert str(caught.value) == "rate must be positive"


def test_a_shared_limiter_takes_a_rate_below_one_per_second() -> None:
    limiter = SharedRateLimiter(never_called, 0.5, headroom=1.0)
    assert limiter.interval == 2.0
    assert limiter.lookahead == 2.0, "never look ahead less than one interval"


def test_a_client_limit_is_live_unless_asked_for_background() -> None:
    limiter = SharedRateLimiter(never_called, 70)
    assert limiter.for_client("ab").background is False
    assert limiter.for_client("ab", background=True).background is True


@pytest.mark.asyncio
async def test_a_live_request_books_under_its_client_key_and_sleeps_only_when_it_must(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    time = FakeTime()
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(monotonic=time.clock))
    slots = FakeSlots(time)
    limiter = SharedRateLimiter(slots.book, 1, headroom=1.0, sleep=time.sleep)
    live = limiter.for_client("AB-CD")
    waited = await live.acquire()
    assert slots.calls == [("abcd", None)]
    assert time.sleeps == [], "a free slot: no sleep at all (not even a zero one)"
    assert 0 <= waited < 60, "the seconds waited, not a clock reading"
    await live.acquire()
    assert time.sleeps == [1.0], "a slot one second ahead: sleep until it"
    slots.next_slot["abcd"] = time.now + 0.5
    await live.acquire()
    assert time.sleeps == [1.0, 0.5], "less than a second ahead is still waited for"


@pytest.mark.asyncio
async def test_a_refused_background_read_sleeps_until_the_next_slot_is_nearly_free(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    time = FakeTime()
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(monotonic=time.clock))
    slots = FakeSlots(time)
    limiter = SharedRateLimiter(slots.book, 10, headroom=1.0, lookahead=0.2, sleep=time.sleep)
    slots.next_slot["c"] = 1.0  # live requests booked the next second
    await limiter.for_client("c", background=True).acquire()
    # Refused at 0 (the slot at 1.0 is beyond the lookahead), told when it is free, slept until
    # AIM × lookahead before it, booked it, and waited the rest: no blind polling.
    assert slots.calls == [("c", 0.2), ("c", 0.2)]
    assert time.sleeps == pytest.approx([1.0 - 0.2 * ratelimit.AIM, 0.2 * ratelimit.AIM])
    assert time.now == pytest.approx(1.0)


def _count(priority: str) -> float:
    return REGISTRY.get_sample_value("coinpayments_rate_limiter_wait_seconds_count", {"priority": priority}) or 0.0


@pytest.mark.asyncio
async def test_each_wait_is_counted_under_its_priority(monkeypatch: pytest.MonkeyPatch) -> None:
    time = FakeTime()
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(monotonic=time.clock))
    slots = FakeSlots(time)
    limiter = SharedRateLimiter(slots.book, 70, sleep=time.sleep)
    live, background = _count("live"), _count("background")
    await limiter.for_client("m").acquire()
    assert (_count("live"), _count("background")) == (live + 1, background)
    await limiter.for_client("m", background=True).acquire()
    assert (_count("live"), _count("background")) == (live + 1, background + 1)


@pytest.mark.asyncio
async def test_a_live_request_books_exactly_one_slot() -> None:
    counts: list[int] = []

    async def book(
        key: str, interval: float, within: float | None, count: int, lead: float, allowance: float
    ) -> tuple[float | None, float, float]:
        counts.append(count)
        return 0.0, interval, 0.0

    await SharedRateLimiter(book, 70).for_client("ab").acquire()
    assert counts == [1]


class StallingTime(FakeTime):
    """Every sleep oversleeps by 0.1 s, as on an event loop that keeps stalling."""

    async def sleep(self, seconds: float) -> None:
        await super().sleep(seconds + 0.1)


@pytest.mark.asyncio
async def test_a_late_live_request_rebooks_at_most_twice_then_goes(monkeypatch: pytest.MonkeyPatch) -> None:
    time = StallingTime()
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(monotonic=time.clock))
    slots = FakeSlots(time)
    limiter = SharedRateLimiter(slots.book, 10, headroom=0.97, sleep=time.sleep)
    slots.next_slot["c"] = 1.0  # its slot is ahead: it sleeps, and wakes too late
    before = REGISTRY.get_sample_value("coinpayments_rate_limiter_late_slots_total", {"priority": "live"}) or 0.0
    await limiter.for_client("c").acquire()
    assert len(slots.calls) == 1 + ratelimit.LIVE_REBOOKS, "late slots are given up, but a buyer's request goes"
    after = REGISTRY.get_sample_value("coinpayments_rate_limiter_late_slots_total", {"priority": "live"})
    assert after == before + ratelimit.LIVE_REBOOKS

"""The rate limiters at their edges: rates below one per second, explicit capacities, fractional
tokens, the background booker's polling, one lock per client id, and the wait metric's labels.

Mutation testing (`make mutation`) found these missing; each test names what it protects."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from prometheus_client import REGISTRY

from saleor_coinpayments.coinpayments import ratelimit
from saleor_coinpayments.coinpayments.ratelimit import SharedRateLimiter, TokenBucket
from tests.unit.coinpayments.test_ratelimit import FakeSlots, FakeTime


class YieldingTime(FakeTime):
    """A fake clock whose sleep lets other tasks run, as a real sleep does."""

    async def sleep(self, seconds: float) -> None:
        await super().sleep(seconds)
        await asyncio.sleep(0)


async def never_called(key: str, interval: float, within: float | None, count: int) -> float | None:
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
async def test_a_live_request_books_under_its_client_key_and_sleeps_only_when_it_must() -> None:
    time = FakeTime()
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
async def test_a_background_read_polls_at_half_the_lookahead() -> None:
    time = FakeTime()
    slots = FakeSlots(time)
    limiter = SharedRateLimiter(slots.book, 10, headroom=1.0, lookahead=0.2, sleep=time.sleep)
    slots.next_slot["c"] = 1.0  # live requests booked the next second
    await limiter.for_client("c", background=True).acquire()
    polls = [s for s in time.sleeps if s == pytest.approx(0.1)]
    assert len(polls) >= 7
    assert all(s == pytest.approx(0.1) for s in time.sleeps[: len(polls)])


@pytest.mark.asyncio
async def test_background_reads_of_different_clients_do_not_wait_for_each_other() -> None:
    time = YieldingTime()
    slots = FakeSlots(time)
    limiter = SharedRateLimiter(slots.book, 10, headroom=1.0, lookahead=0.2, sleep=time.sleep)
    slots.next_slot["busy"] = 5.0
    done_at: dict[str, float] = {}

    async def read(client: str) -> None:
        await limiter.for_client(client, background=True).acquire()
        done_at[client] = time.now

    await asyncio.gather(read("busy"), read("idle"))
    assert done_at["idle"] <= 0.2, "the idle client's read went at once"
    assert done_at["busy"] >= 4.8


def _count(priority: str) -> float:
    return REGISTRY.get_sample_value("coinpayments_rate_limiter_wait_seconds_count", {"priority": priority}) or 0.0


@pytest.mark.asyncio
async def test_each_wait_is_counted_under_its_priority() -> None:
    time = FakeTime()
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

    async def book(key: str, interval: float, within: float | None, count: int) -> float | None:
        counts.append(count)
        return 0.0

    await SharedRateLimiter(book, 70).for_client("ab").acquire()
    assert counts == [1]


@pytest.mark.asyncio
async def test_queued_background_reads_share_one_booking_of_consecutive_slots(monkeypatch: pytest.MonkeyPatch) -> None:
    time = YieldingTime()
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(monotonic=time.clock))
    slots = FakeSlots(time)
    limiter = SharedRateLimiter(slots.book, 10, headroom=1.0, lookahead=0.2, sleep=time.sleep)
    slots.next_slot["c"] = 0.3  # live requests hold the next slots
    slots.next_slot["other"] = 0.0

    async def read(client: str) -> None:
        await limiter.for_client(client, background=True).acquire()

    await asyncio.gather(*(read("c") for _ in range(4)))
    # The first read polled once, then booked the slot at 0.3 alone; the three queued behind it
    # booked three consecutive slots in one go and each waited one interval more.
    assert slots.booked == 4
    assert len([c for c in slots.calls if c[0] == "c"]) == 3, "a poll, the first read's booking, one for the rest"
    assert time.sleeps == pytest.approx([0.1, 0.2, 0.1, 0.1, 0.1])
    # Another client's read never takes this client's spare slots.
    await read("other")
    assert slots.booked == 5

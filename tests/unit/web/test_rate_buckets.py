"""The pay page's per-link limiter: bursts, refill, independence of keys, bounded memory."""

from __future__ import annotations

from saleor_coinpayments.web.rate_buckets import KeyedBuckets


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_the_rate() -> None:
    clock = Clock()
    buckets = KeyedBuckets(rate=2, burst=3, clock=clock)
    assert [buckets.allow("a") for _ in range(4)] == [True, True, True, False]
    clock.now += 0.5  # one token back
    assert buckets.allow("a") is True
    assert buckets.allow("a") is False
    clock.now += 60  # never more than the burst
    assert [buckets.allow("a") for _ in range(4)] == [True, True, True, False]


def test_keys_do_not_share_and_old_keys_are_forgotten() -> None:
    clock = Clock()
    buckets = KeyedBuckets(rate=1, burst=1, max_keys=2, clock=clock)
    assert buckets.allow("a")
    assert not buckets.allow("a")
    assert buckets.allow("b")
    assert buckets.allow("c")  # "a" is forgotten: it starts full again
    assert buckets.allow("a")
    assert not buckets.allow("c")

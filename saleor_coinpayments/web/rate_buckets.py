"""Token buckets per key that answer "now or not" instead of waiting (for 429 answers)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable


class KeyedBuckets:
    """`rate` requests per second per key with bursts of `burst`; the least recently used keys are
    forgotten beyond `max_keys`, so memory stays bounded whatever the keys are."""

    def __init__(
        self, rate: float, burst: float, max_keys: int = 50_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def allow(self, key: str) -> bool:
        now = self._clock()
        tokens, last = self._buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        allowed = tokens >= 1
        self._buckets[key] = (tokens - 1 if allowed else tokens, now)
        if len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return allowed

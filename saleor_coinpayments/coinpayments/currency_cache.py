"""An in-process cache of CoinPayments' currency list, per API base URL, with a time to live.

The list is large and changes rarely, and creating an invoice needs the fiat id on every checkout;
one fetch per TTL per process is plenty. Entries are keyed by base URL because ids may differ per
instance (coinpayments.md#currency-ids).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from .models import Currency

Clock = Callable[[], float]


class CurrencyCache:
    def __init__(self, ttl_seconds: float = 600.0, clock: Clock = time.monotonic) -> None:
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._entries: dict[str, tuple[float, tuple[Currency, ...]]] = {}
        self._lock = threading.Lock()

    def get(self, base_url: str) -> tuple[Currency, ...] | None:
        """The cached list, or None when absent or older than the TTL."""
        with self._lock:
            entry = self._entries.get(base_url)
        if entry is None or self._clock() - entry[0] >= self.ttl_seconds:
            return None
        return entry[1]

    def put(self, base_url: str, currencies: tuple[Currency, ...]) -> None:
        with self._lock:
            self._entries[base_url] = (self._clock(), currencies)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


shared_currency_cache = CurrencyCache()
"""The one cache every client in the process uses unless given another."""

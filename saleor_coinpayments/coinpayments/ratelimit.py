"""Client-side limits per CoinPayments client id (the API caps at 70 requests/s, §9.2).

The app uses `SharedRateLimiter`: slots booked in the database (store/rate_limits.py), so every
replica on one database together stays under the cap. Slots are spaced 1/(0.97 × limit) apart:
in any second at most 0.97 × limit + 1 requests start, a little room for network jitter.
Requests a buyer may be waiting for (initialize, coin choice, status) book the next slot at
once; background reads (the reconciler) book only a slot that is free right now (within
LOOKAHEAD_SECONDS), so they fill the spare capacity and never push a live request back more than
that plus one batch (about one booking round trip).

Background reads must land each booking inside that short window, batch after batch, or the
slots in between go unused. So every booking answers when the next free slot comes (booked or
not); one reader per client id and process books for all queued ones: it sleeps until just before
that moment (no blind polling), books enough slots to last one round trip of its statement, and a
landed batch wakes every queued read at once. (Polling every lookahead/2, batches of 4 and a
hand-over from reader to reader, one event-loop pass each, left a third of the slots empty once a
loaded loop made the round trip 50-100 ms; late hand-overs also bunched requests at CoinPayments.)

`TokenBucket` / `limiter_for` is the per-process bucket for clients made outside the app
(a CoinPaymentsClient without a limiter, tools and tests).
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from prometheus_client import Histogram

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
# book(key, interval, within, count) -> (seconds until the first slot booked, or None when
# `within` refused; seconds until the next slot nobody holds), both from the database's now.
BookSlot = Callable[[str, float, float | None, int], Awaitable[tuple[float | None, float]]]

HEADROOM = 0.97
LOOKAHEAD_SECONDS = 0.05
BACKGROUND_BATCH = 4  # background slots booked per statement when reads queue up in this process…
MAX_BATCH = 16  # …or more, to last one booking round trip, but never more than this
AIM = 0.75  # a background booking is sent this share of the lookahead before the next slot is free

LIMITER_WAITS = Histogram(
    "coinpayments_rate_limiter_wait_seconds",
    "Time a CoinPayments request waited for its rate-limit slot, by priority",
    ["priority"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


class RateLimit(Protocol):
    async def acquire(self) -> float:
        """Wait until one request may start; returns the seconds waited."""
        ...


class TokenBucket:
    """`rate` tokens per second, at most `capacity` saved up; `acquire` waits for one token."""

    def __init__(
        self,
        rate: float,
        capacity: float | None = None,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.capacity = capacity if capacity is not None else max(1.0, rate)
        self._tokens = self.capacity
        self._clock = clock
        self._sleep = sleep
        self._updated = clock()
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take a token now (possibly going into debt) and say how long to wait before using it."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            self._tokens -= 1
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    async def acquire(self) -> float:
        """Wait for a token; returns the seconds waited (0 when there was one)."""
        wait = self.reserve()
        if wait > 0:
            await self._sleep(wait)
        return wait


def client_key(client_id: str) -> str:
    """Dashed and undashed forms of a client id share one limit."""
    return client_id.strip().lower().replace("-", "")


@dataclass
class _ClientSlots:
    """One client id's background bookings in this process."""

    booking: bool = False  # a reader is booking for the queue right now
    landed: asyncio.Event = field(default_factory=asyncio.Event)  # set (and replaced) after each booking
    queued: int = 0  # background reads waiting for a slot
    spare: deque[float] = field(default_factory=deque)  # booked slots not handed out yet (monotonic)
    free_at: float = 0.0  # when the next slot nobody holds comes, as last seen (monotonic)
    round_trip: float = 0.0  # a booking statement's round trip: quick to rise, slow to fall


class SharedRateLimiter:
    """The limit per client id, shared through the database by every process (see the module doc)."""

    def __init__(
        self,
        book: BookSlot,
        rate: float,
        *,
        headroom: float = HEADROOM,
        lookahead: float = LOOKAHEAD_SECONDS,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.interval = 1.0 / (rate * headroom)
        self.lookahead = max(lookahead, self.interval)
        self._book = book
        self._sleep = sleep
        self._clients: dict[str, _ClientSlots] = {}

    def for_client(self, client_id: str, *, background: bool = False) -> ClientRateLimit:
        return ClientRateLimit(self, client_key(client_id), background)

    async def acquire(self, key: str, *, background: bool) -> float:
        started = time.monotonic()
        if background:
            wait = await self._background_slot(key)
        else:
            wait = await self._booked(key, None, 1) or 0.0
        if wait > 0:
            await self._sleep(wait)
        waited = time.monotonic() - started
        LIMITER_WAITS.labels(priority="background" if background else "live").observe(waited)
        return waited

    def _slots(self, key: str) -> _ClientSlots:
        return self._clients.setdefault(key, _ClientSlots())

    async def _booked(self, key: str, within: float | None, count: int) -> float | None:
        """One booking statement; remembers when the next free slot comes, timed from when the
        statement was sent (so it errs early: a booking sent for it lands in time)."""
        slots = self._slots(key)
        sent = time.monotonic()
        first, next_free = await self._book(key, self.interval, within, count)
        now = time.monotonic()
        slots.free_at = sent + next_free
        slots.round_trip = max(now - sent, slots.round_trip * 0.8)
        return first

    async def _background_slot(self, key: str) -> float:
        """Seconds until a background slot: a spare one booked earlier, or, when no reader is
        booking, new ones for the queued reads; else wait for the booking under way to land.
        A landed batch wakes every queued read at once (no hand-over one by one)."""
        slots = self._slots(key)
        slots.queued += 1
        try:
            while True:
                if slots.spare:
                    return max(0.0, slots.spare.popleft() - time.monotonic())
                if not slots.booking:
                    return await self._book_batch(key, slots)
                await slots.landed.wait()
        finally:
            slots.queued -= 1

    async def _book_batch(self, key: str, slots: _ClientSlots) -> float:
        """Book for the queue: sleep until the next free slot is nearly within the lookahead, book
        as many as are queued (a batch), keep all but the first as spares; wake the queue after."""
        slots.booking = True
        try:
            while True:
                pause = slots.free_at - self.lookahead * AIM - time.monotonic()
                if pause > 0:
                    await self._sleep(pause)
                count = max(1, min(self._batch(slots), slots.queued))
                wait = await self._booked(key, self.lookahead, count)
                if wait is not None:
                    break
            first = time.monotonic() + wait
            slots.spare.extend(first + self.interval * n for n in range(1, count))
            return wait
        finally:
            slots.booking = False
            landed, slots.landed = slots.landed, asyncio.Event()
            landed.set()

    def _batch(self, slots: _ClientSlots) -> int:
        """Slots for one booking: enough to last until the next booking, sent when this one's
        answer is back, can land (plus half the lookahead), however slow the round trip; at least
        BACKGROUND_BATCH, at most MAX_BATCH. Too few leave slots empty; too many push the next
        booking out of the lookahead, and a refusal costs a round trip."""
        now, trip = time.monotonic(), slots.round_trip
        first = max(slots.free_at, now + trip / 2)
        lasting = math.ceil((now + 1.5 * trip + self.lookahead / 2 - first) / self.interval)
        return max(BACKGROUND_BATCH, min(MAX_BATCH, lasting))


class ClientRateLimit:
    """One client id's limit at one priority, as a CoinPaymentsClient uses it."""

    def __init__(self, limiter: SharedRateLimiter, key: str, background: bool) -> None:
        self._limiter = limiter
        self._key = key
        self.background = background

    async def acquire(self) -> float:
        return await self._limiter.acquire(self._key, background=self.background)


_registry: dict[str, TokenBucket] = {}
_registry_lock = threading.Lock()


def limiter_for(client_id: str, rate: float = 70.0) -> TokenBucket:
    """The process-wide bucket for `client_id` (dashed and undashed forms share one bucket)."""
    key = client_key(client_id)
    with _registry_lock:
        bucket = _registry.get(key)
        if bucket is None:
            bucket = _registry[key] = TokenBucket(rate)
        return bucket


def reset_registry() -> None:
    """Forget all buckets (tests)."""
    with _registry_lock:
        _registry.clear()

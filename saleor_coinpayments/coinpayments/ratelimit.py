"""Client-side limits per CoinPayments client id (the API caps at 70 requests/s, coinpayments.md#rate-limit).

The app uses `SharedRateLimiter`: slots booked in the database (store/rate_limits.py), so every
replica on one database together stays under the cap. Slots are spaced 1/(0.96 × limit) apart:
in any second at most 0.96 × limit + 1 requests start (68 of 70), room for about 40 ms of jitter
between a start and its arrival. (At 0.97, 71 once arrived within one second at the simulator of
bench/background.py on a machine loaded 3 deep: 69 slots leave too little room.)
Requests a buyer may be waiting for (initialize, coin choice, status) book the next slot at
once (those queued behind a booking under way share the next statement); background reads (the
reconciler) book only a slot that is free right now (within LOOKAHEAD_SECONDS after the lead below),
so they fill the spare capacity and never push a live request back more than that plus one batch
(about one booking round trip).

Three things keep the slots both used and honoured across replicas on a busy event loop:
- Timing. Every booking answers when the next free slot comes (booked or not); one reader per
  client id and process books for all queued ones, sleeps until just before that moment (no
  blind polling), books enough slots to last one round trip of its statement, and a landed batch
  wakes every queued read at once (no hand-over reader by reader, one loop pass each).
- The database's clock. A slot is a moment on that clock; `DatabaseClock` places it on this
  process's clock, and a booking's first slot is at least one round trip ahead (the lead), so
  its answer arrives before it. Timing slots from the answer's arrival instead shifted a whole
  batch by that answer's way back, and batches of different bookings bunched at CoinPayments.
- Lateness. A request that could not start within `tolerance` of its slot (the loop was busy)
  gives it up and books again (a live one at most LIVE_REBOOKS times): starts, not only slots,
  then stay within the limit.
Measured before (bench/background.py): polling every lookahead/2 with batches of 4 left a third
of the slots empty at 50-100 ms round trips, and up to 83 requests arrived within one second.

`TokenBucket` / `limiter_for` is the per-process bucket for clients made outside the app
(a CoinPaymentsClient without a limiter, tools and tests).
"""

from __future__ import annotations

import asyncio
import itertools
import math
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from prometheus_client import Counter, Histogram

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
# book(key, interval, within, count, lead) -> (seconds until the first slot booked, or None when
# `within` refused; seconds until the next slot nobody holds; the database's now, epoch seconds).
BookSlot = Callable[[str, float, float | None, int, float], Awaitable[tuple[float | None, float, float]]]

HEADROOM = 0.96
LOOKAHEAD_SECONDS = 0.05
BACKGROUND_BATCH = 4  # background slots booked per statement when reads queue up in this process…
MAX_BATCH = 16  # …or more, to last one booking round trip, but never more than this
MAX_LEAD_SECONDS = 0.5  # a booking's first slot is at least its round trip ahead, at most this
LIVE_REBOOKS = 2
AIM = 0.75  # a background booking is sent this share of the lookahead before the next slot is free

LIMITER_WAITS = Histogram(
    "coinpayments_rate_limiter_wait_seconds",
    "Time a CoinPayments request waited for its rate-limit slot, by priority",
    ["priority"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)

LATE_SLOTS = Counter(
    "coinpayments_rate_limiter_late_slots_total",
    "Rate-limit slots given up because the request could not start on time (a busy event loop)",
    ["priority"],
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
    live_waiting: list[asyncio.Future[float]] = field(default_factory=list)  # live reads queued for a booking
    live_booker: asyncio.Task[None] | None = None  # books for them, one statement per batch


class DatabaseClock:
    """The database's clock on this process's monotonic clock.

    A slot is a moment on the database's clock. Timing it from when the booking's answer arrived
    makes it late by the answer's way back, which differs from booking to booking (tens of ms on a
    busy event loop, and a batch shifts all its slots alike), so slots of different bookings
    bunched at CoinPayments. The offset is taken from the booking with the shortest round trip
    (its midpoint is off by at most half of that), renewed every RESYNC_SECONDS."""

    RESYNC_SECONDS = 60.0

    def __init__(self) -> None:
        self._offset = 0.0
        self._trip = math.inf
        self._taken_at = -math.inf

    def observe(self, sent: float, received: float, database_now: float) -> None:
        trip = received - sent
        if trip <= self._trip or received - self._taken_at > self.RESYNC_SECONDS:
            self._offset = database_now - (sent + received) / 2
            self._trip, self._taken_at = trip, received

    def local(self, database_time: float) -> float:
        return database_time - self._offset


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
        # Starts at most D late keep any second at or under `rate` while D < 1/headroom - 1 (42 ms
        # for 0.96): a request may start half that late, the other half is left for the way to
        # the socket. A later one is rebooked, not sent (see acquire).
        self.tolerance = (1 / headroom - 1) / 2
        self.clock = DatabaseClock()
        self._book = book
        self._sleep = sleep
        self._clients: dict[str, _ClientSlots] = {}

    def for_client(self, client_id: str, *, background: bool = False) -> ClientRateLimit:
        return ClientRateLimit(self, client_key(client_id), background)

    async def acquire(self, key: str, *, background: bool) -> float:
        started = time.monotonic()
        priority = "background" if background else "live"
        for attempt in itertools.count():
            slot = await self._background_slot(key) if background else await self._live_slot(key)
            if (delay := slot - time.monotonic()) > 0:
                await self._sleep(delay)
            if time.monotonic() - slot <= self.tolerance or (not background and attempt >= LIVE_REBOOKS):
                break
            # A stall (a busy event loop) made this start late: going now could bunch it with the
            # slots after it, so the slot is given up and another booked. Reads then slow down
            # with the event loop, which sheds their load; a buyer's request rebooks at most
            # LIVE_REBOOKS times (it must go out even on a loop that keeps stalling).
            LATE_SLOTS.labels(priority=priority).inc()
        waited = time.monotonic() - started
        LIMITER_WAITS.labels(priority=priority).observe(waited)
        return waited

    def _slots(self, key: str) -> _ClientSlots:
        return self._clients.setdefault(key, _ClientSlots())

    async def _live_slot(self, key: str) -> float:
        """The next slot (monotonic), booked at once. Live reads that arrive while a booking is
        under way wait for it to land and then share one statement of consecutive slots: under
        load one database write books for many requests, not one each."""
        slots = self._slots(key)
        waiter: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        slots.live_waiting.append(waiter)
        if slots.live_booker is None:
            slots.live_booker = asyncio.get_running_loop().create_task(self._book_live(key, slots))
        return await waiter

    async def _book_live(self, key: str, slots: _ClientSlots) -> None:
        """Book for the live reads queued, batch after batch, until none is left."""
        try:
            while slots.live_waiting:
                batch, slots.live_waiting = slots.live_waiting, []
                batch = [waiter for waiter in batch if not waiter.done()]  # a cancelled request
                if not batch:
                    continue
                try:
                    first = await self._booked(key, None, len(batch))
                except Exception as exc:  # the database: each request of the batch fails with it
                    for waiter in batch:
                        if not waiter.done():
                            waiter.set_exception(exc)
                    continue
                except BaseException:  # shutdown
                    for waiter in batch:
                        waiter.cancel()
                    raise
                assert first is not None, "a booking without `within` is never refused"
                for n, waiter in enumerate(batch):
                    if not waiter.done():
                        waiter.set_result(first + self.interval * n)
        finally:
            slots.live_booker = None

    async def _booked(self, key: str, within: float | None, count: int) -> float | None:
        """One booking statement: the first slot booked (monotonic), or None when refused; also
        remembers when the next free slot comes and how long the statement took."""
        slots = self._slots(key)
        sent = time.monotonic()
        first, next_free, database_now = await self._book(key, self.interval, within, count, self._lead(slots))
        received = time.monotonic()
        self.clock.observe(sent, received, database_now)
        slots.free_at = self.clock.local(database_now + next_free)
        slots.round_trip = max(received - sent, slots.round_trip * 0.8)
        return None if first is None else self.clock.local(database_now + first)

    async def _background_slot(self, key: str) -> float:
        """A background slot (monotonic): a spare one booked earlier, or, when no reader is
        booking, new ones for the queued reads; else wait for the booking under way to land.
        A landed batch wakes every queued read at once (no hand-over one by one)."""
        slots = self._slots(key)
        slots.queued += 1
        try:
            while True:
                if slots.spare:
                    return slots.spare.popleft()
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
                # Land (half a round trip after sending) with the next free slot AIM × lookahead
                # beyond the lead: inside the window, and before the slot has passed.
                ahead = self._lead(slots) + self.lookahead * AIM + slots.round_trip / 2
                pause = slots.free_at - ahead - time.monotonic()
                if pause > 0:
                    await self._sleep(pause)
                count = max(1, min(self._batch(slots), slots.queued))
                first = await self._booked(key, self.lookahead, count)
                if first is not None:
                    break
            slots.spare.extend(first + self.interval * n for n in range(1, count))
            return first
        finally:
            slots.booking = False
            landed, slots.landed = slots.landed, asyncio.Event()
            landed.set()

    @staticmethod
    def _lead(slots: _ClientSlots) -> float:
        """No slot sooner than one round trip from the database's now: the answer would arrive
        after it and the request start late. "Free now" for a background booking means free
        within the lookahead after that."""
        return min(slots.round_trip, MAX_LEAD_SECONDS)

    def _batch(self, slots: _ClientSlots) -> int:
        """Slots for one booking: enough to last until the next booking, sent when this one's
        answer is back, can land (plus half the lookahead), however slow the round trip; at least
        BACKGROUND_BATCH, at most MAX_BATCH. Too few leave slots empty; too many push the next
        booking out of the lookahead, and a refusal costs a round trip."""
        now, trip, lead = time.monotonic(), slots.round_trip, self._lead(slots)
        first = max(slots.free_at, now + trip / 2 + lead)
        lasting = math.ceil((now + 1.5 * trip + lead + self.lookahead / 2 - first) / self.interval)
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

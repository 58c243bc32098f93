"""Client-side limits per CoinPayments client id (the API caps at 70 requests/s, coinpayments.md#rate-limit).

The app uses `SharedRateLimiter`: slots booked in the database (store/rate_limits.py), so every
replica on one database together stays under the cap. A slot is a moment on the database's clock
at which one request may start; the book keeps one cursor per client id, the next free slot.

Who goes first. A buyer may be waiting for a live request (initialize, coin choice, cancel,
status); nobody waits for a background read (the reconciler). So:
- Background reads book only a slot that is free right now (within one interval after their lead,
  aiming at half of it), and only as many as one booking round trip uses up: one slot at a time on
  a database that answers within an interval. They never build a queue of booked slots that a
  buyer's request would have to wait behind.
- A live request first takes a slot this process already holds for background work, with no
  round trip to the database, if it comes within about a booking's round trip: the earliest spare
  one, or one handed to a background read that has not started on it yet (that read then goes
  back to the front of the background queue for the next slot). No slot is used twice and none is
  made without a booking, so the sums below are unchanged (tests/unit/coinpayments/
  test_ratelimit_held.py). A held slot further off waited for even when a booking would have been
  sooner (7-8 ms at p99 on a database 0.5 ms away, where booking takes that 0.5 ms); now the
  request books, and should that held slot still come before its booking lands, it starts on it
  then and its booked slot goes on (`_take_held_before_booking`).
- Otherwise a live request books, at once, and it may take a slot up to LIVE_ALLOWANCE_SLOTS (two)
  intervals before the cursor (the `allowance`). Background bookings keep the cursor at most their
  lead plus two intervals ahead of the database's now (one of lookahead, one slot booked), so
  that slot is free at once: the request waits for its own
  booking's round trip and hardly more (the p99 is the round trip up to 10 ms, on one process or
  three, tests/unit/coinpayments/test_ratelimit_live_first.py). With an allowance of one interval it
  waited up to one interval more (17.5 ms at p99 on three processes 10 ms from the database); the
  second interval of allowance costs one slot a second (63.2 at 70, not 64.2).
- A live request waiting for its own booking takes the first slot of a background booking that
  lands before it (between two background bookings the process holds none, and the next one is
  often under way), if that slot is no later than its own booking's is likely to be; its own slot
  then goes on to the next live request or the background (`_hand_out`): none unused, none used
  twice. On a database 30 ms away a third of the buyer's requests used to wait that round trip;
  now 3 in 80 wait past one interval, at most 20 ms (tests/unit/coinpayments/test_ratelimit_held.py).

Why the sum stays under the cap. CoinPayments counts requests as they arrive. A request arrives
some time after its slot: it may start up to LATE_START_SECONDS late (a later start gives the slot
up and books again), and from its start until CoinPayments counts it (the way to the socket, the
network, the server's own queue, the replicas' readings of the database's clock) it is allowed
SEND_JITTER_SECONDS more, which nothing here can enforce: that is the safety margin. So the
requests counted in any one second come from slots within 1 + LATE_START + SEND_JITTER seconds
(1.06 s). Slots are `interval` apart (a generic cell rate algorithm: a booking moves the cursor on
by one interval a slot from the later of itself and the booking's start), except that a live
request may come up to `allowance` (two intervals) early, so any window of W seconds holds at most
floor((W + allowance) / interval) + 1 slots. `slot_spacing` spaces them so that this stays at the
limit for W = 1.06 s: 1.06 s / 67 = 15.8 ms at 70/s, 63.2 requests a second.
(Until then the slots were 1/(0.95 × limit) apart, with 19 ms each for a late start and the way:
the worst case sat exactly on the limit with nothing to spare, and 71 arrived within one second at the
simulator during a rolling deploy of three replicas on a loaded machine.)

Three things keep the slots both used and honoured across replicas on a busy event loop:
- Timing. Every booking answers when the next free slot comes (booked or not); one booker per
  client id and process books for all queued reads, sleeps until just before that moment (no
  blind polling), books enough slots to last one round trip of its statement, and hands each slot
  straight to the read first in line: only the reads that got one wake. The slot stays the
  process's (a live request may take it) until the read, resumed at the slot, checks and starts
  in one step of the event loop, with nothing awaited in between: a read woken with a slot a live
  request took meanwhile sees that, does not send, and queues again at the front. A read
  cancelled before it starts lets its slot go unused, as a cancelled request always did.
- The database's clock. A slot is a moment on that clock; `DatabaseClock` places it on this
  process's clock, from the reading with the shortest round trip. A new process first reads the
  database's clock a few times on warm connections before it books anything: its very first
  statement pays for opening the connection on the way there, which misplaced a whole batch of
  slots by half of that (tens to hundreds of ms), and a restarted replica's requests then arrived
  on top of the other replicas' (93 within one second after a restart). Later bookings start at
  least the answer's way back ahead of the database's now (the lead), so their answer arrives
  before their slot; not the whole round trip, which kept the background's cursor that much ahead
  and a buyer's request behind it.
- Lateness. A request that could not start within `tolerance` of its slot (the loop was busy)
  gives it up and books again (a live one at most LIVE_REBOOKS times): starts, not only slots,
  then stay within the limit.

`TokenBucket` / `limiter_for` is the per-process bucket for clients made outside the app
(a CoinPaymentsClient without a limiter, tools and tests).
"""

from __future__ import annotations

import asyncio
import bisect
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
# book(key, interval, within, count, lead, allowance) -> (seconds until the first slot booked, or
# None when `within` refused; seconds until the next slot nobody holds; the database's now, epoch
# seconds).
BookSlot = Callable[[str, float, float | None, int, float, float], Awaitable[tuple[float | None, float, float]]]
# The database's now, epoch seconds (one cheap statement on the booking's own connections).
ReadNow = Callable[[], Awaitable[float]]

LATE_START_SECONDS = 0.020  # a request that cannot start within this of its slot books again
SEND_JITTER_SECONDS = 0.040  # the margin: from a request's start until CoinPayments counts it
BACKGROUND_WINDOW = 1.0  # background reads book a slot free within this many intervals after their lead
BACKGROUND_BATCH = 1  # background slots booked per statement: one on a database answering within an interval…
MAX_BATCH = 16  # …or more, to last one booking round trip, but never more than this
SYNC_READS = 3  # readings of the database's clock a new process takes before its first booking
MAX_LEAD_SECONDS = 0.5  # a booking's first slot is at least its answer's way back ahead, at most this
LIVE_REBOOKS = 2
LIVE_ALLOWANCE_SLOTS = 2  # a live booking may start this many intervals before the cursor
HELD_TAKE_AHEAD = 0.0001  # a live request waiting for its booking takes a held slot this long before it comes
AIM = 0.5  # a background booking is sent this share of the lookahead before the next slot is free

LIMITER_WAITS = Histogram(
    "coinpayments_rate_limiter_wait_seconds",
    "Time a CoinPayments request waited for its rate-limit slot, by priority",
    ["priority"],
    # Fine around a slot interval (15.8 ms at 70/s), the most a buyer should wait.
    buckets=(0.001, 0.0025, 0.005, 0.0075, 0.01, 0.0125, 0.015, 0.02, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)

BOOKINGS = Histogram(
    "coinpayments_rate_limiter_booking_seconds",
    "A slot booking statement's round trip as the limiter saw it (the database, its pool, and the event"
    " loop's lag in resuming), by priority: a buyer's request that booked waits about this plus the slot's own"
    " wait (one that took a slot held for background work booked nothing)",
    ["priority"],
    buckets=(0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)

LATE_SLOTS = Counter(
    "coinpayments_rate_limiter_late_slots_total",
    "Rate-limit slots given up because the request could not start on time (a busy event loop)",
    ["priority"],
)


@dataclass(frozen=True)
class Slot:
    """A request's turn: the moment (time.monotonic) it was allowed to start, and the priority it
    was booked at. The client measures how late the request's bytes went out against `at`
    (coinpayments/send_lateness.py): the margin the limit rests on (the module doc)."""

    at: float
    priority: str


class RateLimit(Protocol):
    async def acquire_slot(self) -> Slot:
        """Wait until one request may start; returns its slot."""
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

    async def acquire_slot(self) -> Slot:
        """Wait for a token; the slot is when it became due (on time.monotonic, whatever `clock`
        the bucket counts tokens on). Priority "bucket": this per-process bucket knows none."""
        asked = time.monotonic()
        return Slot(asked + await self.acquire(), "bucket")


def client_key(client_id: str) -> str:
    """Dashed and undashed forms of a client id share one limit."""
    return client_id.strip().lower().replace("-", "")


@dataclass(eq=False)
class _Hold:
    """A background slot handed to a read that has not started on it yet: until then a live request
    may take it (`taken`), and the read goes back to the front of the queue for another."""

    slot: float  # monotonic
    taken: bool = False


@dataclass
class _ClientSlots:
    """One client id's bookings in this process."""

    waiting: deque[asyncio.Future[_Hold]] = field(default_factory=deque)  # background reads queued for a slot
    booker: asyncio.Task[None] | None = None  # books for them, one statement per batch
    spare: deque[float] = field(default_factory=deque)  # booked slots not handed out yet (monotonic)
    held: set[_Hold] = field(default_factory=set)  # handed to background reads that have not started
    free_at: float = 0.0  # when the next slot nobody holds comes, as last seen (monotonic)
    round_trip: float = 0.0  # a booking statement's round trip: quick to rise, slow to fall
    way_back: float = 0.0  # from the database's now to the answer in hand here: likewise
    live_waiting: list[asyncio.Future[float]] = field(default_factory=list)  # live reads queued for a booking
    live_booker: asyncio.Task[None] | None = None  # books for them, one statement per batch
    live_batch: list[asyncio.Future[float]] = field(default_factory=list)  # the live booking under way is for these
    live_answer: float = 0.0  # when its answer should come (monotonic)


class DatabaseClock:
    """The database's clock on this process's monotonic clock.

    A slot is a moment on the database's clock. Timing it from when the booking's answer arrived
    makes it late by the answer's way back, which differs from booking to booking (tens of ms on a
    busy event loop, and a batch shifts all its slots alike), so slots of different bookings
    bunched at CoinPayments. The offset is taken from the reading with the shortest round trip
    (its midpoint is off by at most half of that). After RESYNC_SECONDS a reading of up to twice
    that round trip renews it (the clocks drift apart slowly), a slower one only after
    FORGET_SECONDS: one statement stalled on its way there must not move every slot after it."""

    RESYNC_SECONDS = 60.0
    FORGET_SECONDS = 600.0

    def __init__(self) -> None:
        self._offset = 0.0
        self._trip = math.inf
        self._taken_at = -math.inf

    @property
    def trip(self) -> float:
        """The round trip of the reading in use (inf before the first)."""
        return self._trip

    def observe(self, sent: float, received: float, database_now: float) -> None:
        trip, age = received - sent, received - self._taken_at
        if trip <= self._trip or (age > self.RESYNC_SECONDS and trip <= 2 * self._trip) or age > self.FORGET_SECONDS:
            self._offset = database_now - (sent + received) / 2
            self._trip, self._taken_at = trip, received

    def local(self, database_time: float) -> float:
        return database_time - self._offset


def slot_spacing(rate: float) -> tuple[float, float]:
    """The slot interval and a live request's allowance for `rate` requests a second: however the
    arrivals spread within LATE_START + SEND_JITTER, CoinPayments counts at most floor(rate) in
    any one second (`most_in_one_second`, the module doc)."""
    window = 1.0 + LATE_START_SECONDS + SEND_JITTER_SECONDS
    most = math.floor(rate + 1e-9)
    if most >= 3:
        # A few slots a second: one of allowance, or the background would lose a third of them.
        early = LIVE_ALLOWANCE_SLOTS if most >= 10 else 1
        interval = window / (most - 1 - early)
        return interval, interval * early
    # Too few slots a second for a live request to come early: no allowance, and below two a
    # second one slot per window at most (a little more than it, for the rounding).
    return (window if most == 2 else max(window, 1.0 / rate) * 1.001), 0.0


def most_in_one_second(interval: float, allowance: float, spread: float) -> int:
    """The most requests that can arrive within one second, when each arrives up to `spread`
    seconds after its slot: the slots within 1 + spread seconds of a cell rate algorithm."""
    return math.floor((1.0 + spread + allowance) / interval + 1e-9) + 1


class SharedRateLimiter:
    """The limit per client id, shared through the database by every process (see the module doc)."""

    def __init__(
        self,
        book: BookSlot,
        rate: float,
        *,
        headroom: float | None = None,
        lookahead: float | None = None,
        sleep: Sleep = asyncio.sleep,
        read_now: ReadNow | None = None,
    ) -> None:
        """`headroom` is for tests of the mechanics: slots exactly 1/(rate × headroom) apart, the
        room left over split between the allowance and the late start as before the margin."""
        if rate <= 0:
            raise ValueError("rate must be positive")
        if headroom is None:
            self.interval, self.allowance = slot_spacing(rate)
            self.tolerance = LATE_START_SECONDS
        else:
            self.interval = 1.0 / (rate * headroom)
            room = 1 / headroom - 1
            self.allowance = min(self.interval, room / 2)
            self.tolerance = (room - self.allowance) / 2
        self.lookahead = self.interval * BACKGROUND_WINDOW if lookahead is None else lookahead
        self.clock = DatabaseClock()
        self._book = book
        self._sleep = sleep
        self._read_now = read_now
        self._synced = read_now is None
        self._syncing: asyncio.Lock | None = None
        self._clients: dict[str, _ClientSlots] = {}

    def for_client(self, client_id: str, *, background: bool = False) -> ClientRateLimit:
        return ClientRateLimit(self, client_key(client_id), background)

    async def acquire(self, key: str, *, background: bool) -> float:
        """Wait until one request may start; returns the seconds waited."""
        return (await self._acquire(key, background=background))[0]

    async def acquire_slot(self, key: str, *, background: bool) -> Slot:
        """Wait until one request may start; returns its slot."""
        slot = (await self._acquire(key, background=background))[1]
        return Slot(slot, "background" if background else "live")

    async def _acquire(self, key: str, *, background: bool) -> tuple[float, float]:
        """The seconds waited and the slot started on (monotonic)."""
        started = time.monotonic()
        priority = "background" if background else "live"
        if not self._synced:
            await self._sync_clock()
        for attempt in itertools.count():
            if background:
                slot = await self._background_turn(key)
            else:
                slot = await self._live_slot(key)
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
        return waited, slot

    async def _sync_clock(self) -> None:
        """Read the database's clock SYNC_READS times before the first booking (see the module
        doc): the first reading opens the connection, the later ones find it warm."""
        assert self._read_now is not None
        if self._syncing is None:
            self._syncing = asyncio.Lock()
        async with self._syncing:
            for _ in range(SYNC_READS if not self._synced else 0):
                sent = time.monotonic()
                database_now = await self._read_now()
                self.clock.observe(sent, time.monotonic(), database_now)
            self._synced = True

    def _slots(self, key: str) -> _ClientSlots:
        slots = self._clients.get(key)
        if slots is None:
            # The first booking's lead: a round trip as the clock's readings measured it.
            trip = self.clock.trip if math.isfinite(self.clock.trip) else 0.0
            slots = self._clients[key] = _ClientSlots(round_trip=trip, way_back=trip / 2)
        return slots

    async def _live_slot(self, key: str) -> float:
        """The next slot (monotonic): one this process holds for background work that comes within
        about a booking's round trip (`_held_slot`), or else booked at once, or a held one that
        still comes before the booking lands. Live reads that arrive while a booking is under way
        wait for it to land and then share one statement of consecutive slots: under load one
        database write books for many requests, not one each."""
        slots = self._slots(key)
        if (held := self._held_slot(slots, until=time.monotonic() + slots.round_trip)) is not None:
            return held
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[float] = loop.create_future()
        slots.live_waiting.append(waiter)
        if slots.live_booker is None:
            slots.live_booker = loop.create_task(self._book_live(key, slots))
        self._take_held_before_booking(slots, waiter)
        return await waiter

    def _take_held_before_booking(self, slots: _ClientSlots, waiter: asyncio.Future[float]) -> None:
        """Should a slot held here come before `waiter`'s booking lands (a statement held up on a busy
        machine), the request starts on it: its booked slot then goes to another (`_book_live`)."""
        first = self._held_slot(slots, take=False)
        if first is None:
            return
        loop = asyncio.get_running_loop()

        def offer() -> None:
            if waiter.done():
                return
            now = time.monotonic()
            if (held := self._held_slot(slots, until=now + 2 * HELD_TAKE_AHEAD)) is not None:
                waiter.set_result(held)
            else:  # taken meanwhile: watch for the next one
                self._take_held_before_booking(slots, waiter)

        watch = loop.call_later(max(0.0, first - HELD_TAKE_AHEAD - time.monotonic()), offer)
        waiter.add_done_callback(lambda _: watch.cancel())

    async def _book_live(self, key: str, slots: _ClientSlots) -> None:
        """Book for the live reads queued, batch after batch, until none is left."""
        try:
            while slots.live_waiting:
                batch, slots.live_waiting = slots.live_waiting, []
                batch = [waiter for waiter in batch if not waiter.done()]  # cancelled, or served
                if not batch:
                    continue
                slots.live_batch, slots.live_answer = batch, time.monotonic() + slots.round_trip
                try:
                    first = await self._booked(key, None, len(batch), self.allowance)
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
                    else:  # served by a background booking meanwhile (or cancelled): another takes it
                        self._hand_out(slots, first + self.interval * n)
        finally:
            slots.live_booker = None
            slots.live_batch = []

    async def _booked(self, key: str, within: float | None, count: int, allowance: float = 0.0) -> float | None:
        """One booking statement: the first slot booked (monotonic), or None when refused; also
        remembers when the next free slot comes and how long the statement took."""
        slots = self._slots(key)
        sent = time.monotonic()
        first, next_free, database_now = await self._book(
            key, self.interval, within, count, self._lead(slots), allowance
        )
        received = time.monotonic()
        BOOKINGS.labels(priority="live" if within is None else "background").observe(received - sent)
        self.clock.observe(sent, received, database_now)
        slots.free_at = self.clock.local(database_now + next_free)
        slots.round_trip = max(received - sent, slots.round_trip * 0.8)
        back = min(received - sent, max(0.0, received - self.clock.local(database_now)))
        slots.way_back = max(back, slots.way_back * 0.8)
        return None if first is None else self.clock.local(database_now + first)

    def _held_slot(self, slots: _ClientSlots, *, until: float = math.inf, take: bool = True) -> float | None:
        """The earliest slot, up to `until`, this process holds for background work that a request
        could still start on: a spare one, or one handed to a read that has not started (its read
        then goes back to the front of the queue, `_background_turn`). None when there is none.
        With `take`, it is this request's now: it passes from the read to the live request, or from
        the spare ones, and stays one slot.

        No database round trip. A live request takes one only when it comes within about a round
        trip (`_live_slot`): further off, a booking, which may start up to `allowance` before the
        cursor, was often sooner (a buyer waited 7-8 ms at p99 for held slots where a booking took
        0.5 ms), and the held slot stays the buyer's to take should it still come first."""
        soonest = time.monotonic() - self.tolerance  # sooner is too late to start on (`acquire`)
        spare = next((slot for slot in slots.spare if soonest <= slot <= until), None)
        hold = min(
            (hold for hold in slots.held if soonest <= hold.slot <= until), key=lambda hold: hold.slot, default=None
        )
        if hold is not None and (spare is None or hold.slot <= spare):
            if take:
                hold.taken = True
                slots.held.discard(hold)
            return hold.slot
        if spare is not None and take:
            slots.spare.remove(spare)
        return spare

    async def _background_turn(self, key: str) -> float:
        """Wait for a background slot and until it comes; returns it (monotonic). A live request
        may take the slot until then: the read learns it when it wakes, does not start, and goes
        back to the front of the queue for the next slot."""
        slots = self._slots(key)
        front = False
        while True:
            hold = await self._background_slot(key, slots, front=front)
            try:
                if not hold.taken and (delay := hold.slot - time.monotonic()) > 0:
                    await self._sleep(delay)
            finally:
                slots.held.discard(hold)  # started (or cancelled): no longer anyone else's to take
            if not hold.taken:
                return hold.slot
            front = True

    async def _background_slot(self, key: str, slots: _ClientSlots, *, front: bool) -> _Hold:
        """A background slot, held for the read until it starts: a spare one booked earlier, or
        one the client id's booker hands over when it has booked it."""
        if slots.spare:
            hold = _Hold(slots.spare.popleft())
            slots.held.add(hold)
            return hold
        waiter: asyncio.Future[_Hold] = asyncio.get_running_loop().create_future()
        if front:
            slots.waiting.appendleft(waiter)
        else:
            slots.waiting.append(waiter)
        if slots.booker is None:
            slots.booker = asyncio.get_running_loop().create_task(self._book_background(key, slots))
        try:
            return await waiter
        except asyncio.CancelledError:
            # Cancelled after the booker handed it a slot: the slot is left unused, as before.
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                slots.held.discard(waiter.result())
            raise

    async def _book_background(self, key: str, slots: _ClientSlots) -> None:
        """Book for the queued background reads until none is left: sleep until the next free slot
        is nearly within the window, book a batch, hand each slot to the read first in line.

        Only the reads that got a slot wake (one loop pass each): waking the whole queue after
        every booking cost a pass per queued read, and on a busy loop that made every read late
        for its slot, so it gave the slot up and booked again, forever."""
        try:
            while self._pending(slots):
                # Land (half a round trip after sending) with the next free slot AIM × lookahead
                # beyond the lead: inside the window, and before the slot has passed.
                ahead = self._lead(slots) + self.lookahead * AIM + slots.round_trip / 2
                pause = slots.free_at - ahead - time.monotonic()
                if pause > 0:
                    await self._sleep(pause)
                    continue  # reads may have gone meanwhile
                count = max(1, min(self._batch(slots), self._pending(slots)))
                try:
                    first = await self._booked(key, self.lookahead, count)
                except Exception as exc:  # the database: the reads queued fail with it
                    while slots.waiting:
                        if not (waiter := slots.waiting.popleft()).done():
                            waiter.set_exception(exc)
                    continue
                if first is None:
                    continue
                for n in range(count):
                    self._hand_out(slots, first + self.interval * n)
        except BaseException:  # shutdown
            while slots.waiting:
                slots.waiting.popleft().cancel()
            raise
        finally:
            slots.booker = None

    def _hand_out(self, slots: _ClientSlots, slot: float) -> None:
        """A booked slot to the first live request still waiting for its own booking (which then
        goes to another, so none is lost), else to the read first in line, held for it until it
        starts (a live request may take it until then), else kept spare, in order."""
        own = max(slots.live_answer, slots.free_at - self.allowance)  # about when their own booking's slot comes
        if slot <= own:
            for waiter in itertools.chain(slots.live_batch, slots.live_waiting):
                if not waiter.done():
                    waiter.set_result(slot)
                    return
        while slots.waiting and slots.waiting[0].done():  # a cancelled read
            slots.waiting.popleft()
        if slots.waiting:
            hold = _Hold(slot)
            slots.held.add(hold)
            slots.waiting.popleft().set_result(hold)
        else:
            bisect.insort(slots.spare, slot)

    @staticmethod
    def _pending(slots: _ClientSlots) -> int:
        """Background reads still waiting for a slot."""
        return sum(1 for waiter in slots.waiting if not waiter.done())

    @staticmethod
    def _lead(slots: _ClientSlots) -> float:
        """No slot sooner than the answer's way back from the database's now: the answer would
        arrive after it and the request start late. "Free now" for a background booking means free
        within the lookahead after that.

        The way back, not the whole round trip: the way there (a pooled connection, the loop's lag
        before the send) is over when the database sets its now. A lead of the whole round trip
        kept the background's cursor that much ahead of now, and a buyer's request, which may come
        only one interval before the cursor, waited that long (20-100 ms at the scale bench)."""
        return min(slots.way_back, MAX_LEAD_SECONDS)

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
        self.key = key
        self.background = background

    async def acquire(self) -> float:
        return await self._limiter.acquire(self.key, background=self.background)

    async def acquire_slot(self) -> Slot:
        return await self._limiter.acquire_slot(self.key, background=self.background)


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

"""The older garbage-collector generations are collected at quiet moments, not mid-request.

A collection of CPython's older generations scans every object they hold; under load those are the
objects of every request in flight (hundreds each), so at 32 in flight one such pause took 15–70 ms,
and every one of those requests waited on it. Here only the youngest generation is collected
automatically (it holds what the last few hundred allocations left: about a millisecond). An older
one, once it is due by CPython's default ratios, is collected as soon as its scan fits the pause
budget (`busy_scan_limit` objects, a few milliseconds) or no request is in flight (then up to
`quiet_scan_limit`: only a request arriving meanwhile waits on the rest): right after the last open
request ends, or at a check every second. A process that never quiets and always holds more than
the budget collects anyway every `force_after_seconds`, which bounds what cyclic garbage can hold.

Nothing here assumes a number of generations: it takes as many as `gc.get_threshold()` returns
(three up to Python 3.13; 3.14's incremental collector keeps the three-tuple but has two), and it
counts collections itself through `gc.callbacks` rather than reading `gc.get_count()`, whose
meaning changed with the incremental collector.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import structlog
from starlette.types import ASGIApp, Receive, Scope, Send

log = structlog.get_logger(__name__)

NEVER = 1 << 30  # an automatic-collection threshold that is never reached


def generations() -> int:
    """How many generations this interpreter's collector reports."""
    return len(gc.get_threshold())


def deferred_thresholds(saved: tuple[int, ...]) -> tuple[int, ...]:
    """The young threshold as it was, every older one out of reach."""
    return (saved[0], *([NEVER] * (len(saved) - 1)))


@dataclass
class QuietCollector:
    """Counts the requests in flight and runs the older collections when there are none."""

    # The most objects an older collection may scan (about 0.5–1 µs each) while requests are in
    # flight, and when none is.
    busy_scan_limit: int = 8_000
    quiet_scan_limit: int = 30_000
    # CPython's own default ratios: an older collection per 10 young ones, a full one per 10 older ones.
    young_per_older: int = 10
    older_per_full: int = 10
    check_every_seconds: float = 1.0
    force_after_seconds: float = 60.0
    in_flight: int = 0
    clock: Callable[[], float] = time.monotonic
    _last_older: float = field(default_factory=time.monotonic)
    _deferred_until: float = 0.0
    _refused_limit: int = 0
    _refusals: int = 0
    _saved_thresholds: tuple[int, ...] | None = None
    _users: int = 0
    # _since[g]: collections of generation g-1 since the last one of generation g or older (g ≥ 1).
    _since: list[int] = field(default_factory=lambda: [0] * generations())

    # ----------------------------------------------------------------------------- requests

    def request_started(self) -> None:
        self.in_flight += 1

    def request_ended(self) -> None:
        self.in_flight -= 1
        if self.in_flight == 0 and self._saved_thresholds is not None:
            # After the response's last send, behind whatever else is ready (a request that has
            # just arrived counts as in flight by then, and the collection waits for it).
            asyncio.get_running_loop().call_soon(self.collect_if_cheap)

    # ----------------------------------------------------------------------------- counting

    @contextlib.contextmanager
    def counting(self) -> Iterator[None]:
        """Count every collection of the process (anyone's) while the block runs."""
        self._start_counting()
        try:
            yield
        finally:
            self._stop_counting()

    def _start_counting(self) -> None:
        self._since = [0] * generations()
        gc.callbacks.append(self._count)

    def _stop_counting(self) -> None:
        if self._count in gc.callbacks:
            gc.callbacks.remove(self._count)

    def _count(self, phase: str, info: dict[str, Any]) -> None:
        if phase != "stop":
            return
        collected = min(int(info.get("generation", 0)), len(self._since) - 1)
        for younger in range(1, collected + 1):
            self._since[younger] = 0
        if collected + 1 < len(self._since):
            self._since[collected + 1] += 1

    # ----------------------------------------------------------------------------- collecting

    def due_generation(self) -> int | None:
        """The oldest generation CPython's default ratios would have collected by now, if any."""
        for generation in range(len(self._since) - 1, 0, -1):
            ratio = self.young_per_older if generation == 1 else self.older_per_full
            if self._since[generation] >= ratio:
                return generation
        return None

    def collect_if_cheap(self) -> int | None:
        """Collect the due older generation if its scan fits the budget for the requests in
        flight now; the generation collected, or None."""
        generation = self.due_generation()
        if generation is None:
            return None
        now = self.clock()
        limit = self.busy_scan_limit if self.in_flight else self.quiet_scan_limit
        if now < self._deferred_until and limit <= self._refused_limit:
            return None
        if self._objects_to_scan(generation) > limit:
            # Requests or background work hold many objects alive; look again a little later (or
            # at once with a larger budget), not after every request: counting them costs a
            # fraction of the collection itself. Under load that stays, each refusal doubles the
            # wait, up to the periodic check.
            wait = min(self.check_every_seconds, self.check_every_seconds / 10 * 2**self._refusals)
            self._deferred_until = now + wait
            self._refused_limit = limit
            self._refusals += 1
            return None
        return self._collect(generation, now)

    def collect_if_overdue(self) -> int | None:
        """Collect the due older generation whatever it costs once none ran for `force_after_seconds`."""
        generation = self.due_generation()
        now = self.clock()
        if generation is None or now - self._last_older < self.force_after_seconds:
            return None
        log.info("gc_forced", generation=generation, in_flight=self.in_flight)
        return self._collect(generation, now)

    def _objects_to_scan(self, generation: int) -> int:
        return sum(len(gc.get_objects(generation=g)) for g in range(generation + 1))

    def _collect(self, generation: int, now: float) -> int:
        gc.collect(generation)
        self._last_older = now
        self._refusals = 0
        return generation

    # ----------------------------------------------------------------------------- lifetime

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Young collections stay automatic, older ones are left to this collector meanwhile
        (overlapping uses, such as several apps in one process, share it)."""
        if self._users == 0:
            self._start_counting()
            self._saved_thresholds = gc.get_threshold()
            gc.set_threshold(*deferred_thresholds(self._saved_thresholds))
            self._last_older = self.clock()
        self._users += 1
        checker = asyncio.get_running_loop().create_task(self._check_periodically(), name="quiet-gc")
        try:
            yield
        finally:
            checker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await checker
            self._users -= 1
            if self._users == 0 and self._saved_thresholds is not None:
                gc.set_threshold(*self._saved_thresholds)
                self._saved_thresholds = None
                self._stop_counting()

    async def _check_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.check_every_seconds)
            if self.collect_if_cheap() is None:
                self.collect_if_overdue()


class RequestCounter:
    """Anything told when a request starts and ends (the collector, or a bench's own counter)."""

    in_flight: int = 0

    def request_started(self) -> None:
        self.in_flight += 1

    def request_ended(self) -> None:
        self.in_flight -= 1


class CountRequestsInFlight:
    """ASGI middleware telling a counter when requests start and end (background tasks that
    run after the response, such as a notification's re-read, count as part of their request)."""

    def __init__(self, app: ASGIApp, collector: QuietCollector | RequestCounter) -> None:
        self.app = app
        self.collector = collector

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.collector.request_started()
        try:
            await self.app(scope, receive, send)
        finally:
            self.collector.request_ended()

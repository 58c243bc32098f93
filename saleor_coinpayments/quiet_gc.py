"""The older garbage-collector generations are collected at quiet moments, not mid-request.

A collection of CPython's older generations scans every object they hold; under load those are the
objects of every request in flight (hundreds each), so at 32 in flight one such pause took 15–70 ms,
and every one of those requests waited on it. Here only the youngest generation is collected
automatically (it holds what the last few hundred allocations left: about a millisecond). An older
one, once CPython's own thresholds say it is due, is collected as soon as its scan fits the pause
budget (`busy_scan_limit` objects, a few milliseconds) or no request is in flight (then up to
`quiet_scan_limit`: only a request arriving meanwhile waits on the rest): right after the last open
request ends, or at a check every second. A process that never quiets and always holds more than
the budget collects anyway every `force_after_seconds`, which bounds what cyclic garbage can hold.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import structlog
from starlette.types import ASGIApp, Receive, Scope, Send

log = structlog.get_logger(__name__)

NEVER = 1 << 30  # an automatic-collection threshold that is never reached


@dataclass
class QuietCollector:
    """Counts the requests in flight and runs the older collections when there are none."""

    # The most objects an older collection may scan (about 0.5–1 µs each) while requests are in
    # flight, and when none is.
    busy_scan_limit: int = 8_000
    quiet_scan_limit: int = 30_000
    # CPython's own ratios: an older collection per 10 young ones, a full one per 10 older ones.
    young_per_older: int = 10
    older_per_full: int = 10
    check_every_seconds: float = 1.0
    force_after_seconds: float = 60.0
    in_flight: int = 0
    _last_older: float = field(default_factory=time.monotonic)
    _deferred_until: float = 0.0
    _refused_limit: int = 0
    _saved_thresholds: tuple[int, int, int] | None = None
    _users: int = 0

    # ----------------------------------------------------------------------------- requests

    def request_started(self) -> None:
        self.in_flight += 1

    def request_ended(self) -> None:
        self.in_flight -= 1
        if self.in_flight == 0 and self._saved_thresholds is not None:
            # After the response's last send, behind whatever else is ready (a request that has
            # just arrived counts as in flight by then, and the collection waits for it).
            asyncio.get_running_loop().call_soon(self.collect_if_cheap)

    # ----------------------------------------------------------------------------- collecting

    def due_generation(self) -> int | None:
        """The older generation CPython's own thresholds would have collected by now, if any."""
        _young, young_since_older, older_since_full = gc.get_count()
        if older_since_full >= self.older_per_full:
            return 2
        if young_since_older >= self.young_per_older:
            return 1
        return None

    def collect_if_cheap(self) -> int | None:
        """Collect the due older generation if its scan fits the budget for the requests in
        flight now; the generation collected, or None."""
        generation = self.due_generation()
        if generation is None:
            return None
        now = time.monotonic()
        limit = self.busy_scan_limit if self.in_flight else self.quiet_scan_limit
        if now < self._deferred_until and limit <= self._refused_limit:
            return None
        if self._objects_to_scan(generation) > limit:
            # Requests or background work hold many objects alive; look again a little later (or
            # at once with a larger budget), not after every request: counting them costs a
            # fraction of the collection itself.
            self._deferred_until = now + self.check_every_seconds / 10
            self._refused_limit = limit
            return None
        return self._collect(generation, now)

    def collect_if_overdue(self) -> int | None:
        """Collect the due older generation whatever it costs once none ran for `force_after_seconds`."""
        generation = self.due_generation()
        now = time.monotonic()
        if generation is None or now - self._last_older < self.force_after_seconds:
            return None
        log.info("gc_forced", generation=generation, in_flight=self.in_flight)
        return self._collect(generation, now)

    def _objects_to_scan(self, generation: int) -> int:
        return sum(len(gc.get_objects(generation=g)) for g in range(generation + 1))

    def _collect(self, generation: int, now: float) -> int:
        gc.collect(generation)
        self._last_older = now
        return generation

    # ----------------------------------------------------------------------------- lifetime

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Young collections stay automatic, older ones are left to this collector meanwhile
        (nested uses, such as several apps in one test process, share it)."""
        if self._users == 0:
            self._saved_thresholds = gc.get_threshold()
            gc.set_threshold(self._saved_thresholds[0], NEVER, NEVER)
            self._last_older = time.monotonic()
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

    async def _check_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.check_every_seconds)
            if self.collect_if_cheap() is None:
                self.collect_if_overdue()


COLLECTOR = QuietCollector()


class CountRequestsInFlight:
    """ASGI middleware telling the collector when requests start and end (background tasks that
    run after the response, such as a notification's re-read, count as part of their request)."""

    def __init__(self, app: ASGIApp, collector: QuietCollector = COLLECTOR) -> None:
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

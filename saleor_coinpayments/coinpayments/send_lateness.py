"""How late each CoinPayments request's bytes went out after its rate-limit slot (Prometheus).

The limit holds only while a request reaches CoinPayments within LATE_START_SECONDS +
SEND_JITTER_SECONDS of its slot (ratelimit.py's module doc). The limiter enforces the late start;
the rest, from the start to the socket (the wait for a pooled connection, other tasks on the event
loop), is assumed. This measures it: the moment httpcore has written the request's headers (its
public `trace` request extension, event `…send_request_headers.complete`) minus the slot. A send
later than the margin counts in SENDS_PAST_MARGIN: arrivals above the limit at CoinPayments with
none of these counted point at the network or at CoinPayments' side (the simulator's own loop), not
at this process.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import Counter, Histogram

from .ratelimit import LATE_START_SECONDS, SEND_JITTER_SECONDS, Slot

MARGIN_SECONDS = LATE_START_SECONDS + SEND_JITTER_SECONDS

SEND_LATENESS = Histogram(
    "coinpayments_send_lateness_seconds",
    "From a CoinPayments request's rate-limit slot until its headers were written to the socket, by priority",
    ["priority"],
    # Fine around the late start (20 ms) and the margin (60 ms).
    buckets=(0.001, 0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.1, 0.15, 0.25, 0.5, 1),
)

SENDS_PAST_MARGIN = Counter(
    "coinpayments_sends_past_margin_total",
    "CoinPayments requests whose headers went out later after their slot than the limiter's margin"
    " (LATE_START_SECONDS + SEND_JITTER_SECONDS): each may be counted in a second it was not booked in",
    ["priority"],
)

HEADERS_SENT = "send_request_headers.complete"  # http11.… and http2.… alike

Trace = Callable[[str, dict[str, Any]], Awaitable[None]]


def observe(slot: Slot, sent: float) -> float:
    """Record one send at `sent` (time.monotonic); returns its lateness."""
    lateness = max(0.0, sent - slot.at)
    SEND_LATENESS.labels(priority=slot.priority).observe(lateness)
    if lateness > MARGIN_SECONDS:
        SENDS_PAST_MARGIN.labels(priority=slot.priority).inc()
    return lateness


def tracer(slot: Slot) -> Trace:
    """An httpx `trace` extension that records the request's lateness when its headers are written
    (once: a request sent again on a fresh connection counts its first write)."""
    recorded = False

    async def trace(event: str, info: dict[str, Any]) -> None:
        nonlocal recorded
        if not recorded and event.endswith(HEADERS_SENT):
            recorded = True
            observe(slot, time.monotonic())

    return trace

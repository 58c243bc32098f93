"""Next to the most requests in any sliding second: which side was late, if any (issue 24).

More than the limit counted at the simulator has two candidate causes: a replica sent its request
later after its slot than the limiter's margin (`coinpayments_sends_past_margin_total` on its
/metrics), or the simulator's own event loop stalled and stamped arrivals held in the socket
together (`loopLag` of `GET /__sim/api-rate`, reset with the meter). The benches print both.
"""

from __future__ import annotations

import contextlib

import httpx

from bench.world import BenchWorld

COUNTER = "coinpayments_sends_past_margin_total{"


def sends_past_margin(base_url: str) -> float:
    """The replica's sends past the margin since it started, all priorities (0 if unreadable)."""
    total = 0.0
    with contextlib.suppress(httpx.HTTPError):
        for line in httpx.get(f"{base_url}/metrics", timeout=10).text.splitlines():
            if line.startswith(COUNTER):
                total += float(line.rsplit(" ", 1)[1])
    return total


class MarginTally:
    """Sends past the margin summed over replicas from `start` on, replicas that stop included
    (`leaving` reads one before it goes: its counter goes with it)."""

    def __init__(self) -> None:
        self._base: dict[str, float] = {}
        self._gone = 0.0

    def start(self, base_urls: list[str]) -> None:
        self._base = {url: sends_past_margin(url) for url in base_urls}
        self._gone = 0.0

    def leaving(self, base_url: str) -> None:
        self._gone += sends_past_margin(base_url) - self._base.pop(base_url, 0.0)

    def total(self, base_urls: list[str]) -> float:
        return self._gone + sum(sends_past_margin(url) - self._base.get(url, 0.0) for url in base_urls)


def note(world: BenchWorld, tally: MarginTally, base_urls: list[str]) -> str:
    """One line's tail: the simulator's loop lag and the replicas' late sends over the same time."""
    lag = world.sim.control("GET", "/api-rate").get("loopLag", {})
    return (
        f"the simulator's event loop lagged at most {lag.get('maxMs', '?')} ms"
        f" ({lag.get('over50ms', '?')} times over 50 ms); sends later than the 60 ms margin after their slot,"
        f" all replicas: {tally.total(base_urls):.0f}"
    )

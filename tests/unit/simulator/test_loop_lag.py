"""The simulator's loop-lag monitor: how late its event loop woke, reported with the rate meter."""

from __future__ import annotations

import time

import httpx
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from saleor_coinpayments.simulator import create_simulator_app
from saleor_coinpayments.simulator.loop_lag import PERIOD_SECONDS, LoopLag
from tests.helpers.servers import serve_asgi
from tests.helpers.waiting import eventually


class FakeTime:
    """A clock and a sleep that overruns by the next of `overruns`."""

    def __init__(self, overruns: list[float]) -> None:
        self.now = 100.0
        self.overruns = overruns

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds + self.overruns.pop(0)


@pytest.mark.asyncio
async def test_the_largest_overrun_and_the_stalls_over_50_ms_are_kept() -> None:
    fake = FakeTime([0.001, 0.075, 0.004, 0.051, 0.0])
    lag = LoopLag(fake.clock, fake.sleep)
    for _ in range(5):
        await lag.step()
    assert lag.to_json() == {"maxMs": 75, "over50ms": 2, "samples": 5}
    lag.reset()
    assert lag.to_json() == {"maxMs": 0, "over50ms": 0, "samples": 0}


def _with_a_blocking_route(app: ASGIApp) -> ASGIApp:
    """The simulator, plus `POST /__test/block`, which blocks its event loop for 200 ms."""

    async def wrapper(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/__test/block":
            time.sleep(0.2)  # noqa: ASYNC251 - the point: block the simulator's own event loop, as a slow handler would
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        await app(scope, receive, send)

    return wrapper


def test_a_stalled_simulator_loop_shows_in_api_rate_until_reset() -> None:
    simulator = create_simulator_app({"c": "s"}, tick_interval=None)
    with serve_asgi(_with_a_blocking_route(simulator)) as url, httpx.Client(base_url=url) as sim:
        assert sim.delete("/__sim/api-rate").json()["loopLag"]["over50ms"] == 0
        assert sim.post("/__test/block").status_code == 204
        lag = eventually(lambda: (lag := sim.get("/__sim/api-rate").json()["loopLag"])["over50ms"] and lag)
        assert lag["maxMs"] >= (0.2 - PERIOD_SECONDS) * 1000
        assert lag["samples"] >= 1
        after = sim.delete("/__sim/api-rate").json()["loopLag"]
        assert after["over50ms"] == 0
        assert after["maxMs"] < (0.2 - PERIOD_SECONDS) * 1000

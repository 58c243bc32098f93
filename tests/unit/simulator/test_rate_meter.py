"""The simulator's rate meter: the most requests of one client within any one second."""

from __future__ import annotations

from saleor_coinpayments.simulator.rate_meter import RateMeter


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_sliding_second_per_client_and_429s() -> None:
    clock = Clock()
    meter = RateMeter(clock)
    for step in range(10):  # 10 requests 0.1 s apart: 10 within one second
        clock.now = 100.0 + step * 0.1
        meter.arrived("a")
    clock.now = 101.05  # the first is now more than a second old
    meter.arrived("a")
    meter.arrived("b")
    meter.answered("a", 429)
    meter.answered("a", 200)
    clients = meter.to_json()["clients"]
    assert clients["a"] == {"requests": 11, "maxPerSecond": 10, "rateLimited": 1}
    assert clients["b"] == {"requests": 1, "maxPerSecond": 1, "rateLimited": 0}
    for _ in range(3):  # a burst at one moment counts whole
        meter.arrived("a")
    assert meter.to_json()["clients"]["a"]["maxPerSecond"] == 13  # 100.1 … 100.9, then four at 101.05
    meter.reset()
    assert meter.to_json() == {"clients": {}}

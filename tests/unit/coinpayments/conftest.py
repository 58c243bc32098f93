"""Fixtures for the CoinPayments unit tests."""

from __future__ import annotations

import time
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from saleor_coinpayments.coinpayments import ratelimit
from tests.unit.coinpayments.virtual_time import VirtualTimeLoop


@pytest.fixture
def local_zone_not_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run with the process's local time zone at UTC+05:30, as on a server set to India time.

    Code that means UTC must say so: with a local zone of UTC any silent use of local time
    would go unnoticed.
    """
    monkeypatch.setenv("TZ", "IST-5:30")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def loop(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[VirtualTimeLoop]:
    """A virtual-time event loop whose clock the rate limiter reads too: seconds of slots run in
    milliseconds, and every figure is exact. Parametrized indirectly, the value is the CPU cost the
    loop charges per step (a busy event loop)."""
    loop = VirtualTimeLoop(step_cost=getattr(request, "param", 0.0))
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(monotonic=loop.time))
    yield loop
    loop.close()

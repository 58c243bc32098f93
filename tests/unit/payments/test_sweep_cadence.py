"""Sweeps start SWEEP_*_SECONDS apart, however long one takes (payments/sweep.py `run_every`), with a
fake clock: a checkout whose notification was lost is found within one interval, not one interval
plus the sweep's own calls (five List calls at CoinPayments' pace, each after a background slot)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

import pytest

from saleor_coinpayments.context import AppContext
from saleor_coinpayments.payments import sweep
from saleor_coinpayments.payments.sweep import LEASE_MARGIN, SweepOutcome, lease_until


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.starts: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        if len(self.starts) >= 4:
            raise asyncio.CancelledError
        self.now += seconds


@pytest.mark.asyncio
@pytest.mark.parametrize("takes", [0.0, 4.0, 14.0, 20.0])
async def test_sweeps_start_one_interval_apart_whatever_a_sweep_takes(
    monkeypatch: pytest.MonkeyPatch, takes: float
) -> None:
    clock = FakeClock()
    leases: list[tuple[datetime, datetime]] = []

    async def take_lease(_db: Any, _name: str, _holder: str, now: datetime, until: datetime) -> bool:
        leases.append((now, until))
        return True

    async def run() -> SweepOutcome:
        clock.starts.append(clock.now)
        clock.now += takes  # the sweep's own calls
        return SweepOutcome(5, 0)

    monkeypatch.setattr(sweep, "take_lease", take_lease)
    ctx = cast(AppContext, SimpleNamespace(db=None))
    with pytest.raises(asyncio.CancelledError):
        await sweep.run_every(ctx, "recent", 15.0, run, sleep=clock.sleep, clock=clock)

    gaps = [later - earlier for earlier, later in zip(clock.starts, clock.starts[1:], strict=False)]
    assert gaps == [max(15.0, takes)] * 3
    assert all(until - now == timedelta(seconds=15) - LEASE_MARGIN for now, until in leases)


def test_a_sweeps_lease_lapses_before_its_holders_next_start() -> None:
    now = datetime(2026, 12, 7, 12, 0, 0)
    assert lease_until(now, 15.0) == now + timedelta(seconds=14)  # the next start, 15 s on, finds it free
    assert lease_until(now, 300.0) == now + timedelta(seconds=299)
    assert lease_until(now, 2.0) == now + timedelta(seconds=1.8)  # a short interval keeps most of its lease

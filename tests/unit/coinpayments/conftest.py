"""Fixtures for the CoinPayments unit tests."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest


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

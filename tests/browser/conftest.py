"""Fixtures of the buyer-side browser tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.e2e.world import World, configure, running_world


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    """Fake Saleor, simulator and app, with the channel set to the app's own pay page; every poll
    re-reads (no freshness window), so the page follows the simulator without waiting."""
    with running_world(database_url, tmp_path, process_refresh_min_seconds=0) as running:
        configure(running.app.settings.database_url, running.saleor.api_url, running.sim, checkout_page="app")
        yield running

"""ConfigurationService directly: the clock verdict, and webhooks registered once CoinPayments is back."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from saleor_coinpayments.configuration import validation as v
from saleor_coinpayments.configuration.service import ConfigurationService, NotFound, Saved
from saleor_coinpayments.context import AppContext, app_context
from saleor_coinpayments.store.installations import InstallationRecord, InstallationRepository
from saleor_coinpayments.store.types import utcnow
from tests.helpers.app_server import app_settings
from tests.integration.dashboard.conftest import CLIENT_ID, SECRET, Simulator


async def _installation(ctx: AppContext) -> InstallationRecord:
    async with ctx.db.session() as session:
        return await InstallationRepository(session, ctx.box).save(
            "http://127.0.0.1:9/graphql/", "QXBwOjE=", "app-token", {"keys": []}
        )


@pytest.mark.asyncio
async def test_a_clock_two_minutes_fast_is_named_as_the_cause(
    database_url: str, tmp_path: Path, simulator: Simulator
) -> None:
    settings = app_settings(database_url, tmp_path, 8000, coinpayments_api_url=simulator.base_url)

    def fast_clock() -> datetime:
        return utcnow() + timedelta(minutes=2)

    async with app_context(settings) as ctx:
        installation = await _installation(ctx)
        service = ConfigurationService(ctx, now=fast_clock)
        saved = await service.save(
            installation, v.ConfigurationInput(name="Main", client_id=CLIENT_ID, client_secret=SECRET)
        )
        assert isinstance(saved, Saved)
        assert (saved.check.ok, saved.check.code) == (False, "clock_skew")
        seconds = re.search(r"clock is (\d+) s ahead of CoinPayments", saved.check.message)
        assert seconds is not None, saved.check.message
        # `Date` has whole seconds, and our clock is read when the answer arrives: a slow round trip on a
        # loaded machine adds to the measured skew, never takes from it.
        assert 118 <= int(seconds.group(1)) <= 135
        assert saved.configuration.notifications_registered is False

        # With a correct clock, the same stored configuration works.
        checked = await ConfigurationService(ctx).test_connection(installation, saved.configuration.id)
        assert not isinstance(checked, NotFound)
        assert checked.check.ok is True


@pytest.mark.asyncio
async def test_saved_while_coinpayments_is_down_then_registered_by_ensure_notifications(
    database_url: str, tmp_path: Path, simulator: Simulator
) -> None:
    settings = app_settings(database_url, tmp_path, 8000, coinpayments_api_url=simulator.base_url)
    async with app_context(settings) as ctx:
        installation = await _installation(ctx)
        service = ConfigurationService(ctx)
        async with httpx.AsyncClient() as http:
            await http.post(f"{simulator.base_url}/__sim/faults", json={"failNext": 50, "failStatus": 503})
            saved = await service.save(
                installation,
                v.ConfigurationInput(name="Main", client_id=CLIENT_ID, client_secret=SECRET),
            )
            assert isinstance(saved, Saved)
            assert saved.check.ok is False
            assert saved.configuration.name == "Main"  # saved all the same
            assert saved.configuration.notifications_registered is False
            assert await service.ensure_notifications() == 0

            await http.delete(f"{simulator.base_url}/__sim/faults")
        assert await service.ensure_notifications() == 1
        [view] = await service.configurations(installation)
        assert view.notifications_registered is True
        assert view.last_check_ok is True
        assert (await simulator.webhooks_async())[0].notifications_url == view.notification_url

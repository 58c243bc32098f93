"""Issue #10: notifications of one invoice that arrive while its re-read waits on CoinPayments share
the next re-read (one read, not one each), and every one of them is marked handled by a read that
began after it arrived.

CoinPayments is held with the simulator's response latency until the test lets the answers go, so
the test orders events instead of timing them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from saleor_coinpayments.coinpayments.signing import signed_headers
from saleor_coinpayments.urls import coinpayments_notification_path
from tests.integration.e2e.world import World, eventually, running_world

HELD = 600_000  # ms: "CoinPayments has not answered yet" until the test lowers it


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    # The reconciler stays away: no scheduled read of a fresh invoice within the test.
    settings = {"reconcile_interval_seconds": 3600.0, "schedule_fresh_seconds": 3600.0}
    with running_world(database_url, tmp_path, **settings) as running:
        yield running


def _notify(world: World, invoice_id: str) -> str:
    """A signed `InvoicePending` notification for the invoice, as CoinPayments sends one; its id."""
    url = world.app.base_url + coinpayments_notification_path(world.configuration_id)
    notification_id = uuid.uuid4().hex
    body = json.dumps(
        {
            "id": notification_id,
            "type": "InvoicePending",
            "timestamp": datetime.now(UTC).isoformat(),
            "invoice": {"id": invoice_id, "state": "Pending"},
        }
    ).encode()
    headers = signed_headers(
        method="POST",
        url=url,
        client_id=world.sim.client_id,
        client_secret=world.sim.client_secret,
        body=body,
        now=datetime.now(UTC),
    )
    response = httpx.post(url, content=body, headers={"Content-Type": "application/json", **headers}, timeout=10)
    assert response.status_code == 200, response.text
    assert response.json() == {"received": True, "duplicate": False}
    return notification_id


def _api_requests(world: World) -> dict[str, int]:
    return dict(world.sim.control("GET", "/api-requests"))


def _handled(world: World, invoice_id: str, ids: set[str]) -> dict[str, str | None]:
    return {row.external_id: row.outcome for row in world.notifications(invoice_id) if row.external_id in ids}


def test_notifications_arriving_during_a_reread_share_the_next_one(world: World) -> None:
    world.sim.faults(webhookDrop=1000)  # only the test's notifications reach the app
    started = world.initialize(world.checkout("20.00").id)
    invoice_id = started.event.psp_reference
    world.sim.pay(invoice_id, "full", confirmations=1, currency="1002")

    world.sim.control("PUT", "/settings", {"responseLatencyMs": HELD})
    before = _api_requests(world)
    first = _notify(world, invoice_id)
    eventually(lambda: _api_requests(world)["waiting"] == 1, what="the first re-read reaches CoinPayments")

    # Arriving while that read is under way: it cannot vouch for them, so they wait for the next.
    later = {_notify(world, invoice_id) for _ in range(4)}
    assert _api_requests(world)["waiting"] == 1  # no read of their own was started
    assert all(outcome is None for outcome in _handled(world, invoice_id, later | {first}).values())

    world.sim.control("PUT", "/settings", {"responseLatencyMs": 0})
    handled = eventually(
        lambda: (h := _handled(world, invoice_id, later | {first})) and all(h.values()) and h,
        what="all five notifications handled",
    )
    assert set(handled) == later | {first}
    assert all(outcome == "state pending" for outcome in handled.values())
    # One read for the first, one shared by the four after it: two, not five.
    assert _api_requests(world)["answered"] - before["answered"] == 2

"""Issue #4 "Done when": checkout payments end to end on real servers."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from tests.integration.e2e.world import World, eventually, running_world


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    with running_world(database_url, tmp_path) as running:
        yield running


def test_full_payment(world: World) -> None:
    checkout = world.checkout("20.00")
    started = world.initialize(checkout.id, {"successUrl": "https://shop.example.com/thanks"})
    assert started.event.type == "CHARGE_ACTION_REQUIRED", started.event.message
    invoice_id = started.event.psp_reference
    assert invoice_id
    assert started.data["invoiceId"] == invoice_id
    assert started.data["checkoutUrl"].startswith("http")
    transaction_id = started.transaction.id

    coin = started.data["currencies"][0]["id"]
    world.sim.pay(invoice_id, "full", confirmations=0, currency=coin)
    world.sim.confirm(invoice_id, 1)
    info = eventually(lambda: world.app_events(transaction_id, "INFO"), what="INFO on detection")
    assert info[0].psp_reference == invoice_id

    processed = world.saleor.transaction_process(transaction_id)
    assert processed.event.type == "CHARGE_REQUEST"
    assert processed.event.amount_value == Decimal("20.00")
    assert processed.event.psp_reference == invoice_id
    assert world.saleor.checkout(checkout.id).charge_status == "FULL"

    invoice = world.sim.invoice(invoice_id)
    needed = invoice["payment"]["wallets"][0]["requiredConfirmations"]
    world.sim.confirm(invoice_id, needed)
    success = eventually(lambda: world.app_events(transaction_id, "CHARGE_SUCCESS"), what="CHARGE_SUCCESS")
    assert success[0].amount_value == Decimal("20.00")
    assert success[0].psp_reference == invoice_id
    world.sim.control("POST", f"/invoices/{invoice_id}/complete")
    world.sim.wait_deliveries()
    eventually(lambda: world.sim.invoice(invoice_id)["status"] == "completed", what="completed")
    import time

    time.sleep(1.5)
    assert len(world.events(transaction_id, "CHARGE_SUCCESS")) == 1
    assert len(world.app_events(transaction_id, "INFO")) == 1
    assert world.transaction(transaction_id).money("charged").amount == Decimal("20.00")

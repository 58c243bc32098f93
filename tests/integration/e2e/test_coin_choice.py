"""Issue #9: the buyer picks a coin on an existing invoice with `transactionProcess` (Get Payment
Address), switches coins on the same invoice, and follows the coin through Get Payment Status."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from saleor_coinpayments.store.db import Database
from saleor_coinpayments.store.tables import Payment
from tests.integration.e2e.world import World, eventually, running_world


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    with running_world(database_url, tmp_path, process_refresh_min_seconds=0) as running:
        yield running


def _started(world: World, total: str = "20.00") -> tuple[str, str]:
    """A checkout with an invoice but no coin yet: (transaction id, invoice id)."""
    checkout = world.checkout(total)
    started = world.initialize(checkout.id)
    assert started.event.type == "CHARGE_ACTION_REQUIRED", started.event.message
    assert started.data["payment"] is None
    return started.transaction.id, started.event.psp_reference


def _wallet(world: World, invoice_id: str, currency_id: str) -> dict[str, Any]:
    wallets = world.sim.invoice(invoice_id)["payment"]["wallets"]
    [wallet] = [w for w in wallets if w["currency"] == currency_id]
    assert isinstance(wallet, dict)
    return wallet


def _choose(world: World, transaction_id: str, coin: str) -> Any:
    return world.saleor.transaction_process(transaction_id, data={"paymentCurrency": coin})


def test_choosing_a_coin_gives_its_address_and_exact_amount(world: World) -> None:
    transaction_id, invoice_id = _started(world)
    chosen = _choose(world, transaction_id, "LTCT")
    assert chosen.event.type == "CHARGE_ACTION_REQUIRED", chosen.event.message
    assert chosen.event.psp_reference == invoice_id
    payment = chosen.data["payment"]
    assert payment["currency"] == {"id": "1002", "symbol": "LTCT", "name": payment["currency"]["name"], "decimals": 8}
    wallet = _wallet(world, invoice_id, "1002")
    assert payment["address"] == wallet["address"]
    assert Decimal(payment["amount"]) == Decimal(str(wallet["expected"]))
    assert payment["address"] in payment["uri"]
    assert payment["qrCode"].startswith("data:image/svg+xml")
    assert payment["expiresAt"]
    assert payment["status"] == {
        "detected": "0.00000000",
        "confirmed": "0.00000000",
        "confirmations": 0,
        "requiredConfirmations": 2,
    }
    assert "error" not in chosen.data


def test_switching_coins_stays_on_the_same_invoice(world: World) -> None:
    transaction_id, invoice_id = _started(world)
    first = _choose(world, transaction_id, "LTCT").data["payment"]
    second = _choose(world, transaction_id, "1").data["payment"]  # BTC by its CoinPayments id
    assert second["currency"]["symbol"] == "BTC"
    assert second["address"] != first["address"]
    assert second["address"] == _wallet(world, invoice_id, "1")["address"]
    back = _choose(world, transaction_id, "ltct").data["payment"]
    assert back["address"] == first["address"]
    assert world.sim.list_invoices() == [invoice_id]
    assert len(world.sim.invoice(invoice_id)["payment"]["wallets"]) == 2


@pytest.mark.parametrize(
    ("coin", "code"),
    [("DOGE", "COIN_NOT_ACCEPTED"), ("USD", "COIN_NOT_ACCEPTED"), ("LTC", "COIN_REFUSED")],
)
def test_a_refused_coin_is_explained_and_changes_nothing(world: World, coin: str, code: str) -> None:
    transaction_id, invoice_id = _started(world)
    before = _choose(world, transaction_id, "LTCT").data["payment"]
    refused = _choose(world, transaction_id, coin)
    assert refused.event.type == "CHARGE_ACTION_REQUIRED"
    assert refused.data["error"]["code"] == code
    assert coin.upper() in refused.data["error"]["message"].upper() or code == "COIN_REFUSED"
    assert refused.data["payment"]["address"] == before["address"]
    assert len(world.sim.invoice(invoice_id)["payment"]["wallets"]) == 1
    assert world.sim.list_invoices() == [invoice_id]


def test_bad_process_data_is_explained(world: World) -> None:
    transaction_id, _ = _started(world)
    answer = world.saleor.transaction_process(transaction_id, data={"coin": "BTC"})
    assert answer.event.type == "CHARGE_ACTION_REQUIRED"
    assert answer.data["error"]["code"] == "INVALID_DATA"
    assert answer.data["payment"] is None


def test_coinpayments_down_changes_nothing(world: World) -> None:
    transaction_id, invoice_id = _started(world)
    before = _choose(world, transaction_id, "LTCT").data["payment"]
    world.sim.faults(failNext=100, failStatus=503, failPath="/payment-currencies")
    answer = _choose(world, transaction_id, "BTC")
    assert answer.event.type == "CHARGE_ACTION_REQUIRED"
    assert answer.data["error"]["code"] == "PROVIDER_UNAVAILABLE"
    assert answer.data["payment"]["address"] == before["address"]
    world.sim.control("DELETE", "/faults")
    assert len(world.sim.invoice(invoice_id)["payment"]["wallets"]) == 1
    polled = world.saleor.transaction_process(transaction_id)
    assert polled.data["payment"]["currency"]["symbol"] == "LTCT"


def _stored_coin_status(world: World, invoice_id: str) -> tuple[str, Any]:
    async def read() -> tuple[str, Any]:
        db = Database(world.app.settings.database_url)
        try:
            async with db.session() as session:
                row = (await session.execute(select(Payment).where(Payment.invoice_id == invoice_id))).scalar_one()
                return row.state, row.coin_status
        finally:
            await db.dispose()

    return asyncio.run(read())


def test_the_chosen_coin_carries_its_live_status(database_url: str, tmp_path: Path) -> None:
    # Only the reads a watching buyer brings forward move this payment: notifications dropped, and no
    # other scheduled read within the test. The recent sweep comes less often than fresh reads, so it
    # stands in for none (payments/schedule.py `swept_for`): with it, the sweep would find the payment.
    quiet = {"reconcile_interval_seconds": 3600, "schedule_fresh_seconds": 3600, "sweep_recent_seconds": 7200}
    with running_world(database_url, tmp_path, process_refresh_min_seconds=0, **quiet) as world:
        world.sim.faults(webhookDrop=1000)
        transaction_id, invoice_id = _started(world)
        chosen = _choose(world, transaction_id, "LTCT").data["payment"]
        world.sim.pay(invoice_id, amount="full", confirmations=0, currency="1002")
        status = {
            "detected": chosen["amount"],
            "confirmed": "0.00000000",
            "confirmations": 0,
            "requiredConfirmations": 2,
        }
        # transactionProcess answers from what is stored (issue #10) and marks the buyer as watching
        # (issue #24): the reconciler re-reads the invoice and the coin's status; the next poll carries both.
        assert world.saleor.transaction_process(transaction_id).event.type == "CHARGE_ACTION_REQUIRED"
        eventually(lambda: _stored_coin_status(world, invoice_id) == ("pending", status), what="the re-reads stored")
        polled = world.saleor.transaction_process(transaction_id)
        assert polled.event.type == "CHARGE_REQUEST"  # seen, waiting for confirmations
        assert polled.data["payment"]["status"] == status

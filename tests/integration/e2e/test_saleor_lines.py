"""Issue #14 "Done when": the whole app on every tested Saleor line, the 3.20 LTS and the newest.

The fake Saleor behaves like that line: it installs the app only if the manifest's range takes
in its version, renders every subscription against that line's schema, refuses documents that
line lacks, and sends that line's version headers. Through it go a whole checkout (initialize,
pay, process, complete) and a sent-out invoice ("Generate invoice", e-mailed, paid).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from tests.fakes.saleor import SALEOR_3_20, SALEOR_VERSION
from tests.integration.e2e.test_sent_invoices import (
    _invoice_requested,
    _order,
    _pay_in_full,
    _raw_invoice,
    _saleor_invoice,
    _transaction_for,
)
from tests.integration.e2e.world import World, eventually, running_world


@pytest.fixture(params=[SALEOR_3_20, SALEOR_VERSION], ids=["saleor-3.20", "saleor-newest"])
def world(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> Iterator[World]:
    with running_world(database_url, tmp_path, saleor_version=request.param) as running:
        yield running


def test_checkout_and_sent_out_invoice_on_every_line(world: World) -> None:
    line = world.saleor.schema_version
    [register] = [d for d in world.saleor.deliveries if d.event == "register"]
    assert register.headers["Saleor-Schema-Version"] == line
    assert register.status == 200

    # a whole checkout: initialize, pay, process, charged, the checkout becomes an order
    checkout = world.checkout("20.00")
    started = world.initialize(checkout.id, {"successUrl": "https://shop.example.com/thanks"})
    assert started.event.type == "CHARGE_ACTION_REQUIRED", started.event.message
    invoice_id, transaction_id = started.event.psp_reference, started.transaction.id
    _pay_in_full(world, invoice_id)
    success = eventually(lambda: world.app_events(transaction_id, "CHARGE_SUCCESS"), what="CHARGE_SUCCESS")
    assert success[0].amount_value == Decimal("20.00")
    processed = world.saleor.transaction_process(transaction_id)  # the buyer comes back
    assert processed.event.type == "CHARGE_SUCCESS", processed.event.message
    assert processed.event.amount_value == Decimal("20.00")
    assert world.saleor.checkout(checkout.id).charge_status == "FULL"
    completed = world.saleor.checkout_complete(checkout.id)
    assert completed["errors"] == [], completed
    assert completed["order"]["chargeStatus"] == "FULL"

    # a sent-out invoice: "Generate invoice", the e-mailed CoinPayments invoice, the paid order
    order = _order(world)
    world.saleor.request_invoice(order.id)
    [delivered] = _invoice_requested(world)
    assert delivered.status == 200, delivered.response_body
    body = delivered.json()
    assert body["version"] == world.saleor.version
    assert body["order"]["discounts"][0]["amount"] == {"amount": Decimal("4.5"), "currency": "USD"}
    sent = eventually(lambda: [i for i in world.sim.list_invoices() if i != invoice_id], what="the sent-out invoice")
    [sent_id] = sent
    raw = _raw_invoice(world, sent_id)
    assert raw["isEmailDelivery"] is True
    assert Decimal(raw["amount"]["total"]) == Decimal("70.00")
    assert Decimal(raw["amount"]["breakdown"]["discount"]) == Decimal("4.50")
    eventually(lambda: _saleor_invoice(world, order.id, 0)[0] == sent_id, what="invoiceUpdate")
    transaction = _transaction_for(world, order.id, sent_id)
    _pay_in_full(world, sent_id)
    paid = eventually(lambda: world.app_events(transaction.id, "CHARGE_SUCCESS"), what="CHARGE_SUCCESS on the order")
    assert paid[0].amount_value == Decimal("70.00")
    with world.saleor.lock:
        assert world.saleor.order(order.id).charge_status == "FULL"
        assert world.saleor.order(order.id).is_paid

    # every webhook of the run spoke as this line does
    webhooks = [d for d in world.saleor.deliveries if d.event != "register"]
    assert {d.headers["User-Agent"] for d in webhooks} == {f"Saleor/{line}"}
    assert all("Saleor-Schema-Version" not in d.headers for d in webhooks)

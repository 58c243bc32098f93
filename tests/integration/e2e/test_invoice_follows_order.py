"""Issue #11 "Done when": the invoice follows the order — a cancelled order cancels its invoice, a
changed total re-issues it only when nothing was paid — also with CoinPayments or Saleor down."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from saleor_coinpayments.money import parse_json
from tests.fakes.saleor import Delivery
from tests.integration.e2e.billing_world import COIN, lines, notes, order_options, ours, set_billing, transaction_for
from tests.integration.e2e.world import World, eventually, running_world


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    with running_world(database_url, tmp_path) as running:
        set_billing(running)
        yield running


def _outcome(delivery: Delivery) -> str:
    assert delivery.status == 200, (delivery.status, delivery.response_body)
    return str(parse_json(delivery.response_body)["outcome"])


def _billed(world: World, total: str = "70.00") -> tuple[str, str]:
    order, [created] = world.saleor.complete_draft_order(lines(total), **order_options())
    assert _outcome(created) == "created"
    invoice_id = world.sim.list_invoices()[0]
    transaction_for(world, order.id, invoice_id)
    return order.id, invoice_id


def _by_event(deliveries: list[Delivery], event: str) -> Delivery:
    [found] = [d for d in deliveries if d.event == event]
    return found


def test_cancelled_order_cancels_its_unpaid_invoice(world: World) -> None:
    order_id, invoice_id = _billed(world)
    transaction = transaction_for(world, order_id, invoice_id)
    deliveries = world.saleor.cancel_order(order_id)
    assert _outcome(_by_event(deliveries, "order_cancelled")) == "cancelled"
    assert _outcome(_by_event(deliveries, "order_updated")) == "ignored"
    assert world.sim.invoice(invoice_id)["status"] == "cancelled"
    [cancel] = eventually(lambda: world.app_events(transaction.id, "CANCEL_SUCCESS"), what="CANCEL_SUCCESS")
    assert cancel.psp_reference == invoice_id
    assert cancel.amount_value == Decimal("70.00")
    [note] = eventually(lambda: notes(world, order_id), what="note")
    assert "cancelled" in note
    assert invoice_id in note

    again = world.saleor.redeliver(_by_event(deliveries, "order_cancelled"))
    assert _outcome(again) == "ignored"
    world.settled()
    assert len(world.app_events(transaction.id, "CANCEL_SUCCESS")) == 1
    assert world.app_events(transaction.id, "CHARGE_FAILURE") == []
    assert len(notes(world, order_id)) == 1


def test_cancel_with_coinpayments_down_is_retried_and_done_once(world: World) -> None:
    order_id, invoice_id = _billed(world)
    transaction = transaction_for(world, order_id, invoice_id)
    world.sim.faults(failNext=10_000)
    deliveries = world.saleor.cancel_order(order_id)
    failed = _by_event(deliveries, "order_cancelled")
    assert failed.status == 503, failed.response_body
    world.sim.faults(failNext=0)
    assert world.sim.invoice(invoice_id)["status"] != "cancelled"
    assert _outcome(world.saleor.redeliver(failed)) == "cancelled"
    assert _outcome(world.saleor.redeliver(failed)) == "ignored"
    eventually(lambda: world.app_events(transaction.id, "CANCEL_SUCCESS"), what="CANCEL_SUCCESS")
    world.settled()
    assert len(world.app_events(transaction.id, "CANCEL_SUCCESS")) == 1


def test_cancel_reported_once_saleor_is_back(world: World) -> None:
    order_id, invoice_id = _billed(world)
    transaction = transaction_for(world, order_id, invoice_id)
    world.saleor.api_down = True
    deliveries = world.saleor.cancel_order(order_id)
    assert _outcome(_by_event(deliveries, "order_cancelled")) == "cancelled"
    assert world.sim.invoice(invoice_id)["status"] == "cancelled"
    eventually(lambda: world.refused_by_saleor("invoice_cancel_report"), what="the cancel report refused by Saleor")
    world.saleor.api_down = False
    eventually(lambda: world.app_events(transaction.id, "CANCEL_SUCCESS"), timeout=30, what="CANCEL_SUCCESS")
    eventually(lambda: notes(world, order_id), what="note")
    world.settled()
    assert len(world.app_events(transaction.id, "CANCEL_SUCCESS")) == 1
    assert len(notes(world, order_id)) == 1


def test_cancelled_order_with_money_on_the_invoice_is_left_to_staff(world: World) -> None:
    order_id, invoice_id = _billed(world)
    world.sim.pay(invoice_id, "partial:0.5", confirmations=0, currency=COIN)
    deliveries = world.saleor.cancel_order(order_id)
    assert _outcome(_by_event(deliveries, "order_cancelled")) == "kept"
    assert world.sim.invoice(invoice_id)["status"] != "cancelled"
    [note] = eventually(lambda: notes(world, order_id), what="note")
    assert "Staff must decide" in note


def test_changed_total_reissues_the_unpaid_invoice(world: World) -> None:
    order_id, old_invoice = _billed(world, "70.00")
    old_transaction = transaction_for(world, order_id, old_invoice)
    [updated] = world.saleor.change_order_lines(order_id, lines("85.00"))
    assert _outcome(updated) == "reissued"
    assert world.sim.invoice(old_invoice)["status"] == "cancelled"
    [new_invoice] = [i for i in world.sim.list_invoices() if i != old_invoice]
    assert Decimal(world.sim.invoice(new_invoice)["total"]) == Decimal("85.00")
    new_transaction = transaction_for(world, order_id, new_invoice)
    eventually(lambda: world.app_events(old_transaction.id, "CANCEL_SUCCESS"), what="CANCEL_SUCCESS on the old")
    [note] = eventually(lambda: notes(world, order_id), what="note")
    assert "from 70.00 USD to 85.00 USD" in note
    assert new_invoice in note

    # Saleor delivering the same update again, and an update that does not change the total.
    assert _outcome(world.saleor.redeliver(updated)) == "unchanged"
    world.settled()
    assert len(world.sim.list_invoices()) == 2
    assert {t.psp_reference for t in ours(world, order_id)} == {old_invoice, new_invoice}
    assert len(world.app_events(old_transaction.id, "CANCEL_SUCCESS")) == 1
    assert world.app_events(new_transaction.id, "CANCEL_SUCCESS") == []


def test_changed_total_with_coinpayments_down_reissues_once_on_retry(world: World) -> None:
    order_id, old_invoice = _billed(world, "70.00")
    world.sim.faults(failNext=10_000)
    [failed] = world.saleor.change_order_lines(order_id, lines("90.00"))
    assert failed.status == 503
    world.sim.faults(failNext=0)
    assert world.sim.list_invoices() == [old_invoice]
    assert _outcome(world.saleor.redeliver(failed)) == "reissued"
    assert _outcome(world.saleor.redeliver(failed)) == "unchanged"
    assert len(world.sim.list_invoices()) == 2


def test_changed_total_after_a_payment_cancels_nothing(world: World) -> None:
    order_id, invoice_id = _billed(world, "70.00")
    world.sim.pay(invoice_id, "partial:0.5", confirmations=0, currency=COIN)
    [updated] = world.saleor.change_order_lines(order_id, lines("85.00"))
    assert _outcome(updated) == "kept"
    assert world.sim.invoice(invoice_id)["status"] != "cancelled"
    assert world.sim.list_invoices() == [invoice_id]
    [note] = eventually(lambda: notes(world, order_id), what="note")
    assert "Staff must decide" in note
    assert "from 70.00 USD to 85.00 USD" in note

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
    world.settled()
    assert len(world.events(transaction_id, "CHARGE_SUCCESS")) == 1
    assert len(world.app_events(transaction_id, "INFO")) == 1
    assert world.transaction(transaction_id).money("charged").amount == Decimal("20.00")
    handled = world.notifications(invoice_id)
    assert handled, "the app recorded no notification"
    assert all(row.handled_at is not None and row.outcome for row in handled)


def _start(world: World, total: str = "20.00") -> tuple[str, str, str]:
    """A checkout with an invoice: (checkout id, transaction id, invoice id)."""
    checkout = world.checkout(total)
    started = world.initialize(checkout.id)
    assert started.event.type == "CHARGE_ACTION_REQUIRED", started.event.message
    return checkout.id, started.transaction.id, started.event.psp_reference


def _coin(world: World, invoice_id: str) -> str:
    return "1002"


def test_expiry_reports_failure_once(world: World) -> None:
    _, transaction_id, invoice_id = _start(world)
    world.sim.advance(2 * 3600)
    failure = eventually(lambda: world.app_events(transaction_id, "CHARGE_FAILURE"), what="CHARGE_FAILURE")
    assert failure[0].psp_reference == invoice_id
    world.settled()
    assert len(world.app_events(transaction_id, "CHARGE_FAILURE")) == 1
    assert world.app_events(transaction_id, "CHARGE_SUCCESS") == []
    processed = world.saleor.transaction_process(transaction_id)
    assert processed.event.type == "CHARGE_FAILURE"


def test_cancellation_of_an_unpaid_invoice(world: World) -> None:
    _, transaction_id, invoice_id = _start(world)
    result = world.saleor.request_action(transaction_id, "CANCEL", Decimal("20.00"))
    assert result.event is not None
    assert result.event.type == "CANCEL_SUCCESS", result.event.message
    assert world.sim.invoice(invoice_id)["status"] == "cancelled"


def test_cancellation_refused_once_money_arrived(world: World) -> None:
    _, transaction_id, invoice_id = _start(world)
    world.sim.pay(invoice_id, "full", confirmations=1, currency=_coin(world, invoice_id))
    result = world.saleor.request_action(transaction_id, "CANCEL", Decimal("20.00"))
    assert result.event is not None
    assert result.event.type == "CANCEL_FAILURE"
    assert world.sim.invoice(invoice_id)["status"] != "cancelled"


def test_refund_and_charge_requests_get_explicit_answers(world: World) -> None:
    _, transaction_id, invoice_id = _start(world)
    world.sim.pay(invoice_id, "full", confirmations=6, currency=_coin(world, invoice_id))
    eventually(lambda: world.app_events(transaction_id, "CHARGE_SUCCESS"), what="CHARGE_SUCCESS")
    refund = world.saleor.request_action(transaction_id, "REFUND", Decimal("5.00"))
    assert refund.event is None, "a refund of credited money is acknowledged, pending (tests/…/test_refunds.py)"
    assert refund.request_event.psp_reference.startswith(f"{invoice_id}:refund:")
    charge = world.saleor.request_action(transaction_id, "CHARGE", Decimal("5.00"))
    assert charge.event is not None
    assert charge.event.type == "CHARGE_FAILURE"


def test_underpayment_with_partial_accept_reports_the_credited_amount(world: World) -> None:
    world.sim.control("PATCH", f"/clients/{world.sim.client_id}", {"partialAcceptAvailable": True})
    _, transaction_id, invoice_id = _start(world)
    world.sim.pay(invoice_id, "partial:0.5", confirmations=6, currency=_coin(world, invoice_id))
    world.sim.advance(2 * 3600)
    success = eventually(lambda: world.app_events(transaction_id, "CHARGE_SUCCESS"), what="partial CHARGE_SUCCESS")
    assert success[0].amount_value == Decimal("10.00")
    infos = eventually(
        lambda: [e for e in world.app_events(transaction_id, "INFO") if "10.00" in e.message], what="underpaid INFO"
    )
    assert infos
    world.settled()
    assert len(world.app_events(transaction_id, "CHARGE_SUCCESS")) == 1
    assert world.transaction(transaction_id).money("charged").amount == Decimal("10.00")


def test_overpayment_reports_what_came_in(world: World) -> None:
    _, transaction_id, invoice_id = _start(world)
    world.sim.pay(invoice_id, "over:0.25", confirmations=6, currency=_coin(world, invoice_id))
    success = eventually(lambda: world.app_events(transaction_id, "CHARGE_SUCCESS"), what="CHARGE_SUCCESS")
    assert success[0].amount_value == Decimal("25.00")
    eventually(
        lambda: [e for e in world.app_events(transaction_id, "INFO") if "more than asked" in e.message],
        what="overpaid INFO",
    )


def test_payment_confirmed_after_expiry_is_not_dropped(world: World) -> None:
    _, transaction_id, invoice_id = _start(world)
    world.sim.pay(invoice_id, "full", confirmations=0, currency=_coin(world, invoice_id))
    world.sim.advance(2 * 3600)
    world.sim.confirm(invoice_id, 6)
    success = eventually(lambda: world.app_events(transaction_id, "CHARGE_SUCCESS"), what="late CHARGE_SUCCESS")
    assert success[0].amount_value == Decimal("20.00")
    assert world.transaction(transaction_id).money("charged").amount == Decimal("20.00")


def test_duplicated_and_reordered_webhooks_report_nothing_twice(world: World) -> None:
    world.sim.faults(webhookDuplicate=50, webhookReorder=3)
    _, transaction_id, invoice_id = _start(world)
    world.sim.pay(invoice_id, "full", confirmations=0, currency=_coin(world, invoice_id))
    for _ in range(6):
        world.sim.confirm(invoice_id, 1)
    world.sim.control("POST", f"/invoices/{invoice_id}/complete")
    world.sim.control("POST", "/webhooks/flush")
    eventually(lambda: world.app_events(transaction_id, "CHARGE_SUCCESS"), what="CHARGE_SUCCESS")
    world.settled()
    deliveries = world.sim.control("GET", f"/deliveries?invoiceId={invoice_id}")
    assert sum(d["duplicate"] for d in deliveries) >= 3
    assert len(world.app_events(transaction_id, "CHARGE_SUCCESS")) == 1
    assert len(world.app_events(transaction_id, "INFO")) <= 1
    assert world.transaction(transaction_id).money("charged").amount == Decimal("20.00")


def test_dropped_webhooks_are_caught_up_by_the_reconciler(world: World) -> None:
    world.sim.faults(webhookDrop=100)
    _, transaction_id, invoice_id = _start(world)
    world.sim.pay(invoice_id, "full", confirmations=6, currency=_coin(world, invoice_id))
    success = eventually(lambda: world.app_events(transaction_id, "CHARGE_SUCCESS"), what="reconciled CHARGE_SUCCESS")
    assert success[0].amount_value == Decimal("20.00")


def test_saleor_outage_is_delivered_afterwards(world: World) -> None:
    _, transaction_id, invoice_id = _start(world)
    world.saleor.api_down = True
    world.sim.pay(invoice_id, "full", confirmations=6, currency=_coin(world, invoice_id))
    # The app met the outage: its CHARGE_SUCCESS is queued and Saleor has refused a report of it.
    eventually(
        lambda: world.queued("CHARGE_SUCCESS", transaction_id) and world.refused_by_saleor(), what="a refused report"
    )
    assert world.app_events(transaction_id, "CHARGE_SUCCESS") == []
    world.saleor.api_down = False
    eventually(lambda: world.app_events(transaction_id, "CHARGE_SUCCESS"), timeout=30, what="after outage")
    world.settled()
    assert len(world.app_events(transaction_id, "CHARGE_SUCCESS")) == 1


def test_a_retried_initialize_makes_one_invoice(world: World) -> None:
    checkout = world.checkout("20.00")
    first = world.initialize(checkout.id, idempotency_key="attempt-1")
    again = world.initialize(checkout.id, idempotency_key="attempt-1")
    assert first.transaction.id == again.transaction.id
    assert first.event.psp_reference == again.event.psp_reference
    assert world.sim.list_invoices() == [first.event.psp_reference]


def test_unknown_transaction_and_zero_amount_are_refused(world: World) -> None:
    order = world.saleor.create_order()
    world.saleor.model.orders  # noqa: B018 - the order exists in the fake
    started = world.initialize(order.id, amount="0")
    assert started.event.type == "CHARGE_FAILURE"
    assert started.data["error"]["code"] == "NOTHING_TO_PAY"


def test_app_killed_mid_payment_loses_and_doubles_nothing(database_url: str, tmp_path: Path) -> None:
    from tests.helpers.app_server import start_app_process

    # A killed process's claims lapse with their leases (renewed while alive): short ones here, so the
    # restarted process takes over the INFO row it may have died holding, checks it, and goes on in order.
    with running_world(database_url, tmp_path, outbox_lease_seconds=3, reconcile_lease_seconds=2) as world:
        _, transaction_id, invoice_id = _start(world)
        world.sim.pay(invoice_id, "full", confirmations=1, currency=_coin(world, invoice_id))
        eventually(lambda: world.app_events(transaction_id, "INFO"), what="INFO before the crash")
        world.app_process_kill()
        world.sim.confirm(invoice_id, 6)
        world.sim.wait_deliveries()
        assert world.app_events(transaction_id, "CHARGE_SUCCESS") == []
        restarted = start_app_process(world.app.settings)
        try:
            success = eventually(
                lambda: world.app_events(transaction_id, "CHARGE_SUCCESS"), timeout=30.0, what="after restart"
            )
            assert success[0].amount_value == Decimal("20.00")
            world.settled()
            assert len(world.app_events(transaction_id, "CHARGE_SUCCESS")) == 1
            assert len(world.app_events(transaction_id, "INFO")) == 1
        finally:
            restarted.kill()
            restarted.wait(timeout=10)


def test_two_app_processes_on_postgresql_never_report_twice(database_url: str, tmp_path: Path) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("several replicas need PostgreSQL (run with TEST_DATABASE=postgresql)")
    from tests.helpers.app_server import start_app_process

    with running_world(database_url, tmp_path) as world:
        from tests.helpers.servers import free_port

        port = free_port()
        second_settings = world.app.settings.model_copy(update={"port": port})
        second = start_app_process(second_settings)
        try:
            transactions = []
            for _ in range(4):
                _, transaction_id, invoice_id = _start(world)
                world.sim.pay(invoice_id, "full", confirmations=1, currency=_coin(world, invoice_id))
                transactions.append((transaction_id, invoice_id))
            for _, invoice_id in transactions:
                world.sim.confirm(invoice_id, 6)
            for transaction_id, _ in transactions:
                eventually(lambda t=transaction_id: world.app_events(t, "CHARGE_SUCCESS"), what="CHARGE_SUCCESS")
            world.settled()
            for transaction_id, _ in transactions:
                assert len(world.app_events(transaction_id, "CHARGE_SUCCESS")) == 1
                assert len(world.app_events(transaction_id, "INFO")) <= 1
                assert world.transaction(transaction_id).money("charged").amount == Decimal("20.00")
        finally:
            second.kill()
            second.wait(timeout=10)


def test_a_paid_checkout_becomes_an_order_when_the_buyer_never_returns(database_url: str, tmp_path: Path) -> None:
    with running_world(database_url, tmp_path, checkout_complete_after_seconds=1) as world:
        checkout_id, transaction_id, invoice_id = _start(world)
        orders_before = len(world.saleor.model.orders)
        world.sim.pay(invoice_id, "full", confirmations=6, currency=_coin(world, invoice_id))
        eventually(lambda: world.app_events(transaction_id, "CHARGE_SUCCESS"), what="CHARGE_SUCCESS")
        eventually(lambda: len(world.saleor.model.orders) > orders_before, what="order from the paid checkout")
        [order] = [o for o in world.saleor.model.orders.values() if transaction_id in {t.id for t in o.transactions}]
        assert order.charge_status == "FULL"


def test_an_underpaid_checkout_is_left_to_the_storefront(database_url: str, tmp_path: Path) -> None:
    with running_world(database_url, tmp_path, checkout_complete_after_seconds=1) as world:
        world.sim.control("PATCH", f"/clients/{world.sim.client_id}", {"partialAcceptAvailable": True})
        _, transaction_id, invoice_id = _start(world)
        orders_before = len(world.saleor.model.orders)
        world.sim.pay(invoice_id, "partial:0.5", confirmations=6, currency=_coin(world, invoice_id))
        world.sim.advance(2 * 3600)
        eventually(lambda: world.app_events(transaction_id, "CHARGE_SUCCESS"), what="partial CHARGE_SUCCESS")
        world.settled()
        assert len(world.saleor.model.orders) == orders_before

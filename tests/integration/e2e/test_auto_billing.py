"""Issue #11 "Done when", first part: new orders billed automatically, once, and only when unpaid.

The fake Saleor sends ORDER_CREATED / ORDER_CONFIRMED built from the app's own subscription and
signed like Saleor; the simulator is CoinPayments; the app runs by its own command.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from saleor_coinpayments.money import parse_json
from tests.integration.e2e.billing_world import (
    lines,
    manual_transaction,
    notes,
    order_options,
    ours,
    pay_in_full,
    saleor_invoices,
    set_billing,
    subscription_app,
    transaction_for,
)
from tests.integration.e2e.world import World, configure, eventually, running_world


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    with running_world(database_url, tmp_path) as running:
        yield running


def _answer(delivery: object) -> dict[str, object]:
    body = parse_json(delivery.response_body)  # type: ignore[attr-defined]
    assert isinstance(body, dict)
    return body


def test_staff_completed_draft_is_billed_once_with_saleor_invoice_record(world: World) -> None:
    set_billing(world)
    order, [created] = world.saleor.complete_draft_order(lines("70.00"), **order_options())
    assert created.event == "order_created"
    assert created.status == 200, created.response_body
    assert _answer(created)["outcome"] == "created"
    [invoice_id] = world.sim.list_invoices()
    raw = world.sim.invoice(invoice_id)
    assert Decimal(raw["total"]) == Decimal("70.00")

    # Saleor's own invoice record (invoiceCreate) and the order's transaction follow via the outbox.
    eventually(lambda: saleor_invoices(world, order.id), what="invoiceCreate")
    [(number, url, status, _sent)] = saleor_invoices(world, order.id)
    assert (number, status) == (invoice_id, "SUCCESS")
    assert url
    assert invoice_id in url
    transaction = transaction_for(world, order.id, invoice_id)
    assert transaction.external_url == url

    # Saleor delivering the event again, "Generate invoice", the CLI-like endpoint: still one invoice.
    again = world.saleor.redeliver(created)
    assert again.status == 200
    assert _answer(again)["outcome"] == "existing"
    world.saleor.request_invoice(order.id)
    eventually(lambda: saleor_invoices(world, order.id)[1][0] == invoice_id, what="invoiceUpdate")
    world.settled()
    assert world.sim.list_invoices() == [invoice_id]
    assert len(ours(world, order.id)) == 1
    assert [i[0] for i in saleor_invoices(world, order.id)] == [invoice_id, invoice_id]

    pay_in_full(world, invoice_id)
    eventually(lambda: world.app_events(transaction.id, "CHARGE_SUCCESS"), what="CHARGE_SUCCESS")
    with world.saleor.lock:
        assert world.saleor.order(order.id).is_paid


def test_app_created_and_unconfirmed_orders_are_billed_once(world: World) -> None:
    set_billing(world, due_days=10)
    subscriptions = subscription_app(world)
    order, [created] = world.saleor.create_order_by_app(subscriptions, lines("19.99"), **order_options())
    assert created.status == 200, created.response_body
    assert _answer(created)["outcome"] == "created"
    [invoice_id] = world.sim.list_invoices()
    transaction_for(world, order.id, invoice_id)
    # The due date is invoiceDueDays ahead (end of that day, UTC).
    from tests.integration.e2e.test_sent_invoices import _raw_invoice

    due = datetime.fromisoformat(_raw_invoice(world, invoice_id)["dueDate"].replace("Z", "+00:00"))
    today = datetime.now(UTC).date()
    assert due.date() in (today + timedelta(days=10), today + timedelta(days=11))

    unconfirmed, [waiting] = world.saleor.complete_draft_order(lines("5.00"), confirmed=False, **order_options())
    assert _answer(waiting)["outcome"] == "waiting"
    assert world.sim.list_invoices() == [invoice_id]
    [confirmed] = world.saleor.confirm_order(unconfirmed.id)
    assert _answer(confirmed)["outcome"] == "created"
    assert len(world.sim.list_invoices()) == 2
    world.settled()
    assert len(ours(world, order.id)) == 1
    assert len(ours(world, unconfirmed.id)) == 1
    assert notes(world, order.id) == []


def test_paid_and_unbillable_orders_are_never_billed_and_the_skip_is_noted(world: World) -> None:
    set_billing(world)
    world.saleor.model.add_channel("channel-pln", "PLN")
    configure(world.app.settings.database_url, world.saleor.api_url, world.sim, channel="channel-pln")
    set_billing(world)  # both configurations
    world.saleor.model.add_channel("channel-off", "USD")

    paid = world.saleor.create_order(lines("70.00"), **order_options())
    manual_transaction(world, paid, "cash", "amountCharged", 70)
    paying = world.saleor.create_order(lines("70.00"), **order_options())
    manual_transaction(world, paying, "card", "amountAuthorized", 70)
    no_email = world.saleor.create_order(lines(), **order_options(email=None))
    in_pln = world.saleor.create_order(lines(), **order_options(channel="channel-pln"))
    not_mapped = world.saleor.create_order(lines(), **order_options(channel="channel-off"))
    expected = {
        paid.id: "already fully paid",
        paying.id: "being paid through a checkout transaction",
        no_email.id: "no customer e-mail",
        in_pln.id: "does not price invoices in PLN",
    }
    # Paid and being-paid orders are skipped from the event alone: even with CoinPayments and Saleor down.
    world.sim.faults(failNext=10_000)
    world.saleor.api_down = True
    for order in (paid, paying):
        [delivered] = world.saleor.emit("ORDER_CREATED", {"order": order})
        assert delivered.status == 200, delivered.response_body
        assert _answer(delivered)["outcome"] == "skipped"
    world.sim.faults(failNext=0)
    world.saleor.api_down = False
    for order in (paid, paying, no_email, in_pln, not_mapped):
        [delivered] = world.saleor.emit("ORDER_CREATED", {"order": order})
        assert delivered.status == 200, delivered.response_body
        assert _answer(delivered)["outcome"] in ("skipped", "ignored")
        world.saleor.redeliver(delivered)  # a retry notes nothing twice
    for order_id, text in expected.items():
        [note] = eventually(lambda oid=order_id: notes(world, oid), what="skip note")
        assert note.startswith("CoinPayments invoice not sent automatically")
        assert text in note
    world.settled()
    assert world.sim.list_invoices() == []
    assert notes(world, not_mapped.id) == []
    for order_id in expected:
        assert len(notes(world, order_id)) == 1
        assert saleor_invoices(world, order_id) == []


def test_billing_off_bills_nothing(world: World) -> None:
    order, [delivered] = world.saleor.complete_draft_order(lines(), **order_options())
    assert delivered.status == 200
    assert _answer(delivered)["outcome"] == "ignored"
    assert world.sim.list_invoices() == []
    assert notes(world, order.id) == []


def test_coinpayments_down_is_retried_by_saleor_and_bills_once(world: World) -> None:
    set_billing(world)
    world.sim.faults(failNext=10_000)
    order, [failed] = world.saleor.complete_draft_order(lines(), **order_options())
    assert failed.status == 503, failed.response_body
    world.sim.faults(failNext=0)
    assert world.sim.list_invoices() == []
    retried = world.saleor.redeliver(failed)
    assert retried.status == 200, retried.response_body
    [invoice_id] = world.sim.list_invoices()
    again = world.saleor.redeliver(failed)
    assert _answer(again)["outcome"] == "existing"
    transaction_for(world, order.id, invoice_id)
    world.settled()
    assert world.sim.list_invoices() == [invoice_id]
    assert len(ours(world, order.id)) == 1
    assert [i[0] for i in saleor_invoices(world, order.id)] == [invoice_id]


def test_saleor_down_after_billing_is_told_once_it_is_back(world: World) -> None:
    set_billing(world)
    world.saleor.api_down = True
    order, [delivered] = world.saleor.complete_draft_order(lines(), **order_options())
    assert delivered.status == 200, delivered.response_body
    [invoice_id] = world.sim.list_invoices()
    eventually(world.refused_by_saleor, what="a report refused by the down Saleor")
    assert saleor_invoices(world, order.id) == []
    assert ours(world, order.id) == []
    world.saleor.api_down = False
    eventually(lambda: saleor_invoices(world, order.id), timeout=30, what="invoiceCreate after the outage")
    transaction_for(world, order.id, invoice_id)
    world.settled()
    assert [i[0] for i in saleor_invoices(world, order.id)] == [invoice_id]
    assert len(ours(world, order.id)) == 1
    assert world.sim.list_invoices() == [invoice_id]


# --- bulk: invoice send --channel SLUG --unpaid ----------------------------------------------


def _bulk(world: World, *args: str) -> tuple[int, list[str]]:
    from tests.integration.e2e.test_sent_invoices import _cli

    done = _cli(world, "--saleor-api-url", world.saleor.api_url, "--channel", "default-channel", "--unpaid", *args)
    return done.returncode, done.stdout.splitlines() + [f"stderr: {line}" for line in done.stderr.splitlines()]


def _line(output: list[str], order: object) -> str:
    [line] = [item for item in output if item.startswith(f"order {order.number}:")]  # type: ignore[attr-defined]
    return line


def test_bulk_dry_run_changes_nothing_and_the_run_bills_exactly_the_unpaid_orders(world: World) -> None:
    from tests.integration.e2e.billing_world import outbox, payments
    from tests.integration.e2e.test_sent_invoices import _cli

    world.saleor.model.add_channel("other-channel", "USD")
    unpaid = world.saleor.create_order(lines("10.00"), **order_options())
    billed = world.saleor.create_order(lines("20.00"), **order_options())
    paid = world.saleor.create_order(lines("30.00"), **order_options())
    manual_transaction(world, paid, "cash", "amountCharged", 30)
    no_email = world.saleor.create_order(lines("40.00"), **order_options(email=None))
    cancelled = world.saleor.create_order(lines("50.00"), **order_options())
    cancelled.status = "CANCELED"
    elsewhere = world.saleor.create_order(lines("60.00"), **order_options(channel="other-channel"))
    old = world.saleor.create_order(lines("70.00"), **order_options())
    old.created = old.created - timedelta(days=40)
    single = _cli(world, "--saleor-api-url", world.saleor.api_url, "--order", billed.id)
    assert single.returncode == 0, single.stderr
    [billed_invoice] = world.sim.list_invoices()
    transaction_for(world, billed.id, billed_invoice)
    world.settled()
    before = (len(payments(world)), len(outbox(world)), world.sim.list_invoices())

    code, output = _bulk(world, "--dry-run")
    assert code == 1, output
    assert "would create" in _line(output, unpaid)
    assert "would create" in _line(output, old)
    assert "existing" in _line(output, billed)
    assert "NO_EMAIL" in _line(output, no_email)
    for absent in (paid, cancelled, elsewhere):
        assert not [item for item in output if item.startswith(f"order {absent.number}:")]
    assert output[-1].startswith("4 order(s): 1 existing, 1 skipped, 2 would create")
    assert "dry run: nothing was changed" in output[-1]
    assert (len(payments(world)), len(outbox(world)), world.sim.list_invoices()) == before
    assert all(notes(world, o.id) == [] for o in (unpaid, no_email, old))

    since = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    code, output = _bulk(world, "--created-after", since)
    assert code == 1, output
    assert "created" in _line(output, unpaid)
    assert "existing" in _line(output, billed)
    assert "skipped" in _line(output, no_email)
    assert not [item for item in output if item.startswith(f"order {old.number}:")]
    invoices = world.sim.list_invoices()
    assert len(invoices) == 2
    [new_invoice] = [i for i in invoices if i != billed_invoice]
    transaction_for(world, unpaid.id, new_invoice)
    eventually(lambda: saleor_invoices(world, unpaid.id), what="invoiceCreate")

    # Run again, with CoinPayments down for the one order still to bill: exit 3, then once more.
    world.sim.faults(failNext=10_000)
    code, output = _bulk(world)
    assert code == 3, output
    assert "not answered" in _line(output, old)
    world.sim.faults(failNext=0)
    code, output = _bulk(world)
    assert code == 1, output
    assert "created" in _line(output, old)
    assert "existing" in _line(output, unpaid)
    assert len(world.sim.list_invoices()) == 3
    world.settled()
    for order in (unpaid, billed, old):
        assert len(ours(world, order.id)) == 1
        assert len(saleor_invoices(world, order.id)) == 1
    assert ours(world, paid.id)[0].name == "cash"

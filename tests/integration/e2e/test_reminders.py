"""Issue #11 "Done when": reminders go out at their offsets (a test clock drives the reminder worker
in this process, against the app's database, the fake Saleor and the simulator), once each across
two workers, later when CoinPayments is down, and never after the invoice is paid."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from saleor_coinpayments.context import app_context
from saleor_coinpayments.payments.invoicing.reminders import work_due_reminders
from saleor_coinpayments.store.tables import ReminderStatus
from tests.integration.e2e.billing_world import (
    lines,
    notes,
    order_options,
    pay_in_full,
    payments,
    reminders,
    saleor_invoices,
    set_billing,
    transaction_for,
)
from tests.integration.e2e.world import World, eventually, running_world


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    with running_world(database_url, tmp_path) as running:
        yield running


def _work(world: World, at: datetime, workers: int = 1) -> int:
    """Reminder worker passes at the test clock's `at`, as `workers` replicas at once."""

    async def one() -> int:
        async with app_context(world.app.settings) as ctx:
            return await work_due_reminders(ctx, now=lambda: at)

    async def run() -> list[int]:
        return list(await asyncio.gather(*(one() for _ in range(workers))))

    return sum(asyncio.run(run()))


def _sent(world: World, order_id: str) -> int:
    return sum(sent for *_, sent in saleor_invoices(world, order_id))


def _reminder_notes(world: World, order_id: str) -> list[str]:
    return [n for n in notes(world, order_id) if n.startswith("Payment reminder")]


def test_reminders_go_out_at_their_offsets_once_and_stop_after_payment(world: World) -> None:
    set_billing(world, due_days=7, reminders=[-3, 0, 3])
    order, [created] = world.saleor.complete_draft_order(lines("70.00"), **order_options())
    assert created.status == 200, created.response_body
    [invoice_id] = world.sim.list_invoices()
    transaction = transaction_for(world, order.id, invoice_id)
    eventually(lambda: saleor_invoices(world, order.id), what="invoiceCreate")
    [payment] = payments(world)
    due = datetime.fromisoformat(payment.details["due_date"])
    scheduled = reminders(world)
    assert [(r.offset_days, r.due_at) for r in scheduled] == [
        (-3, due - timedelta(days=3)),
        (0, due),
        (3, due + timedelta(days=3)),
    ]

    assert _work(world, due - timedelta(days=4)) == 0
    assert _work(world, due - timedelta(days=3, minutes=-1)) == 1
    eventually(lambda: _sent(world, order.id) == 1, what="first reminder")
    [note] = eventually(lambda: _reminder_notes(world, order.id), what="reminder note")
    assert "3 days before the due date" in note
    assert invoice_id in note
    assert _work(world, due - timedelta(days=3, minutes=-2)) == 0  # done once

    # CoinPayments down at the due date: the reminder waits, then goes out once, with two workers.
    world.sim.faults(failNext=10_000)
    assert _work(world, due + timedelta(minutes=1)) == 1
    assert reminders(world)[1].status == ReminderStatus.PENDING.value
    world.sim.faults(failNext=0)
    assert _work(world, due + timedelta(minutes=2)) == 0  # leased meanwhile
    assert _work(world, due + timedelta(minutes=12), workers=2) == 1
    eventually(lambda: _sent(world, order.id) == 2, what="second reminder")
    eventually(lambda: len(_reminder_notes(world, order.id)) == 2, what="second note")
    assert "on the due date" in _reminder_notes(world, order.id)[1]

    pay_in_full(world, invoice_id)
    eventually(lambda: world.app_events(transaction.id, "CHARGE_SUCCESS"), what="CHARGE_SUCCESS")
    assert _work(world, due + timedelta(days=3, minutes=1)) == 1
    assert [r.status for r in reminders(world)] == ["sent", "sent", "stopped"]
    world.settled()
    assert _sent(world, order.id) == 2
    assert len(_reminder_notes(world, order.id)) == 2


def test_a_reminder_waits_for_saleor(world: World) -> None:
    set_billing(world, due_days=7, reminders=[0])
    order, _ = world.saleor.complete_draft_order(lines("10.00"), **order_options())
    eventually(lambda: saleor_invoices(world, order.id), what="invoiceCreate")
    [payment] = payments(world)
    due = datetime.fromisoformat(payment.details["due_date"])
    world.saleor.api_down = True
    assert _work(world, due + timedelta(minutes=1)) == 1
    eventually(world.refused_by_saleor, what="the reminder refused by the down Saleor")
    assert _sent(world, order.id) == 0
    world.saleor.api_down = False
    eventually(lambda: _sent(world, order.id) == 1, timeout=30, what="reminder after the outage")
    world.settled()
    assert _sent(world, order.id) == 1


def test_a_reminder_whose_answer_was_lost_is_not_emailed_twice(world: World) -> None:
    """Saleor e-mails the buyer, then its answer is lost (a 504 from a proxy): the outbox tries again,
    finds the INVOICE_SENT event on the order, and only adds the note."""
    set_billing(world, due_days=7, reminders=[0])
    order, _ = world.saleor.complete_draft_order(lines("10.00"), **order_options())
    eventually(lambda: saleor_invoices(world, order.id), what="invoiceCreate")
    [payment] = payments(world)
    due = datetime.fromisoformat(payment.details["due_date"])
    world.saleor.lose_answers_to.add("invoiceSendNotification")
    assert _work(world, due + timedelta(minutes=1)) == 1
    eventually(lambda: _sent(world, order.id) == 1, what="the first try reaching Saleor")
    eventually(world.refused_by_saleor, what="the lost answer taken for a transient failure")
    world.saleor.lose_answers_to.clear()
    [note] = eventually(lambda: _reminder_notes(world, order.id), timeout=30, what="reminder note")
    assert "on the due date" in note
    assert _sent(world, order.id) == 1
    [sent] = [e for e in world.saleor.order(order.id).events if e.type == "INVOICE_SENT"]
    assert sent.email == world.saleor.order(order.id).user_email
    world.settled()
    assert _sent(world, order.id) == 1
    assert len(_reminder_notes(world, order.id)) == 1

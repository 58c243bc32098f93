"""Issue #10: transactionProcess answers from what is stored and never waits on CoinPayments.
Issue #24: a poll only marks the buyer as watching; the reconciler makes the one read it brings forward.

CoinPayments is made slow with the simulator's response latency, held high until the test lets the
answers go; the test orders events (the answer came while CoinPayments had not answered the read)
instead of timing them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from saleor_coinpayments.store.db import Database
from saleor_coinpayments.store.tables import Payment
from tests.integration.e2e.world import World, eventually, running_world

HELD = 600_000  # ms: "CoinPayments has not answered yet" until the test lowers it
RECONCILE_INTERVAL = 3600.0  # no gap of the schedule is shortened by the test harness


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    settings = {
        "reconcile_interval_seconds": RECONCILE_INTERVAL,
        # A fresh invoice is read ten minutes apart here: only a watching buyer brings a read sooner.
        "schedule_fresh_seconds": 600,
        # A process that waited on the read would answer only after this, and nothing would move the
        # state afterwards (webhooks dropped, reconciler asleep): the last steps of the test fail then.
        "coinpayments_timeout_seconds": 15,
    }
    with running_world(database_url, tmp_path, **settings) as running:
        yield running


def _row(world: World, invoice_id: str) -> Payment:
    async def read() -> Payment:
        db = Database(world.app.settings.database_url)
        try:
            async with db.session() as session:
                return (await session.execute(select(Payment).where(Payment.invoice_id == invoice_id))).scalar_one()
        finally:
            await db.dispose()

    return asyncio.run(read())


def _api_requests(world: World) -> dict[str, int]:
    return dict(world.sim.control("GET", "/api-requests"))


def test_a_new_invoice_counts_as_read_and_is_first_due_one_fresh_gap_later(world: World) -> None:
    world.sim.faults(webhookDrop=1000)  # a notification would make the invoice due at once (rightly)
    checkout = world.checkout("20.00")
    started = world.initialize(checkout.id)
    row = _row(world, started.event.psp_reference)
    assert row.last_checked_at is not None
    assert row.next_check_at is not None
    fresh = timedelta(seconds=world.app.settings.schedule_fresh_seconds)
    assert row.next_check_at - row.last_checked_at == fresh  # a fresh invoice: seconds apart
    assert row.read_by == row.next_check_at  # Saleor waits for its outcome: no slack
    assert row.created_at <= row.last_checked_at


def test_process_answers_the_stored_state_while_coinpayments_is_slow_then_refreshes(world: World) -> None:
    world.sim.faults(webhookDrop=1000)  # only the read a watching buyer brings forward can move it
    checkout = world.checkout("20.00")
    started = world.initialize(checkout.id)
    transaction_id, invoice_id = started.transaction.id, started.event.psp_reference
    world.sim.pay(invoice_id, "full", confirmations=1, currency="1002")
    assert world.sim.invoice(invoice_id)["status"] == "pending"

    world.sim.control("PUT", "/settings", {"responseLatencyMs": HELD})
    answered_before = _api_requests(world)["answered"]
    answer = world.saleor.transaction_process(transaction_id)
    assert answer.event.type == "CHARGE_ACTION_REQUIRED"  # what was stored: nothing paid yet
    # The answer came while CoinPayments had not answered the re-read: it is still held there.
    eventually(lambda: _api_requests(world)["waiting"] == 1, what="the background re-read reaches CoinPayments")
    assert _api_requests(world)["answered"] == answered_before
    assert _row(world, invoice_id).state == "unpaid"

    # More polls meanwhile: each answers at once, and no second read of this payment starts (the
    # reconciler holds its claim while the read is in flight).
    for _ in range(3):
        assert world.saleor.transaction_process(transaction_id).event.type == "CHARGE_ACTION_REQUIRED"
    assert _api_requests(world)["waiting"] == 1

    world.sim.control("PUT", "/settings", {"responseLatencyMs": 0})  # CoinPayments answers now
    eventually(lambda: _row(world, invoice_id).state == "pending", what="the background re-read moves the state")
    info = eventually(lambda: world.app_events(transaction_id, "INFO"), what="the detection reported")
    assert info[0].psp_reference == invoice_id
    assert _api_requests(world)["answered"] == answered_before + 1
    processed = world.saleor.transaction_process(transaction_id)
    assert processed.event.type == "CHARGE_REQUEST"

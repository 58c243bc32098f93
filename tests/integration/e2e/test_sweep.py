"""Issue 24: the invoice-list sweep finds what changed at CoinPayments in a few calls, so a payment
whose notifications were all lost reaches Saleor without its invoice being re-read on a schedule.

Here nothing else can move the payment: notifications are dropped, no buyer polls, and the schedule
would first re-read the invoice an hour after it was made. Seen failing with the sweep switched off
(SWEEP_RECENT_SECONDS=3600): the payment then never reaches Saleor within the wait.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.e2e.world import World, eventually, running_world


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    settings = {
        "reconcile_interval_seconds": 3600.0,
        "schedule_fresh_seconds": 3600.0,
        "sweep_recent_seconds": 0.5,
    }
    with running_world(database_url, tmp_path, **settings) as running:
        yield running


def test_a_paid_invoice_whose_notifications_were_lost_is_found_by_the_sweep(world: World) -> None:
    world.sim.faults(webhookDrop=1000)
    unpaid = world.initialize(world.checkout("15.00").id)
    started = world.initialize(world.checkout("20.00").id)
    transaction_id, invoice_id = started.transaction.id, started.event.psp_reference
    world.sim.pay(invoice_id, "full", confirmations=10, currency="1002")
    assert world.sim.invoice(invoice_id)["status"] == "paid"

    charged = eventually(lambda: world.app_events(transaction_id, "CHARGE_SUCCESS"), what="the payment in Saleor")
    assert charged[0].psp_reference == invoice_id
    # The unpaid one was listed by no sweep (only invoices that moved are), and stays unreported.
    assert world.app_events(unpaid.transaction.id, "CHARGE_SUCCESS") == []

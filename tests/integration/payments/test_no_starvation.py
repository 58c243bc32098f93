"""Issue 24 "No invoice starves": more invoices waiting for `completed` than the rate limit can
re-read, and unpaid invoices whose final notification was lost. Every one of the latter is re-read
and reaches its outcome within the targets: a checkout within 30 s of being paid, a sent-out invoice
within 10 minutes.

A fake clock and a fake CoinPayments (what each invoice says at each moment) drive the real
decisions: the schedule (payments/schedule.py), the claims of due payments (PaymentRepository, on
SQLite and PostgreSQL), the state machine with `record_read`, and the sweeps' `moved` /
`make_due`. The reconciler gets CAPACITY reads a second, the sweeps' list calls included. The limit
is scaled down from 70/s to keep the test short; what decides the outcome is the ratio of demand
to capacity, and the paid invoices ask for several times the capacity.

Seen failing: with the old ranking (pending and paid first) none of the lost-notification invoices is
ever read; with plain earliest-due-first (no deadlines) the checkouts take 48–73 s.
"""

from __future__ import annotations

import math
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import pytest_asyncio
from sqlalchemy import insert

from saleor_coinpayments import states
from saleor_coinpayments.coinpayments.models.common import InvoiceStatus
from saleor_coinpayments.payments.refresh import record_read, schedule_facts, snapshot_of
from saleor_coinpayments.payments.repository import PaymentRepository
from saleor_coinpayments.payments.schedule import ReadSchedule, next_read
from saleor_coinpayments.payments.sweep import SWEPT_STATUSES, moved
from saleor_coinpayments.states import PaymentState
from saleor_coinpayments.store.configurations import ConfigurationRepository
from saleor_coinpayments.store.db import Database
from saleor_coinpayments.store.tables import Payment, core_table, new_id
from tests.integration.store.test_store import BOX, _installation

CAPACITY = 4  # reconciler reads a second the rate limit leaves (scaled down from 70/s)
WAITING_FOR_COMPLETED = 400  # just paid: 400 / 15 s ≈ 27 reads a second asked for, 6.7 times CAPACITY
LOST_CHECKOUTS = 12
LOST_SENT_OUT = 12
CHECKOUT_TARGET = timedelta(seconds=30)
SENT_OUT_TARGET = timedelta(minutes=10)
RULES = ReadSchedule()
RECENT_SWEEP, ALL_SWEEP, RECENT_WINDOW = timedelta(seconds=15), timedelta(minutes=5), timedelta(hours=2)
TICK = timedelta(seconds=2)  # the fake clock's step; CAPACITY × TICK reads are claimed per step
T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
AMOUNT = Decimal("20.00")


@dataclass
class Invoice:
    """What CoinPayments says of one invoice: unpaid until `paid_at`, then paid (never completed here)."""

    payment_id: str
    created: datetime
    paid_at: datetime | None

    def status(self, now: datetime) -> str:
        return "paid" if self.paid_at is not None and now >= self.paid_at else "unpaid"

    def view(self, now: datetime) -> states.InvoiceView:
        paid = self.status(now) == "paid"
        return states.InvoiceView(status=self.status(now), credited=AMOUNT if paid else Decimal(0), observed_at=now)


@pytest_asyncio.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.dispose()


def _row(
    installation_id: str, configuration_id: str, n: int, created: datetime, now: datetime, **values: object
) -> dict[str, object]:
    """A stored payment as a read at `now` left it (its next read planned by the real schedule)."""
    columns: dict[str, object] = {
        "id": new_id(),
        "installation_id": installation_id,
        "configuration_id": configuration_id,
        "flow": "checkout",
        "saleor_transaction_id": f"tx-{n}",
        "source_type": "checkout",
        "source_id": f"c-{n}",
        "channel_slug": "default",
        "our_invoice_ref": f"ref-{n}",
        "invoice_id": f"inv-{n}",
        "currency": "USD",
        "amount": AMOUNT,
        "state": PaymentState.UNPAID.value,
        "is_final": False,
        "credited_amount": Decimal(0),
        "reported_amount": Decimal(0),
        "credit_count": 0,
        "pending_reported": False,
        "failure_reported": False,
        "confirmations": 0,
        "details": {},
        "created_at": created,
        "updated_at": created,
        "last_checked_at": now,
        "changed_at": None,
        **values,
    }
    payment = Payment(**columns)
    planned = next_read(schedule_facts(payment), now, RULES)
    assert planned is not None
    return {**columns, "next_check_at": planned.at, "read_by": planned.by}


async def _populate(db: Database, rng: random.Random) -> dict[str, Invoice]:
    shop = await _installation(db)
    async with db.session() as session:
        config = await ConfigurationRepository(session, BOX).upsert(
            shop, "main", client_id="a" * 32, client_secret="s3cret-value", api_url="http://sim"
        )
    rows: list[dict[str, object]] = []
    world: dict[str, Invoice] = {}
    for n in range(WAITING_FOR_COMPLETED):
        made = T0 - timedelta(minutes=30)
        credits = {"credits": [{"psp_reference": f"inv-{n}", "amount": str(AMOUNT)}], "info_keys": []}
        paid_values = {
            "state": PaymentState.PAID.value,
            "credited_amount": AMOUNT,
            "credit_count": 1,
            "details": credits,
            "changed_at": T0 - timedelta(minutes=1),
        }
        rows.append(
            _row(shop, config.id, n, made, T0 - RULES.fresh * rng.random() * timedelta(seconds=1), **paid_values)
        )
        world[f"inv-{n}"] = Invoice(str(rows[-1]["id"]), made, paid_at=made)
    for k in range(LOST_CHECKOUTS + LOST_SENT_OUT):
        n = WAITING_FOR_COMPLETED + k
        checkout = k < LOST_CHECKOUTS
        made = T0 - (timedelta(minutes=2) if checkout else timedelta(days=3))
        last_read = T0 - timedelta(seconds=rng.random() * (RULES.fresh if checkout else RULES.longest))
        rows.append(_row(shop, config.id, n, made, last_read))
        paid_at = T0 + timedelta(seconds=20 + rng.random() * 400)
        world[f"inv-{n}"] = Invoice(str(rows[-1]["id"]), made, paid_at)
    async with db.session() as session:
        await session.execute(insert(core_table(Payment)), rows)
    return world


async def _sweep(db: Database, world: dict[str, Invoice], now: datetime, since: datetime | None) -> int:
    """One sweep as payments/sweep.py makes it, over the fake list; returns the list calls it cost."""
    calls = 0
    for status in SWEPT_STATUSES:
        listed = [
            invoice_id
            for invoice_id, invoice in world.items()
            if InvoiceStatus.parse(invoice.status(now)) is status and (since is None or invoice.created >= since)
        ]
        calls += max(1, math.ceil(len(listed) / 100))
        async with db.session() as session:
            payments = PaymentRepository(session)
            stored = await payments.open_states(listed)
            await payments.make_due([i for i, state in stored.items() if moved(PaymentState(state), status)], now)
    return calls


async def _read(
    db: Database, world: dict[str, Invoice], by_payment: dict[str, str], ids: list[str], now: datetime
) -> None:
    """The claimed payments re-read at `now`: what production's `apply_transition` does with a read
    (locked row, state machine, `record_read`, the row written back), all of them in one unit."""
    async with db.fast.unit() as unit:
        for payment_id in ids:
            payment = await unit.locked(Payment, id=payment_id)
            assert payment is not None
            view = world[by_payment[payment_id]].view(now)
            transition = states.apply(snapshot_of(payment), view)
            record_read(payment, transition, view, RULES, now)
            await unit.run([PaymentRepository.save_transition_step(payment)])


@pytest.mark.asyncio
async def test_no_unpaid_invoice_starves_behind_invoices_waiting_for_completed(db: Database) -> None:
    rng = random.Random(24)
    world = await _populate(db, rng)
    by_payment = {invoice.payment_id: invoice_id for invoice_id, invoice in world.items()}
    lost = {i: inv for i, inv in world.items() if inv.paid_at is not None and inv.paid_at > T0}
    reached: dict[str, datetime] = {}
    reads_of_paid = 0
    now, debt = T0, 0
    next_recent, next_all = T0, T0
    while now < T0 + timedelta(minutes=12) and len(reached) < len(lost):
        budget = int(CAPACITY * TICK.total_seconds()) - debt  # the sweeps' list calls take from the same limit
        debt = 0
        if now >= next_recent:
            debt += await _sweep(db, world, now, now - RECENT_WINDOW)
            next_recent += RECENT_SWEEP
        if now >= next_all:
            debt += await _sweep(db, world, now, None)
            next_all += ALL_SWEEP
        if budget > 0:
            async with db.session() as session:
                ids = await PaymentRepository(session).claim_due(budget, timedelta(minutes=1), now)
            await _read(db, world, by_payment, ids, now)
            reads_of_paid += sum(1 for payment_id in ids if by_payment[payment_id] not in lost)
            for payment_id in ids:
                invoice_id = by_payment[payment_id]
                if invoice_id in lost and world[invoice_id].status(now) == "paid" and invoice_id not in reached:
                    reached[invoice_id] = now
        now += TICK

    assert reads_of_paid > 0  # the paid ones were read too: they wait, they do not starve
    late = {
        invoice_id: (reached[invoice_id] - invoice.paid_at) if invoice_id in reached else None
        for invoice_id, invoice in lost.items()
        if invoice.paid_at is not None
        and (
            invoice_id not in reached
            or reached[invoice_id] - invoice.paid_at
            > (CHECKOUT_TARGET if T0 - invoice.created < RECENT_WINDOW else SENT_OUT_TARGET)
        )
    }
    assert late == {}, f"{len(late)} of {len(lost)} lost-notification invoices missed their target: {late}"

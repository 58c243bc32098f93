"""Which payments the reconciler reads first: earliest deadline first, whatever their state; and
how a watching buyer or a sweep moves a payment's next read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio
from sqlalchemy import select, update

from saleor_coinpayments.payments.repository import PaymentRepository
from saleor_coinpayments.payments.schedule import ReadSchedule
from saleor_coinpayments.states import PaymentState
from saleor_coinpayments.store.db import Database
from saleor_coinpayments.store.tables import Payment
from saleor_coinpayments.store.types import utcnow
from tests.integration.store.test_store import _installation, _payment


@pytest_asyncio.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.dispose()


async def _set(db: Database, payment_id: str, **values: object) -> None:
    async with db.session() as session:
        await session.execute(update(Payment).where(Payment.id == payment_id).values(**values))


async def _row(db: Database, payment_id: str) -> Payment:
    async with db.session() as session:
        return (await session.execute(select(Payment).where(Payment.id == payment_id))).scalar_one()


@pytest.mark.asyncio
async def test_due_payments_are_read_earliest_deadline_first_whatever_their_state(db: Database) -> None:
    now = utcnow()
    shop = await _installation(db)
    # Paid long ago and due first, but Saleor has its outcome: its deadline is ten minutes later.
    paid = await _payment(db, shop, transaction_id="paid")
    await _set(
        db,
        paid.id,
        state=PaymentState.PAID.value,
        next_check_at=now - timedelta(minutes=5),
        read_by=now + timedelta(minutes=5),
    )
    unpaid = await _payment(db, shop, transaction_id="unpaid")
    await _set(db, unpaid.id, next_check_at=now - timedelta(seconds=30), read_by=now - timedelta(seconds=30))
    pending = await _payment(db, shop, transaction_id="pending")
    await _set(
        db,
        pending.id,
        state=PaymentState.PENDING.value,
        next_check_at=now - timedelta(seconds=10),
        read_by=now - timedelta(seconds=10),
    )
    later = await _payment(db, shop, transaction_id="later")
    await _set(db, later.id, next_check_at=now + timedelta(minutes=1), read_by=now + timedelta(minutes=1))
    final = await _payment(db, shop, transaction_id="final")
    await _set(db, final.id, is_final=True, next_check_at=None, read_by=None)

    async with db.session() as session:
        ranked = await PaymentRepository(session).rank_due(20, now)
    assert ranked == [unpaid.id, pending.id, paid.id]  # not `later` (not due), not `final`

    async with db.session() as session:
        claimed = await PaymentRepository(session).claim(ranked, 2, timedelta(minutes=1), now)
    assert claimed == ranked[:2]
    async with db.session() as session:
        assert await PaymentRepository(session).rank_due(20, now) == [paid.id]  # claimed ones are held


@pytest.mark.asyncio
async def test_a_watching_buyer_brings_the_next_read_within_seconds_and_never_pushes_it_back(db: Database) -> None:
    now = utcnow()
    rules = ReadSchedule()
    shop = await _installation(db)
    far = await _payment(db, shop, transaction_id="far")
    await _set(db, far.id, next_check_at=now + timedelta(minutes=30), read_by=now + timedelta(minutes=30))
    near = await _payment(db, shop, transaction_id="near")
    await _set(db, near.id, next_check_at=now + timedelta(seconds=1), read_by=now + timedelta(seconds=1))
    final = await _payment(db, shop, transaction_id="final")
    await _set(db, final.id, is_final=True, next_check_at=None, read_by=None)

    for payment in (far, near, final):
        await db.fast.run([PaymentRepository.buyer_watching_step(payment.id, now, rules)], atomic=False)

    soon = now + timedelta(seconds=rules.watching)
    row = await _row(db, far.id)
    assert (row.next_check_at, row.read_by) == (soon, soon)
    assert row.watching_until == now + timedelta(seconds=rules.watching_for)
    row = await _row(db, near.id)
    assert row.next_check_at == now + timedelta(seconds=1)  # already sooner: kept
    row = await _row(db, final.id)
    assert (row.next_check_at, row.watching_until) == (None, None)  # nothing to read: untouched


@pytest.mark.asyncio
async def test_the_sweep_makes_moved_invoices_due_now_and_knows_only_open_ones(db: Database) -> None:
    now = utcnow()
    shop = await _installation(db)
    moved = await _payment(db, shop, transaction_id="moved")
    await _set(db, moved.id, next_check_at=now + timedelta(hours=1), read_by=now + timedelta(hours=1))
    final = await _payment(db, shop, transaction_id="final")
    await _set(db, final.id, is_final=True, next_check_at=None, read_by=None, state=PaymentState.COMPLETED.value)
    ids = [moved.invoice_id, final.invoice_id, "inv-unknown"]

    async with db.session() as session:
        payments = PaymentRepository(session)
        assert await payments.open_states([i for i in ids if i]) == {moved.invoice_id: "unpaid"}
        assert await payments.make_due([i for i in ids if i], now) == 1
    row = await _row(db, moved.id)
    assert (row.next_check_at, row.read_by) == (now, now)
    async with db.session() as session:
        assert await PaymentRepository(session).oldest_open_by_configuration() == {
            moved.configuration_id: row.created_at
        }

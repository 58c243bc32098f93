"""Which payments the reconciler reads first: money in motion, then young invoices, and every
configuration in turn (so one busy shop cannot starve another)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio
from sqlalchemy import update

from saleor_coinpayments.payments.repository import PaymentRepository
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


@pytest.mark.asyncio
async def test_waiting_buyers_first_and_configurations_take_turns(db: Database) -> None:
    now = utcnow()
    busy = await _installation(db, "https://busy.test/graphql/")
    quiet = await _installation(db, "https://quiet.test/graphql/")
    old = now - timedelta(hours=3)
    busy_old = []
    for n in range(4):
        payment = await _payment(db, busy, transaction_id=f"busy-{n}")
        await _set(db, payment.id, created_at=old, next_check_at=old + timedelta(seconds=n))
        busy_old.append(payment.id)
    busy_pending = await _payment(db, busy, transaction_id="busy-pending")
    await _set(db, busy_pending.id, created_at=old, state=PaymentState.PENDING.value, next_check_at=now)
    busy_young = await _payment(db, busy, transaction_id="busy-young")
    await _set(db, busy_young.id, next_check_at=now)
    quiet_old = await _payment(db, quiet, transaction_id="quiet-0")
    await _set(db, quiet_old.id, created_at=old, next_check_at=old)
    not_due = await _payment(db, quiet, transaction_id="quiet-later")
    await _set(db, not_due.id, next_check_at=now + timedelta(minutes=5))

    async with db.session() as session:
        ranked = await PaymentRepository(session).rank_due(20, now + timedelta(seconds=1))
    assert ranked == [
        busy_pending.id,  # money seen: a buyer waits for "paid"
        quiet_old.id,  # the quiet shop's turn comes before the busy shop's second payment
        busy_young.id,
        *busy_old,
    ]

    async with db.session() as session:
        claimed = await PaymentRepository(session).claim(ranked, 2, timedelta(minutes=1), now + timedelta(seconds=1))
    assert claimed == ranked[:2]
    async with db.session() as session:
        again = await PaymentRepository(session).claim(ranked, 10, timedelta(minutes=1), now + timedelta(seconds=1))
    assert again == ranked[2:]

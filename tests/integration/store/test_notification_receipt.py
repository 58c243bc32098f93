"""A notification's receipt (NotificationRepository.receive), on both databases: it records the
notification once and makes the payment of its invoice due, only if that payment is the verifying
installation's, and gives back what the re-read needs (one statement on PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio
from sqlalchemy import select, update

from saleor_coinpayments.store.db import Database
from saleor_coinpayments.store.notifications import READ_COVER, NotificationRepository, Receipt
from saleor_coinpayments.store.tables import Notification, Payment, new_id
from saleor_coinpayments.store.types import utcnow
from tests.helpers.payments import stored_payment


@pytest_asyncio.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.dispose()


async def _receive(db: Database, installation_id: str, invoice_id: str, external_id: str) -> Receipt:
    return await NotificationRepository.receive(
        db.fast,
        installation_id=installation_id,
        source=f"coinpayments:{installation_id}",
        external_id=external_id,
        invoice_id=invoice_id,
        event_type="invoicePending",
        state="Pending",
    )


async def _row(db: Database, payment_id: str) -> Payment:
    async with db.session() as session:
        return (await session.execute(select(Payment).where(Payment.id == payment_id))).scalar_one()


async def _notifications(db: Database) -> list[Notification]:
    async with db.session() as session:
        return list((await session.scalars(select(Notification).order_by(Notification.received_at))).all())


@pytest.mark.asyncio
async def test_a_new_notification_is_recorded_and_makes_its_payment_due(db: Database) -> None:
    payment = await stored_payment(db)
    assert payment.invoice_id is not None
    before = utcnow()
    receipt = await _receive(db, payment.installation_id, payment.invoice_id, "n-1")
    assert receipt == Receipt(payment.id, payment.configuration_id, payment.saleor_transaction_id, recorded=True)
    row = await _row(db, payment.id)
    assert row.next_check_at is not None
    assert row.last_notification_at is not None
    # Was 30 s ahead: now due within READ_COVER (the route reads it at once; this covers a crash).
    assert before + READ_COVER <= row.next_check_at <= utcnow() + READ_COVER
    assert row.next_check_at == row.last_notification_at + READ_COVER == row.read_by
    assert row.updated_at >= before
    (stored,) = await _notifications(db)
    assert (stored.external_id, stored.invoice_id, stored.event_type, stored.state) == (
        "n-1",
        payment.invoice_id,
        "invoicePending",
        "Pending",
    )
    assert stored.received_at == row.last_notification_at
    assert stored.handled_at is None


@pytest.mark.asyncio
async def test_the_same_notification_again_is_a_duplicate_and_still_makes_the_payment_due(db: Database) -> None:
    payment = await stored_payment(db)
    assert payment.invoice_id is not None
    first = await _receive(db, payment.installation_id, payment.invoice_id, "n-1")
    again = await _receive(db, payment.installation_id, payment.invoice_id, "n-1")
    assert first.recorded
    assert not again.recorded
    assert again.payment_id == payment.id
    assert len(await _notifications(db)) == 1


@pytest.mark.asyncio
async def test_an_invoice_of_another_installation_or_none_changes_no_payment(db: Database) -> None:
    payment = await stored_payment(db)
    assert payment.invoice_id is not None
    other = await _receive(db, new_id(), payment.invoice_id, "n-1")  # verified by another shop's secret
    unknown = await _receive(db, payment.installation_id, f"inv-{new_id()}", "n-2")
    assert other == Receipt(None, None, None, recorded=True)
    assert unknown == Receipt(None, None, None, recorded=True)
    row = await _row(db, payment.id)
    assert row.last_notification_at is None
    assert row.next_check_at == payment.next_check_at
    assert [n.external_id for n in await _notifications(db)] == ["n-1", "n-2"]  # both kept, for the record
    assert payment.next_check_at is not None
    assert payment.next_check_at > utcnow() + timedelta(seconds=20)


@pytest.mark.asyncio
async def test_a_notification_never_puts_a_due_read_later_nor_schedules_a_final_payment(db: Database) -> None:
    payment = await stored_payment(db)
    assert payment.invoice_id is not None
    soon = utcnow() + timedelta(seconds=1)
    async with db.session() as session:
        await session.execute(update(Payment).where(Payment.id == payment.id).values(next_check_at=soon, read_by=soon))
    await _receive(db, payment.installation_id, payment.invoice_id, "n-1")
    assert (await _row(db, payment.id)).next_check_at == soon  # already due sooner than READ_COVER

    async with db.session() as session:
        await session.execute(
            update(Payment).where(Payment.id == payment.id).values(is_final=True, next_check_at=None, read_by=None)
        )
    await _receive(db, payment.installation_id, payment.invoice_id, "n-2")
    row = await _row(db, payment.id)
    assert (row.next_check_at, row.read_by) == (None, None)  # nothing to read stays so
    assert row.last_notification_at is not None

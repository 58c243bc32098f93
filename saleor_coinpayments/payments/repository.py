"""All SQL about payments: lookups, the creation claim, row locks and reconciler claims."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from saleor_coinpayments.store.db import Database
from saleor_coinpayments.store.dialects import is_postgres
from saleor_coinpayments.store.tables import Payment
from saleor_coinpayments.store.types import utcnow


class PaymentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, payment_id: str, *, lock: bool = False) -> Payment | None:
        """`lock`: a read-modify-write — use it in `db.session(write=True)` (FOR UPDATE on PostgreSQL;
        on SQLite that unit already holds the write lock from its BEGIN IMMEDIATE)."""
        query = select(Payment).where(Payment.id == payment_id)
        if lock and is_postgres(self._session):
            query = query.with_for_update()
        return (await self._session.execute(query)).scalar_one_or_none()

    async def by_transaction(self, installation_id: str, transaction_id: str, *, lock: bool = False) -> Payment | None:
        query = select(Payment).where(
            Payment.installation_id == installation_id, Payment.saleor_transaction_id == transaction_id
        )
        if lock and is_postgres(self._session):
            query = query.with_for_update()
        return (await self._session.execute(query)).scalar_one_or_none()

    async def by_invoice(self, invoice_id: str) -> Payment | None:
        return (
            await self._session.execute(select(Payment).where(Payment.invoice_id == invoice_id))
        ).scalar_one_or_none()

    async def by_pay_token_hash(self, pay_token_hash: str) -> Payment | None:
        """The payment behind a pay page link (payments/checkout/pay_link.py)."""
        return (
            await self._session.execute(select(Payment).where(Payment.pay_token_hash == pay_token_hash))
        ).scalar_one_or_none()

    async def by_request_key(self, installation_id: str, request_key: str) -> Payment | None:
        return (
            await self._session.execute(
                select(Payment).where(Payment.installation_id == installation_id, Payment.request_key == request_key)
            )
        ).scalar_one_or_none()

    async def sent_for_order(self, installation_id: str, order_id: str) -> list[Payment]:
        """The sent-out invoices of an order, oldest first (one per request key)."""
        rows = await self._session.execute(
            select(Payment)
            .where(
                Payment.installation_id == installation_id,
                Payment.source_id == order_id,
                Payment.request_key.is_not(None),
            )
            .order_by(Payment.created_at)
        )
        return list(rows.scalars())

    async def add_if_absent(self, payment: Payment) -> bool:
        """Insert the claim row for a transaction; False if another request already holds it."""
        try:
            async with self._session.begin_nested():
                self._session.add(payment)
                await self._session.flush()
        except IntegrityError:
            return False
        return True

    async def recent(self, installation_id: str, channel_slug: str | None, limit: int = 50) -> list[Payment]:
        query = select(Payment).where(Payment.installation_id == installation_id)
        if channel_slug:
            query = query.where(Payment.channel_slug == channel_slug)
        rows = await self._session.execute(query.order_by(Payment.created_at.desc()).limit(limit))
        return list(rows.scalars())

    async def attach_transaction(self, payment_id: str, transaction_id: str) -> None:
        """A sent-out invoice's order transaction exists now: remember it and read the invoice soon."""
        await self._session.execute(
            update(Payment)
            .where(Payment.id == payment_id)
            .values(saleor_transaction_id=transaction_id, next_check_at=utcnow())
        )

    async def mark_notified(self, payment_id: str) -> None:
        """CoinPayments notified about this payment: due a re-read now."""
        now = utcnow()
        await self._session.execute(
            update(Payment).where(Payment.id == payment_id).values(last_notification_at=now, next_check_at=now)
        )

    async def claim_due(self, limit: int, lease: timedelta, now: datetime | None = None) -> list[str]:
        """Ids of payments due a re-read, leased to this worker in one statement (atomic on SQLite too;
        SKIP LOCKED on PostgreSQL so replicas never wait on, nor take, each other's rows)."""
        now = now or utcnow()
        due = (
            select(Payment.id)
            .where(
                Payment.is_final.is_(False),
                Payment.invoice_id.is_not(None),
                # A sent-out invoice is followed once its order transaction exists.
                Payment.saleor_transaction_id.is_not(None),
                Payment.next_check_at <= now,
                or_(Payment.claimed_until.is_(None), Payment.claimed_until < now),
            )
            .order_by(Payment.next_check_at)
            .limit(limit)
        )
        if is_postgres(self._session):
            due = due.with_for_update(skip_locked=True)
        claimed = await self._session.execute(
            update(Payment)
            .where(Payment.id.in_(due.scalar_subquery()))
            .values(claimed_until=now + lease)
            .returning(Payment.id)
            .execution_options(synchronize_session=False)
        )
        return list(claimed.scalars())


CLAIM_WAIT_SECONDS = 6.0


async def wait_for_invoice(db: Database, payment_id: str, seconds: float = CLAIM_WAIT_SECONDS) -> Payment | None:
    """Another request holds the claim on this payment: give it a moment to store its invoice.
    The row once it has an invoice id (or None if it went away, or did not get one in time)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        async with db.session() as session:
            row = await PaymentRepository(session).get(payment_id)
        if row is None or row.invoice_id:
            return row
        await asyncio.sleep(0.2)
    return None

"""Payment reminders of sent-out invoices: rows due at day offsets from the invoice's due date.

A reminder row is written with the invoice (same transaction), one per configured offset. The
background worker claims due rows with a lease (SKIP LOCKED on PostgreSQL), reads the invoice
from CoinPayments, and either stops the reminder (the invoice is paid, being paid, cancelled or
expired) or marks it sent and queues the Saleor calls in the outbox, in one transaction: each
reminder is done once, across replicas. The outbox then asks Saleor to e-mail its invoice again
(`invoiceSendNotification`, which points at the CoinPayments invoice) and notes it on the order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import structlog
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from saleor_coinpayments.coinpayments import errors as cp_errors
from saleor_coinpayments.context import AppContext
from saleor_coinpayments.payments.delivery.outbox import OutboxRepository
from saleor_coinpayments.payments.refresh import refresh_payment
from saleor_coinpayments.payments.repository import PaymentRepository
from saleor_coinpayments.states import PaymentState
from saleor_coinpayments.store.dialects import insert_or_ignore, locked
from saleor_coinpayments.store.tables import InvoiceReminder, Payment, ReminderStatus, new_id
from saleor_coinpayments.store.types import utcnow

log = structlog.get_logger(__name__)

REMINDER = "invoice_reminder"
BATCH = 20
LEASE = timedelta(minutes=2)
RETRY_AFTER = timedelta(minutes=10)


def default_due_date(days: int, now: datetime | None = None) -> datetime:
    """Payable through the end of the day (UTC) `days` days from now."""
    today = (now or utcnow()).astimezone(UTC).date()
    return datetime.combine(today + timedelta(days=days), time(23, 59, 59), tzinfo=UTC)


def describe_offset(offset: int, due: date) -> str:
    if offset == 0:
        return f"on the due date {due.isoformat()}"
    direction = "before" if offset < 0 else "after"
    return f"{abs(offset)} day{'s' if abs(offset) != 1 else ''} {direction} the due date {due.isoformat()}"


class ReminderRepository:
    """All SQL about reminder rows."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def schedule(
        self, payment: Payment, due_date: datetime, offsets: Sequence[int], now: datetime | None = None
    ) -> int:
        """One row per offset still in the future; returns how many were added (re-runs add none)."""
        moment = now or utcnow()
        added = 0
        for offset in offsets:
            due_at = due_date + timedelta(days=offset)
            if due_at <= moment:
                continue
            values = {
                "id": new_id(),
                "installation_id": payment.installation_id,
                "payment_id": payment.id,
                "offset_days": offset,
                "due_at": due_at,
                "status": ReminderStatus.PENDING.value,
                "created_at": moment,
            }
            added += await insert_or_ignore(self._session, InvoiceReminder, values, ["payment_id", "offset_days"])
        return added

    async def claim_due(self, limit: int, lease: timedelta, now: datetime) -> list[InvoiceReminder]:
        due = (
            select(InvoiceReminder.id)
            .where(
                InvoiceReminder.status == ReminderStatus.PENDING.value,
                InvoiceReminder.due_at <= now,
                or_(InvoiceReminder.claimed_until.is_(None), InvoiceReminder.claimed_until < now),
            )
            .order_by(InvoiceReminder.due_at)
            .limit(limit)
        )
        due = locked(due, skip_locked=True)
        claimed = await self._session.execute(
            update(InvoiceReminder)
            .where(InvoiceReminder.id.in_(due.scalar_subquery()))
            .values(claimed_until=now + lease)
            .returning(InvoiceReminder)
            .execution_options(synchronize_session=False)
        )
        return sorted(claimed.scalars(), key=lambda row: row.due_at)

    async def finish(self, reminder_id: str, status: ReminderStatus, outcome: str, now: datetime) -> bool:
        """Close a claimed reminder once; False if it was closed meanwhile (then do nothing)."""
        result = await self._session.execute(
            update(InvoiceReminder)
            .where(InvoiceReminder.id == reminder_id, InvoiceReminder.status == ReminderStatus.PENDING.value)
            .values(status=status.value, outcome=outcome[:2000], done_at=now, claimed_until=None)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def postpone(self, reminder_id: str, until: datetime) -> None:
        await self._session.execute(
            update(InvoiceReminder)
            .where(InvoiceReminder.id == reminder_id)
            .values(claimed_until=until)
            .execution_options(synchronize_session=False)
        )

    async def stop_for(self, payment_id: str, outcome: str, now: datetime) -> None:
        """The invoice ended (cancelled, replaced): its remaining reminders never go out."""
        await self._session.execute(
            update(InvoiceReminder)
            .where(InvoiceReminder.payment_id == payment_id, InvoiceReminder.status == ReminderStatus.PENDING.value)
            .values(status=ReminderStatus.STOPPED.value, outcome=outcome, done_at=now, claimed_until=None)
            .execution_options(synchronize_session=False)
        )

    async def for_payment(self, payment_id: str) -> list[InvoiceReminder]:
        rows = await self._session.execute(
            select(InvoiceReminder).where(InvoiceReminder.payment_id == payment_id).order_by(InvoiceReminder.due_at)
        )
        return list(rows.scalars())


@dataclass(frozen=True)
class Verdict:
    status: ReminderStatus | None  # None: try again later
    outcome: str


def _verdict(payment: Payment | None) -> Verdict:
    """Whether a reminder may go out for this invoice as the app last saw it."""
    if payment is None or payment.invoice_id is None:
        return Verdict(ReminderStatus.STOPPED, "the invoice is gone")
    if payment.credited_amount > 0 or payment.state != PaymentState.UNPAID.value:
        return Verdict(ReminderStatus.STOPPED, f"the invoice is {payment.state}")
    return Verdict(ReminderStatus.SENT, "reminder queued")


async def _fresh(ctx: AppContext, payment_id: str) -> Payment | None | Exception:
    """The payment after a fresh read from CoinPayments (a payment made a second ago stops it)."""
    try:
        await refresh_payment(ctx, payment_id)
    except cp_errors.CoinPaymentsError as exc:
        return exc
    async with ctx.db.session() as session:
        return await PaymentRepository(session).get(payment_id)


async def work_due_reminders(ctx: AppContext, now: Callable[[], datetime] = utcnow) -> int:
    """One pass of the reminder worker; returns how many reminders it worked on. `now` is the clock
    (tests pass their own)."""
    moment = now()
    async with ctx.db.session() as session:
        batch = await ReminderRepository(session).claim_due(BATCH, LEASE, moment)
    for reminder in batch:
        payment = await _fresh(ctx, reminder.payment_id)
        if isinstance(payment, Exception):
            log.warning("reminder_postponed", reminder_id=reminder.id, error=str(payment))
            async with ctx.db.session() as session:
                await ReminderRepository(session).postpone(reminder.id, moment + RETRY_AFTER)
            continue
        verdict = _verdict(payment)
        async with ctx.db.session() as session:
            repo = ReminderRepository(session)
            assert verdict.status is not None
            if not await repo.finish(reminder.id, verdict.status, verdict.outcome, moment):
                continue
            if verdict.status is ReminderStatus.SENT and payment is not None:
                await OutboxRepository(session).enqueue(
                    installation_id=reminder.installation_id,
                    payment_id=reminder.payment_id,
                    dedup_key=f"{REMINDER}:{reminder.id}",
                    kind=REMINDER,
                    payload={"reminderId": reminder.id, "offsetDays": reminder.offset_days},
                )
        log.info("invoice_reminder", reminder_id=reminder.id, outcome=verdict.outcome, offset=reminder.offset_days)
    return len(batch)

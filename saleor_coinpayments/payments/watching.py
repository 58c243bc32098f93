"""A buyer is looking at a payment: the pay page's status requests and transactionProcess polls.

Polls never read CoinPayments themselves. They answer from what is stored and say "someone is
watching" here, which brings the payment's next scheduled read within SCHEDULE_WATCHING_SECONDS and
keeps it that close while polls keep coming; the reconciler then makes one read per window for every
poll of every replica, and the next poll answers from it. A notification still makes the read at once.
"""

from __future__ import annotations

from datetime import timedelta

from saleor_coinpayments.context import AppContext
from saleor_coinpayments.payments.repository import PaymentRepository
from saleor_coinpayments.payments.schedule import ReadSchedule
from saleor_coinpayments.store.tables import Payment
from saleor_coinpayments.store.types import utcnow


async def buyer_watching(ctx: AppContext, payment: Payment) -> None:
    """Note that the buyer watches `payment` (a row just read). Writes at most about once per half
    watching window per payment: a poll that finds the watch still held long enough writes nothing."""
    if payment.is_final or payment.next_check_at is None:
        return
    schedule = ReadSchedule.of(ctx.settings)
    now = utcnow()
    held = payment.watching_until is not None and payment.watching_until > now + timedelta(
        seconds=schedule.watching_for / 2
    )
    soon = payment.next_check_at <= now + timedelta(seconds=schedule.watching)
    if held and soon:
        return
    async with ctx.db.session() as session:
        await PaymentRepository(session).note_buyer_watching(payment.id, now, schedule)

"""A buyer is looking at a payment: the pay page's status requests and transactionProcess polls.

Polls never read CoinPayments themselves. They answer from what is stored and say "someone is
watching" here, which brings the payment's next scheduled read within SCHEDULE_WATCHING_SECONDS and
keeps it that close while polls keep coming; the reconciler then makes one read per window for every
poll of every replica, and the next poll answers from it. A notification still makes the read at once.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from saleor_coinpayments.context import AppContext
from saleor_coinpayments.payments.refresh import schedule_facts
from saleor_coinpayments.payments.repository import PaymentRepository
from saleor_coinpayments.payments.schedule import ReadSchedule, gap, swept_for
from saleor_coinpayments.store.tables import Payment
from saleor_coinpayments.store.types import utcnow


async def buyer_watching(ctx: AppContext, payment: Payment) -> None:
    """Note that the buyer watches `payment` (a row just read). Writes only when it matters: not for a
    final payment, nor when watching would not shorten the schedule's gap and no coin is chosen (an
    invoice untouched so long that a watching buyer changes nothing, or one the recent sweep covers),
    nor while the watch already holds for half its length."""
    if payment.is_final or payment.next_check_at is None:
        return
    schedule = ReadSchedule.of(ctx.settings)
    now = utcnow()
    facts = schedule_facts(payment)
    # Most polls come while the watch holds: the stored facts are then the watched ones (the gap
    # reads `watching_until` only as "after now"), so one gap answers whether anything is to write.
    held = payment.watching_until is not None and payment.watching_until > now + timedelta(
        seconds=schedule.watching_for / 2
    )
    if held:
        held_gap = gap(facts, now, schedule)
        if held_gap is None or payment.next_check_at <= now + held_gap:
            return
    watched = replace(facts, watching_until=now + timedelta(seconds=schedule.watching_for))
    unwatched = replace(facts, watching_until=None)
    watched_gap, unwatched_gap = gap(watched, now, schedule), gap(unwatched, now, schedule)
    if watched_gap is None or unwatched_gap is None:
        return
    # With a coin chosen, the watch also has the reconciler re-read that coin's confirmations; not
    # while the recent sweep covers the invoice (unpaid: nothing to confirm yet, and money seen shows
    # in the sweep's list), or a thousand open pages would spend the rate limit on unchanged invoices.
    if watched_gap >= unwatched_gap and (payment.coin_currency_id is None or swept_for(facts, now, schedule) > 0):
        return
    await ctx.db.fast.run([PaymentRepository.buyer_watching_step(payment.id, now, schedule)], atomic=False)

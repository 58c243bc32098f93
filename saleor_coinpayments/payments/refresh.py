"""Re-read one invoice from CoinPayments and move its payment forward, queueing the reports.

Everything that learns something about an invoice ends here: the notification route, the
reconciler, TRANSACTION_PROCESS_SESSION and the Dashboard's "resync". The network read happens
outside any database transaction; the read of the row, the state change and its outbox rows are one
unit on the store's fast path (store/fast_path.py), whatever the transition says: a row lock on
PostgreSQL, `BEGIN IMMEDIATE` on SQLite, so a second process can never write between that read and
that write. The per-payment lock in this process only keeps local callers from queueing on the
database for the same row.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import structlog

from saleor_coinpayments import states
from saleor_coinpayments.context import AppContext
from saleor_coinpayments.money import Money, format_decimal
from saleor_coinpayments.payments.books.received import record_invoice_payments
from saleor_coinpayments.payments.checkout.checkout_completion import completion_steps
from saleor_coinpayments.payments.checkout.transaction_name import naming_steps
from saleor_coinpayments.payments.delivery.outbox import EventReport, event_report_step
from saleor_coinpayments.payments.gateway import client_for, configuration, invoice_view
from saleor_coinpayments.payments.payment_method import payment_method_name
from saleor_coinpayments.payments.refunds.suggestions import may_owe_surplus, suggest_surplus
from saleor_coinpayments.payments.repository import PaymentRepository
from saleor_coinpayments.payments.schedule import ReadFacts, ReadSchedule, next_read
from saleor_coinpayments.settings import Settings
from saleor_coinpayments.states import PaymentState
from saleor_coinpayments.store.fast_path import WriteStep
from saleor_coinpayments.store.tables import Payment
from saleor_coinpayments.store.types import utcnow

log = structlog.get_logger(__name__)

_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()


def payment_lock(payment_id: str) -> asyncio.Lock:
    lock = _locks.get(payment_id)
    if lock is None:
        lock = asyncio.Lock()
        _locks[payment_id] = lock
    return lock


@dataclass(frozen=True)
class InvoiceKey:
    """Where a payment's invoice is read. Both are fixed once the invoice exists and the payment has
    its Saleor transaction, so a caller that has just read the row need not have it read again."""

    invoice_id: str
    configuration_id: str


def invoice_key(invoice_id: str | None, configuration_id: str, saleor_transaction_id: str | None) -> InvoiceKey | None:
    """A payment's key, from its columns of these names; None while there is nothing to re-read (a
    sent-out invoice waits for its order transaction)."""
    if invoice_id is None or saleor_transaction_id is None:
        return None
    return InvoiceKey(invoice_id, configuration_id)


def snapshot_of(payment: Payment) -> states.PaymentSnapshot:
    details = payment.details or {}
    return states.PaymentSnapshot(
        state=PaymentState(payment.state),
        invoice_id=payment.invoice_id or "",
        amount=Money.of(payment.amount, payment.currency),
        credits=tuple(
            states.Credit(psp_reference=c["psp_reference"], amount=Decimal(c["amount"]))
            for c in details.get("credits", [])
        ),
        detected_reported=payment.pending_reported,
        failure_reported=payment.failure_reported,
        info_keys=frozenset(details.get("info_keys", [])),
        checkout_link=payment.checkout_link,
    )


def schedule_facts(payment: Payment) -> ReadFacts:
    """What the read schedule needs of a stored payment."""
    return ReadFacts(
        state=PaymentState(payment.state),
        is_final=payment.is_final,
        created_at=payment.created_at,
        changed_at=payment.changed_at,
        watching_until=payment.watching_until,
        expires_at=payment.expires_at,
    )


def schedule_next_read(payment: Payment, now: datetime, schedule: ReadSchedule) -> None:
    """Set `next_check_at` and `read_by` by the schedule; NULL while there is nothing to read (final, or a sent-out
    invoice whose order transaction does not exist yet: `attach_transaction` makes it due then)."""
    planned = None
    if payment.invoice_id is not None and payment.saleor_transaction_id is not None:
        planned = next_read(schedule_facts(payment), now, schedule)
    payment.next_check_at = None if planned is None else planned.at
    payment.read_by = None if planned is None else planned.by


def stamp_new_invoice(payment: Payment, settings: Settings) -> None:
    """The invoice was just made (or found again), so the row is what CoinPayments says now:
    transactionProcess answers from it without a read, and the reconciler first looks one fresh
    gap later (SCHEDULE_FRESH_SECONDS) instead of racing the buyer's first requests for the rate limit."""
    now = utcnow()
    payment.last_checked_at = now
    schedule_next_read(payment, now, ReadSchedule.of(settings))


_VIEW_FIELDS = ("status", "credited", "detected", "confirmations", "refunded", "refund_state")


def _changed(payment: Payment, transition: states.Transition, seen: dict[str, Any]) -> bool:
    """Whether this read found something new: the state moved, or the invoice's status, amounts or
    confirmations differ from the last read (the schedule's "untouched for" restarts then)."""
    if transition.state.value != payment.state:
        return True
    before = (payment.details or {}).get("last_view")
    if not isinstance(before, dict):
        return Decimal(seen["credited"]) > 0 or Decimal(seen["detected"]) > 0
    return any(before.get(name) != seen[name] for name in _VIEW_FIELDS)


def _report(payment: Payment, report: states.Report, view: states.InvoiceView) -> EventReport:
    assert payment.saleor_transaction_id is not None, "reports need the Saleor transaction"
    amount = None if report.amount is None else format_decimal(report.amount, Money.of(0, payment.currency).decimals)
    return EventReport(
        transaction_id=payment.saleor_transaction_id,
        type=report.type,
        psp_reference=report.psp_reference,
        amount=amount,
        message=report.message,
        time=report.time,
        external_url=payment.invoice_link or payment.checkout_link,
        payment_method=payment_method_name(payment, view.coin_symbol),
    )


# Something more to write in the same transaction as a transition (e.g. "these notifications are
# handled"), given the payment as it now is: one commit instead of two.
AlsoInUnit = Callable[[Payment], Sequence[WriteStep]]


def record_read(
    payment: Payment, transition: states.Transition, view: states.InvoiceView, schedule: ReadSchedule, now: datetime
) -> None:
    """What a read at `now` and its transition change on the row (PaymentRepository.TRANSITION_COLUMNS),
    the next scheduled read included."""
    details: dict[str, Any] = dict(payment.details or {})
    details["credits"] = [{"psp_reference": c.psp_reference, "amount": str(c.amount)} for c in transition.credits]
    details["info_keys"] = sorted(transition.info_keys)
    seen = {
        "status": view.status,
        "credited": str(view.credited),
        "detected": str(view.detected),
        "confirmations": view.confirmations,
        "required_confirmations": view.required_confirmations,
        "refunded": str(view.refunded),
        "refund_state": view.refund_state,
        "observed_at": view.observed_at.isoformat(),
        "coin_symbol": view.coin_symbol,
    }
    if _changed(payment, transition, seen):
        payment.changed_at = now
    details["last_view"] = seen
    payment.details = details
    payment.state = transition.state.value
    payment.is_final = transition.is_final
    payment.pending_reported = transition.detected_reported
    payment.failure_reported = transition.failure_reported
    payment.credited_amount = sum((c.amount for c in transition.credits), Decimal(0))
    payment.credit_count = len(transition.credits)
    payment.confirmations = view.confirmations
    payment.last_checked_at = now
    schedule_next_read(payment, now, schedule)
    payment.claimed_until = None


async def apply_transition(
    ctx: AppContext, payment_id: str, view: states.InvoiceView, *, also: AlsoInUnit | None = None
) -> Payment | None:
    """Apply what CoinPayments said to the stored payment, atomically with its reports: one unit
    (the locked read, the decision, the row, its reports and `also`), one write path."""
    async with payment_lock(payment_id), ctx.db.fast.unit() as unit:
        payment = await unit.locked(Payment, id=payment_id)
        if payment is None:
            return None
        transition = states.apply(snapshot_of(payment), view)
        steps = [
            event_report_step(payment.installation_id, payment.id, report.dedup_key, _report(payment, report, view))
            for report in transition.reports
        ]
        if transition.reports:
            steps += naming_steps(payment)
        if any(report.type == "CHARGE_SUCCESS" for report in transition.reports):
            steps += completion_steps(ctx, payment)
        record_read(payment, transition, view, ReadSchedule.of(ctx.settings), utcnow())
        steps.append(PaymentRepository.save_transition_step(payment))
        steps += also(payment) if also else ()
        await unit.run(steps)
    if transition.reports:
        ctx.outbox_nudge.set()
        log.info(
            "payment_moved",
            invoice_id=payment.invoice_id,
            state=payment.state,
            reports=[r.dedup_key for r in transition.reports],
        )
    return payment


async def refresh_payment(
    ctx: AppContext,
    payment_id: str,
    *,
    background: bool = False,
    also: AlsoInUnit | None = None,
    key: InvoiceKey | None = None,
) -> states.PaymentSnapshot | None:
    """Read the invoice now and apply it. Raises CoinPaymentsError when CoinPayments cannot answer.
    `background` (the reconciler) reads only with rate-limit capacity that live requests leave;
    `also` is written in the transition's own transaction; `key`, if the caller has it, saves a read."""
    payment = await refresh_payment_row(ctx, payment_id, background=background, also=also, key=key)
    return snapshot_of(payment) if payment is not None else None


async def refresh_payment_row(
    ctx: AppContext,
    payment_id: str,
    *,
    background: bool = False,
    also: AlsoInUnit | None = None,
    key: InvoiceKey | None = None,
) -> Payment | None:
    """`refresh_payment`, giving the updated row itself (for answers that need its links and details)."""
    if key is None:
        payment = await ctx.db.fast.read(Payment, id=payment_id)
        if payment is not None:
            key = invoice_key(payment.invoice_id, payment.configuration_id, payment.saleor_transaction_id)
        if key is None:
            return None
    invoice_id, configuration_id = key.invoice_id, key.configuration_id
    config = await configuration(ctx, configuration_id)
    if config is None:
        log.warning("payment_without_configuration", payment_id=payment_id)
        return None
    invoice = await client_for(ctx, config, background=background).get_invoice(invoice_id)
    observed_at = utcnow()
    payment = await apply_transition(ctx, payment_id, invoice_view(invoice, observed_at), also=also)
    if payment is not None:
        # The books (payments/books/): what CoinPayments reports per payment, from this same read.
        try:
            await record_invoice_payments(ctx.db, payment_id, invoice, observed_at)
        except Exception:
            log.exception("invoice_payments_not_recorded", payment_id=payment_id)
    if payment is not None and may_owe_surplus(payment):
        # Its own unit of work, after the reports are committed: a suggestion never holds them up.
        try:
            async with payment_lock(payment_id), ctx.db.session(write=True) as session:
                locked = await PaymentRepository(session).get(payment_id, lock=True)
                if locked is not None:
                    await suggest_surplus(session, locked)
        except Exception:
            log.exception("refund_suggestion_failed", payment_id=payment_id)
    return payment

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
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import structlog

from saleor_coinpayments import states
from saleor_coinpayments.context import AppContext
from saleor_coinpayments.money import Money, format_decimal
from saleor_coinpayments.payments.checkout.checkout_completion import completion_steps
from saleor_coinpayments.payments.delivery.outbox import EventReport, event_report_step
from saleor_coinpayments.payments.gateway import client_for, configuration, invoice_view
from saleor_coinpayments.payments.refunds.suggestions import may_owe_surplus, suggest_surplus
from saleor_coinpayments.payments.repository import PaymentRepository
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


def next_check_delay(state: PaymentState, created_at: datetime, now: datetime, interval: float) -> timedelta:
    """How soon the reconciler looks again, in RECONCILE_INTERVAL units: each interval while money
    moves or the invoice is young, rarely for old quiet invoices and for ended ones (late money)."""
    base = timedelta(seconds=interval)
    if state in (PaymentState.PENDING, PaymentState.PAID):
        return base
    if state in (PaymentState.EXPIRED, PaymentState.CANCELLED):
        return base * 60
    age = now - created_at
    if age < timedelta(minutes=15):
        return base
    if age < timedelta(hours=2):
        return base * 4
    return base * 30


def stamp_new_invoice(payment: Payment, interval: float) -> None:
    """The invoice was just made (or found again), so the row is what CoinPayments says now:
    transactionProcess answers from it without a read, and the reconciler first looks one
    interval later instead of racing the buyer's first requests for CoinPayments' rate limit."""
    now = utcnow()
    payment.last_checked_at = now
    payment.next_check_at = now + timedelta(seconds=interval)


def _report(payment: Payment, report: states.Report) -> EventReport:
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
    )


# Something more to write in the same transaction as a transition (e.g. "these notifications are
# handled"), given the payment as it now is: one commit instead of two.
AlsoInUnit = Callable[[Payment], Sequence[WriteStep]]


def _record(payment: Payment, transition: states.Transition, view: states.InvoiceView, interval: float) -> None:
    """What a transition changes on the row (PaymentRepository.TRANSITION_COLUMNS)."""
    details: dict[str, Any] = dict(payment.details or {})
    details["credits"] = [{"psp_reference": c.psp_reference, "amount": str(c.amount)} for c in transition.credits]
    details["info_keys"] = sorted(transition.info_keys)
    details["last_view"] = {
        "status": view.status,
        "credited": str(view.credited),
        "detected": str(view.detected),
        "confirmations": view.confirmations,
        "required_confirmations": view.required_confirmations,
        "refunded": str(view.refunded),
        "refund_state": view.refund_state,
        "observed_at": view.observed_at.isoformat(),
    }
    payment.details = details
    payment.state = transition.state.value
    payment.is_final = transition.is_final
    payment.pending_reported = transition.detected_reported
    payment.failure_reported = transition.failure_reported
    payment.credited_amount = sum((c.amount for c in transition.credits), Decimal(0))
    payment.credit_count = len(transition.credits)
    payment.confirmations = view.confirmations
    now = utcnow()
    payment.last_checked_at = now
    payment.next_check_at = now + next_check_delay(transition.state, payment.created_at, now, interval)
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
            event_report_step(payment.installation_id, payment.id, report.dedup_key, _report(payment, report))
            for report in transition.reports
        ]
        if any(report.type == "CHARGE_SUCCESS" for report in transition.reports):
            steps += completion_steps(ctx, payment)
        _record(payment, transition, view, ctx.settings.reconcile_interval_seconds)
        steps.append(PaymentRepository.save_transition_step(payment))
        steps += also(payment) if also else ()
        await unit.run(steps)
    if transition.reports:
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
    payment = await apply_transition(ctx, payment_id, invoice_view(invoice, utcnow()), also=also)
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

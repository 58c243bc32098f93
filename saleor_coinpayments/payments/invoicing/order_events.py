"""Saleor's order events for sent-out invoices: bill new orders, and make the invoice follow the order.

- ORDER_CREATED / ORDER_CONFIRMED: with `invoiceNewOrders` on for the order's channel, a new unpaid
  order (a draft completed by staff, an order made by a subscription app) gets its CoinPayments
  invoice e-mailed, through the same `send_invoice` as "Generate invoice", the CLI and the endpoint
  (one live invoice per order). An unconfirmed order waits for ORDER_CONFIRMED. Skips are noted on
  the order once.
- ORDER_CANCELLED: a live invoice with nothing paid is cancelled at CoinPayments and the order's
  transaction gets CANCEL_SUCCESS; with money on it nothing is cancelled and staff are told.
- ORDER_UPDATED: when the order total differs from what the live invoice billed, the invoice is
  cancelled and a new one is e-mailed for the new amount — only when nothing was paid on it.

Temporary failures (Saleor or CoinPayments not answering) come back as `temporary`, answered 503,
so Saleor delivers the event again; every step is idempotent, so a retry never doubles anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import structlog

from saleor_coinpayments.coinpayments import errors as cp_errors
from saleor_coinpayments.context import AppContext
from saleor_coinpayments.money import Money
from saleor_coinpayments.payments.delivery.outbox import OutboxRepository
from saleor_coinpayments.payments.gateway import client_for, invoice_view
from saleor_coinpayments.payments.invoicing import sent_invoices
from saleor_coinpayments.payments.invoicing.notes import queue_note
from saleor_coinpayments.payments.invoicing.reminders import ReminderRepository
from saleor_coinpayments.payments.invoicing.saleor_calls import CANCEL_REPORT
from saleor_coinpayments.payments.payloads import PayloadError
from saleor_coinpayments.payments.refresh import payment_lock, refresh_payment_row
from saleor_coinpayments.payments.repository import PaymentRepository
from saleor_coinpayments.saleor.events import SaleorEvent
from saleor_coinpayments.states import PaymentState
from saleor_coinpayments.store.configurations import ConfigurationRepository
from saleor_coinpayments.store.installations import InstallationRecord
from saleor_coinpayments.store.tables import Payment
from saleor_coinpayments.store.types import utcnow

log = structlog.get_logger(__name__)

REPLACE_PENDING = "replace_pending"
ORDER_EVENTS = (
    SaleorEvent.ORDER_CREATED,
    SaleorEvent.ORDER_CONFIRMED,
    SaleorEvent.ORDER_UPDATED,
    SaleorEvent.ORDER_CANCELLED,
)


@dataclass(frozen=True)
class EventOutcome:
    """What the app did about one order event (the webhook's answer body)."""

    outcome: str
    message: str
    temporary: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "message": self.message}


def _order_of(payload: Mapping[str, Any]) -> dict[str, Any]:
    order = payload.get("order")
    if not isinstance(order, dict) or not isinstance(order.get("id"), str):
        raise PayloadError("order missing or not an object")
    return order


def _name(order: Mapping[str, Any]) -> str:
    return f"Order {order.get('number') or order['id']}"


def being_paid(order: Mapping[str, Any]) -> bool:
    """A checkout transaction is paying the order: money pending or authorized on a transaction."""
    return any(
        sent_invoices.amount_of(t.get("chargePendingAmount")) > 0
        or sent_invoices.amount_of(t.get("authorizedAmount")) > 0
        for t in order.get("transactions") or []
        if isinstance(t, Mapping)
    )


def order_total(order: Mapping[str, Any]) -> Decimal:
    total = order.get("total")
    return sent_invoices.amount_of(total.get("gross") if isinstance(total, Mapping) else None)


async def on_order_event(
    ctx: AppContext, installation: InstallationRecord, event: SaleorEvent, payload: dict[str, Any]
) -> EventOutcome:
    order = _order_of(payload)
    structlog.contextvars.bind_contextvars(order_id=order["id"], order_event=event.value)
    if event in (SaleorEvent.ORDER_CREATED, SaleorEvent.ORDER_CONFIRMED):
        outcome = await bill_new_order(ctx, installation, order)
    elif event is SaleorEvent.ORDER_CANCELLED:
        outcome = await follow_cancellation(ctx, installation, order)
    else:
        outcome = await follow_change(ctx, installation, order)
    log.info("order_event", outcome=outcome.outcome, temporary=outcome.temporary)
    return outcome


# --------------------------------------------------------------------------------------------
# Billing new orders
# --------------------------------------------------------------------------------------------


async def _note_skip(
    ctx: AppContext, installation: InstallationRecord, order: Mapping[str, Any], code: str, why: str
) -> None:
    async with ctx.db.session() as session:
        await queue_note(
            session,
            installation.id,
            f"auto:{order['id']}:{code}",
            order["id"],
            f"CoinPayments invoice not sent automatically: {why}",
        )


async def bill_new_order(ctx: AppContext, installation: InstallationRecord, order: dict[str, Any]) -> EventOutcome:
    channel = order.get("channel")
    slug = channel.get("slug") if isinstance(channel, Mapping) else None
    if not isinstance(slug, str):
        raise PayloadError("order.channel.slug missing")
    async with ctx.db.session() as session:
        config = await ConfigurationRepository(session, ctx.box).for_channel(installation.id, slug)
    if config is None or not config.invoice_new_orders:
        return EventOutcome("ignored", f"Automatic billing is off for channel {slug!r}.")
    status = order.get("status")
    if status == "UNCONFIRMED":
        return EventOutcome("waiting", f"{_name(order)} is unconfirmed: it is billed once confirmed.")
    if status in ("DRAFT", "CANCELED", "EXPIRED"):
        return EventOutcome("ignored", f"{_name(order)} is {str(status).lower()}: nothing to bill.")
    if being_paid(order):
        why = f"{_name(order)} is being paid through a checkout transaction."
        await _note_skip(ctx, installation, order, "BEING_PAID", why)
        return EventOutcome("skipped", why)
    result = await sent_invoices.send_invoice(ctx, installation, order)
    if isinstance(result, sent_invoices.SendRefused):
        if result.temporary:
            return EventOutcome("retry", result.message, temporary=True)
        await _note_skip(ctx, installation, order, result.code, result.message)
        return EventOutcome("skipped", result.message)
    return EventOutcome(result.outcome, result.describe())


# --------------------------------------------------------------------------------------------
# The invoice follows the order
# --------------------------------------------------------------------------------------------


async def _latest(ctx: AppContext, installation: InstallationRecord, order_id: str) -> Payment | None:
    async with ctx.db.session() as session:
        history = await PaymentRepository(session).sent_for_order(installation.id, order_id)
    return next((p for p in reversed(history) if p.invoice_id), None)


@dataclass(frozen=True)
class _Paid:
    paid: bool
    state: str


async def _paid_now(ctx: AppContext, payment: Payment) -> _Paid:
    """Whether anything was paid (or is on its way) on the invoice, read from CoinPayments now.
    Raises CoinPaymentsError when CoinPayments does not answer."""
    if payment.saleor_transaction_id is not None:
        row = await refresh_payment_row(ctx, payment.id) or payment
        paid = row.credited_amount > 0 or row.state in (PaymentState.PENDING, PaymentState.PAID, PaymentState.COMPLETED)
        return _Paid(paid, row.state)
    async with ctx.db.session() as session:
        config = await ConfigurationRepository(session, ctx.box).get(payment.configuration_id, with_channels=False)
    if config is None:
        return _Paid(False, payment.state)
    assert payment.invoice_id is not None
    view = invoice_view(await client_for(ctx, config).get_invoice(payment.invoice_id), utcnow())
    return _Paid(view.credited > 0 or view.detected > 0, view.status)


async def _cancel(ctx: AppContext, payment: Payment, reason: str, *, replace: bool) -> None:
    """Cancel the CoinPayments invoice, then record it with the CANCEL_SUCCESS report queued and
    its reminders stopped, in one transaction. Raises CoinPaymentsError (nothing recorded)."""
    assert payment.invoice_id is not None
    async with ctx.db.session() as session:
        config = await ConfigurationRepository(session, ctx.box).get(payment.configuration_id, with_channels=False)
    if config is None:
        raise cp_errors.CoinPaymentsError("the configuration of this invoice was removed")
    client = client_for(ctx, config)
    async with payment_lock(payment.id):
        try:
            await client.cancel_invoice(payment.invoice_id)
        except cp_errors.CoinPaymentsValidationError:
            # Cancelling twice is refused: fine if it is cancelled already.
            if (await client.get_invoice(payment.invoice_id)).status.lower() != "cancelled":
                raise
        async with ctx.db.session(write=True) as session:
            row = await PaymentRepository(session).get(payment.id, lock=True)
            assert row is not None
            if row.state == PaymentState.UNPAID.value:
                row.state = PaymentState.CANCELLED.value
            row.failure_reported = True  # the report is CANCEL_SUCCESS, not CHARGE_FAILURE
            row.next_check_at = row.read_by = utcnow()
            row.details = {**(row.details or {}), "cancel_reason": reason, REPLACE_PENDING: replace}
            await OutboxRepository(session).enqueue(
                installation_id=row.installation_id,
                payment_id=row.id,
                dedup_key=f"{row.id}:{CANCEL_REPORT}",
                kind=CANCEL_REPORT,
                payload={"reason": reason},
                ordering_key=row.saleor_transaction_id,  # after the transaction's earlier reports
            )
            await ReminderRepository(session).stop_for(row.id, reason, utcnow())
    log.info("sent_invoice_cancelled", invoice_id=payment.invoice_id, reason=reason)


async def _note(ctx: AppContext, installation: InstallationRecord, key: str, order_id: str, text: str) -> None:
    async with ctx.db.session() as session:
        await queue_note(session, installation.id, key, order_id, text)


async def _kept(ctx: AppContext, installation: InstallationRecord, key: str, order_id: str, text: str) -> EventOutcome:
    """Money is on the invoice: nothing is cancelled; staff are told on the order."""
    await _note(ctx, installation, key, order_id, text)
    return EventOutcome("kept", text)


async def follow_cancellation(ctx: AppContext, installation: InstallationRecord, order: dict[str, Any]) -> EventOutcome:
    payment = await _latest(ctx, installation, order["id"])
    if payment is None or payment.state in sent_invoices.ENDED:
        return EventOutcome("ignored", f"{_name(order)} has no live CoinPayments invoice.")
    try:
        paid = await _paid_now(ctx, payment)
        if paid.paid:
            text = (
                f"{_name(order)} was cancelled, but CoinPayments invoice {payment.invoice_id} has a payment "
                f"({paid.state}): it was not cancelled. Staff must decide (refund it from CoinPayments)."
            )
            return await _kept(ctx, installation, f"cancel-paid:{payment.id}", order["id"], text)
        reason = f"{_name(order)} was cancelled in Saleor: CoinPayments invoice {payment.invoice_id} is cancelled too."
        await _cancel(ctx, payment, reason, replace=False)
    except cp_errors.CoinPaymentsError as exc:
        return EventOutcome("retry", f"CoinPayments is not answering: {exc.message}", temporary=True)
    await _note(ctx, installation, f"cancelled:{payment.id}", order["id"], reason)
    return EventOutcome("cancelled", reason)


async def follow_change(ctx: AppContext, installation: InstallationRecord, order: dict[str, Any]) -> EventOutcome:
    payment = await _latest(ctx, installation, order["id"])
    if payment is None or order.get("status") in ("CANCELED", "DRAFT", "EXPIRED"):
        return EventOutcome("ignored", f"{_name(order)} has no CoinPayments invoice to follow.")
    details = payment.details or {}
    if payment.state in sent_invoices.ENDED:
        if details.get(REPLACE_PENDING):  # cancelled for a new total; the new invoice is still owed
            return await _reissue(ctx, installation, order, payment, details.get("cancel_reason") or "")
        return EventOutcome("ignored", f"{_name(order)} has no live CoinPayments invoice.")
    if not details.get("order_total"):  # billed before the app kept the total: nothing to compare
        return EventOutcome("unchanged", f"{_name(order)}: the billed total is not known.")
    billed = Decimal(str(details["order_total"]))
    total = order_total(order)
    if total == billed:
        return EventOutcome("unchanged", f"{_name(order)}: the total is still {Money.of(billed, payment.currency)}.")
    change = (
        f"{_name(order)}'s total changed from {Money.of(billed, payment.currency)} "
        f"to {Money.of(total, payment.currency)}"
    )
    try:
        paid = await _paid_now(ctx, payment)
        if paid.paid:
            text = (
                f"{change}, but CoinPayments invoice {payment.invoice_id} already has a payment ({paid.state}): "
                "nothing was cancelled and no new invoice was sent. Staff must decide."
            )
            return await _kept(ctx, installation, f"changed-paid:{payment.id}:{total}", order["id"], text)
        reason = f"{change}: CoinPayments invoice {payment.invoice_id} is cancelled."
        await _cancel(ctx, payment, reason, replace=True)
    except cp_errors.CoinPaymentsError as exc:
        return EventOutcome("retry", f"CoinPayments is not answering: {exc.message}", temporary=True)
    return await _reissue(ctx, installation, order, payment, reason)


async def _reissue(
    ctx: AppContext, installation: InstallationRecord, order: dict[str, Any], old: Payment, reason: str
) -> EventOutcome:
    result = await sent_invoices.send_invoice(ctx, installation, order)
    if isinstance(result, sent_invoices.SendRefused):
        if result.temporary:
            return EventOutcome("retry", result.message, temporary=True)
        text = f"{reason} No new invoice was sent: {result.message}"
    else:
        text = f"{reason} New invoice {result.invoice_id} for {result.amount} e-mailed to {result.email}."
    async with ctx.db.session(write=True) as session:
        row = await PaymentRepository(session).get(old.id, lock=True)
        if row is not None:
            row.details = {**(row.details or {}), REPLACE_PENDING: False}
        await queue_note(session, installation.id, f"reissued:{old.id}", order["id"], text)
    return EventOutcome("reissued" if not isinstance(result, sent_invoices.SendRefused) else "cancelled", text)

"""Outbox deliveries of issue 11: Saleor's invoice record for invoices billed without "Generate
invoice" (`invoiceCreate`), payment reminders (`invoiceSendNotification` + a note), and the
CANCEL_SUCCESS of an invoice cancelled because its order was cancelled or changed.

Each reads the payment at delivery time, so a call queued while Saleor was down goes out with what
is true then (a reminder for an invoice paid meanwhile is dropped). None is made twice when an
answer is lost: `invoiceCreate` looks for the order's invoice first, and a reminder tried again
looks for an INVOICE_SENT event since it was queued (Saleor's e-mail cannot be taken back).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import structlog

from saleor_coinpayments.context import AppContext
from saleor_coinpayments.money import Money, format_decimal
from saleor_coinpayments.payments.delivery.outbox import EventReport
from saleor_coinpayments.payments.delivery.registry import DELIVERED, FAILED, RETRY, Delivery, deliveries
from saleor_coinpayments.payments.invoicing.notes import queue_note
from saleor_coinpayments.payments.invoicing.reminders import REMINDER, describe_offset
from saleor_coinpayments.payments.payment_method import payment_method_name
from saleor_coinpayments.payments.refresh import payment_lock
from saleor_coinpayments.payments.repository import PaymentRepository
from saleor_coinpayments.saleor.client import describe_errors, mutation_errors
from saleor_coinpayments.saleor.payment_method_details import event_report_call
from saleor_coinpayments.saleor.schema import load_document
from saleor_coinpayments.states import PaymentState
from saleor_coinpayments.store.installations import InstallationRecord
from saleor_coinpayments.store.tables import OutboxMessage, Payment
from saleor_coinpayments.store.types import utcnow

log = structlog.get_logger(__name__)

INVOICE_CREATE = "invoice_create"
CANCEL_REPORT = "invoice_cancel_report"
KINDS = frozenset({INVOICE_CREATE, REMINDER, CANCEL_REPORT})
SALEOR_INVOICE = "saleor_invoice_id"

_DELIVERED: Delivery = (DELIVERED, None)
# How far Saleor's clock may run behind ours when its INVOICE_SENT events are compared with a reminder's queueing.
CLOCK_SKEW = timedelta(minutes=10)


async def remember_saleor_invoice(ctx: AppContext, payment_id: str, saleor_invoice_id: str) -> None:
    """The Saleor invoice that shows this CoinPayments invoice (reminders re-send that one)."""
    async with payment_lock(payment_id), ctx.db.session(write=True) as session:
        row = await PaymentRepository(session).get(payment_id, lock=True)
        if row is not None and (row.details or {}).get(SALEOR_INVOICE) != saleor_invoice_id:
            row.details = {**(row.details or {}), SALEOR_INVOICE: saleor_invoice_id}


async def made_before(
    ctx: AppContext, installation: InstallationRecord, payment: Payment, items: str, key: str
) -> str | None:
    """The id of the order's `items` entry whose `key` is this invoice's id — what an earlier call
    made before its answer was lost — or None. Raises LookupError when Saleor has no such order."""
    data = await _call(ctx, installation, "order_for_invoice", {"id": payment.source_id})
    order = data.get("order")
    if not isinstance(order, dict):
        raise LookupError(f"order {payment.source_id} not found in Saleor")
    return next(
        (
            str(item["id"])
            for item in order.get(items) or []
            if isinstance(item, dict) and item.get(key) == payment.invoice_id
        ),
        None,
    )


async def _call(ctx: AppContext, installation: InstallationRecord, document: str, variables: dict[str, Any]) -> Any:
    return await ctx.saleor.execute(
        installation.saleor_api_url, load_document(document), variables, token=installation.app_token
    )


def _error(data: dict[str, Any], field: str) -> Delivery | None:
    errors = mutation_errors(data, field)
    return (FAILED, describe_errors(errors)) if errors else None


async def _invoice_create(ctx: AppContext, installation: InstallationRecord, payment: Payment) -> Delivery:
    if (payment.details or {}).get(SALEOR_INVOICE):
        return _DELIVERED
    if not payment.invoice_link:
        return FAILED, "CoinPayments did not return a link for this invoice"
    # After a crash between Saleor's answer and our write, the invoice record is already there.
    try:
        found = await made_before(ctx, installation, payment, "invoices", "number")
    except LookupError as exc:
        return FAILED, str(exc)
    if found is None:
        data = await _call(
            ctx,
            installation,
            "invoice_create",
            {"orderId": payment.source_id, "input": {"number": payment.invoice_id, "url": payment.invoice_link}},
        )
        failed = _error(data, "invoiceCreate")
        if failed:
            return failed
        found = str(data["invoiceCreate"]["invoice"]["id"])
    await remember_saleor_invoice(ctx, payment.id, found)
    log.info("saleor_invoice_created", invoice_id=payment.invoice_id, saleor_invoice_id=found)
    return _DELIVERED


async def _reminder(
    ctx: AppContext, installation: InstallationRecord, payment: Payment, message: OutboxMessage
) -> Delivery:
    if payment.state != PaymentState.UNPAID.value or payment.credited_amount > 0:
        log.info("reminder_dropped", invoice_id=payment.invoice_id, state=payment.state)
        return _DELIVERED
    saleor_invoice_id = (payment.details or {}).get(SALEOR_INVOICE)
    if not saleor_invoice_id:
        return RETRY, "Saleor's invoice record for this order is not made yet"
    if message.attempts > 1 and await _invoice_sent_since(
        ctx, installation, payment.source_id, message.created_at - CLOCK_SKEW
    ):
        # An earlier try's answer was lost after Saleor had e-mailed the buyer: only the note is left.
        log.info("reminder_already_sent", invoice_id=payment.invoice_id, reminder_id=message.payload.get("reminderId"))
    else:
        data = await _call(ctx, installation, "invoice_send_notification", {"id": saleor_invoice_id})
        failed = _error(data, "invoiceSendNotification")
        if failed:
            return failed
    details = payment.details or {}
    offset = int(message.payload.get("offsetDays", 0))
    due_date = details.get("due_date")
    when = f" ({describe_offset(offset, datetime.fromisoformat(due_date).date())})" if due_date else ""
    email = details.get("email") or "the buyer"
    text = (
        f"Payment reminder{when}: CoinPayments invoice {payment.invoice_id} for "
        f"{Money.of(payment.amount, payment.currency)} e-mailed again to {email}."
    )
    async with ctx.db.session() as session:
        key = f"reminder:{message.payload.get('reminderId')}"
        await queue_note(session, installation.id, key, payment.source_id, text)
    return _DELIVERED


async def _invoice_sent_since(
    ctx: AppContext, installation: InstallationRecord, order_id: str, since: datetime
) -> bool:
    data = await _call(ctx, installation, "order_invoices_sent", {"id": order_id})
    return invoice_sent_since(data.get("order"), since)


def invoice_sent_since(order: Any, since: datetime) -> bool:
    """Whether the order (as `order_invoices_sent` reads it) has an INVOICE_SENT event at or after
    `since`: Saleor e-mailed its invoice then. Events without a readable, zoned date do not count."""
    events = order.get("events") if isinstance(order, dict) else None
    for event in events or []:
        if not isinstance(event, dict) or event.get("type") != "INVOICE_SENT":
            continue
        try:
            sent_at = datetime.fromisoformat(str(event.get("date")))
        except ValueError:
            continue
        if sent_at.tzinfo is not None and sent_at >= since:
            return True
    return False


async def _cancel_report(ctx: AppContext, installation: InstallationRecord, payment: Payment) -> Delivery:
    if payment.saleor_transaction_id is None:
        return RETRY, "the order's transaction is not made yet"
    amount = format_decimal(payment.amount, Money.of(0, payment.currency).decimals)
    report = EventReport(
        transaction_id=payment.saleor_transaction_id,
        type="CANCEL_SUCCESS",
        psp_reference=str(payment.invoice_id),
        amount=amount,
        message=str((payment.details or {}).get("cancel_reason") or "CoinPayments invoice cancelled"),
        time=utcnow(),
        available_actions=[],
        payment_method=payment_method_name(payment),
    )
    document, variables = event_report_call(installation.schema_version, report.variables())
    data = await ctx.saleor.execute(installation.saleor_api_url, document, variables, token=installation.app_token)
    return _error(data, "transactionEventReport") or _DELIVERED


async def deliver(ctx: AppContext, installation: InstallationRecord, message: OutboxMessage) -> Delivery:
    """Send one queued call of this module (Saleor's errors are mapped by the outbox worker)."""
    async with ctx.db.session() as session:
        payment = await PaymentRepository(session).get(message.payment_id or "")
    if payment is None or payment.invoice_id is None:
        return FAILED, "no invoice behind this message"
    if message.kind == INVOICE_CREATE:
        return await _invoice_create(ctx, installation, payment)
    if message.kind == REMINDER:
        return await _reminder(ctx, installation, payment, message)
    return await _cancel_report(ctx, installation, payment)


for _kind in KINDS:
    deliveries.register(_kind, deliver)

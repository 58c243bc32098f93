"""Sent-out invoices: bill a Saleor order with a CoinPayments invoice e-mailed to the buyer.

Three doors lead here — INVOICE_REQUESTED (staff "Generate invoice"), `saleor-coinpayments invoice
send` and `POST /api/invoices/send` — and all end in `send_invoice`:

1. The order is checked first (status, e-mail, currency, what is left to pay): a refusal creates
   nothing at CoinPayments or in Saleor.
2. One live CoinPayments invoice per order. The payment row is claimed under the request key
   `order:<order id>:<generation>` (unique per installation) before CoinPayments is called, so
   asking twice — or Saleor retrying its webhook — finds the same invoice; once it expired or was
   cancelled, the next generation makes a fresh one.
3. In the same database transaction as the invoice id, the Saleor calls are queued in the outbox:
   `transactionCreate` on the order (pspReference = invoice id) and `invoiceUpdate(number, url)`
   for the Saleor invoice that asked. The outbox retries them while Saleor is down.
4. Once the transaction exists the payment row carries its id, and the checkout machinery
   (refresh → state machine → outbox of `transactionEventReport`) reports payments onto it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal

import structlog
from pydantic import ValidationError

from saleor_coinpayments.coinpayments import errors as cp_errors
from saleor_coinpayments.coinpayments.client import CoinPaymentsClient, RecoveredInvoice
from saleor_coinpayments.coinpayments.models.invoice_request import CreateInvoiceRequest
from saleor_coinpayments.coinpayments.models.invoices import CreatedInvoice
from saleor_coinpayments.context import AppContext
from saleor_coinpayments.money import Money, MoneyError, to_decimal
from saleor_coinpayments.payments.delivery.outbox import OutboxRepository
from saleor_coinpayments.payments.delivery.registry import DELIVERED, FAILED, Delivery, deliveries
from saleor_coinpayments.payments.gateway import client_for
from saleor_coinpayments.payments.invoice_builder import (
    EmailDelivery,
    InvoiceBuildError,
    SourceSummary,
    build_invoice_request,
    make_invoice_ref,
    summary_from_payload,
)
from saleor_coinpayments.payments.invoicing import saleor_calls
from saleor_coinpayments.payments.invoicing.notes import ORDER_NOTE
from saleor_coinpayments.payments.invoicing.reminders import ReminderRepository, default_due_date
from saleor_coinpayments.payments.payloads import PayloadError
from saleor_coinpayments.payments.refresh import refresh_payment, stamp_new_invoice
from saleor_coinpayments.payments.repository import PaymentRepository, wait_for_invoice
from saleor_coinpayments.saleor.client import SaleorRejected, SaleorUnavailable, describe_errors, mutation_errors
from saleor_coinpayments.saleor.schema import load_document
from saleor_coinpayments.states import PaymentState
from saleor_coinpayments.store.configurations import ConfigurationRecord, ConfigurationRepository
from saleor_coinpayments.store.installations import InstallationRecord
from saleor_coinpayments.store.tables import OutboxMessage, Payment, PaymentFlow
from saleor_coinpayments.store.types import utcnow
from saleor_coinpayments.urls import coinpayments_notification_url

log = structlog.get_logger(__name__)

TRANSACTION_CREATE = "transaction_create"
INVOICE_UPDATE = "invoice_update"
OUTBOX_KINDS = frozenset({TRANSACTION_CREATE, INVOICE_UPDATE, ORDER_NOTE})

TRANSACTION_NAME = "CoinPayments"
ENDED = frozenset({PaymentState.EXPIRED.value, PaymentState.CANCELLED.value})
_EMAIL = re.compile(r"^[^@\s;,]+@[^@\s;,]+\.[^@\s;,.]+$")  # what CoinPayments accepts (dotted domain)
_PAID = frozenset({"FULL", "OVERCHARGED"})
ORDER_NOT_FOUND = "ORDER_NOT_FOUND"

Outcome = Literal["created", "existing", "replaced"]


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SendOptions:
    due_date: datetime | None = None
    note: str | None = None


@dataclass(frozen=True)
class InvoiceSent:
    """The order has a live CoinPayments invoice: just made (`created`, `replaced` when an earlier
    one had expired or was cancelled) or found (`existing`)."""

    outcome: Outcome
    order_id: str
    order_number: str | None
    invoice_id: str
    invoice_url: str | None
    amount: Money
    email: str
    state: str
    previous_invoice_id: str | None = None

    def describe(self) -> str:
        order = f"order {self.order_number or self.order_id}"
        where = f": {self.invoice_url}" if self.invoice_url else ""
        if self.outcome == "existing":
            return (
                f"{order} already has CoinPayments invoice {self.invoice_id} "
                f"({self.state}, {self.amount} sent to {self.email}); no new invoice was made{where}"
            )
        text = f"created CoinPayments invoice {self.invoice_id} for {order}: {self.amount}, e-mailed to {self.email}"
        if self.outcome == "replaced":
            text += f" (the previous invoice {self.previous_invoice_id} had expired or was cancelled)"
        return text + where

    def to_json(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "created": self.outcome != "existing",
            "orderId": self.order_id,
            "orderNumber": self.order_number,
            "invoiceId": self.invoice_id,
            "invoiceUrl": self.invoice_url,
            "amount": self.amount.as_str(),
            "currency": self.amount.currency,
            "email": self.email,
            "state": self.state,
            "previousInvoiceId": self.previous_invoice_id,
            "message": self.describe(),
        }


@dataclass(frozen=True)
class SendRefused:
    """Nothing was sent. `temporary`: an outside system did not answer, asking later may work."""

    code: str
    message: str
    temporary: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "temporary": self.temporary}}


SendResult = InvoiceSent | SendRefused


# --------------------------------------------------------------------------------------------
# The order: can it be billed, and for how much (pure)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BillableOrder:
    summary: SourceSummary
    amount: Money
    email: str
    channel_slug: str


def amount_of(money: Any) -> Decimal:
    """The amount of a Saleor `Money` object as read (Decimal); 0 when absent. An amount that is
    there but unreadable raises MoneyError: read as 0 it would make a paid order look unpaid."""
    value = money.get("amount") if isinstance(money, Mapping) else None
    if value is None:
        return Decimal(0)
    return to_decimal(value)


def _charged(order: Mapping[str, Any]) -> Decimal:
    return amount_of(order.get("totalCharged"))


def billable_order(order: Mapping[str, Any]) -> BillableOrder | SendRefused:
    """Whether an order (as INVOICE_REQUESTED or `order(id)` carries it) can get a sent-out invoice."""
    name = f"Order {order.get('number') or order.get('id') or '?'}"
    status = order.get("status")
    if status == "CANCELED":
        return SendRefused("ORDER_CANCELLED", f"{name} is cancelled: there is nothing to bill.")
    if status == "EXPIRED":
        return SendRefused("ORDER_EXPIRED", f"{name} has expired: there is nothing to bill.")
    if status == "DRAFT":
        return SendRefused("ORDER_DRAFT", f"{name} is still a draft: complete it first, then send the invoice.")
    try:
        summary = summary_from_payload(order)
    except InvoiceBuildError as exc:
        return SendRefused("INVALID_ORDER", f"{name} cannot be invoiced: {exc}")
    if summary.kind != "order":
        return SendRefused("INVALID_ORDER", f"{name} is not an order.")
    if not summary.email:
        return SendRefused("NO_EMAIL", f"{name} has no customer e-mail address to send the invoice to.")
    if not _EMAIL.match(summary.email) or len(summary.email) > 320:
        return SendRefused("INVALID_EMAIL", f"{name}'s e-mail address {summary.email!r} cannot receive an invoice.")
    if summary.channel_slug is None:
        return SendRefused("INVALID_ORDER", f"{name} has no channel.")
    if order.get("chargeStatus") in _PAID:
        return SendRefused("ALREADY_PAID", f"{name} is already fully paid.")
    try:
        remaining = Money.of(summary.total_gross - _charged(order), summary.currency)
    except MoneyError as exc:
        return SendRefused("INVALID_ORDER", f"{name} cannot be invoiced: {exc}")
    if remaining.amount <= 0:
        return SendRefused("ALREADY_PAID", f"{name} is already fully paid.")
    return BillableOrder(summary=summary, amount=remaining, email=summary.email, channel_slug=summary.channel_slug)


def parse_due_date(text: str, now: datetime | None = None) -> datetime:
    """`2026-12-31` (payable through that day, UTC) or an ISO date-time with offset; not in the past."""
    raw = text.strip()
    try:
        if len(raw) == 10:
            moment = datetime.combine(date.fromisoformat(raw), time(23, 59, 59), tzinfo=UTC)
        else:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"due date {text!r} is not YYYY-MM-DD or an ISO date-time") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"due date {text!r} needs a time zone offset (or give a plain date)")
    if moment <= (now or utcnow()):
        raise ValueError(f"due date {text!r} is in the past")
    return moment.astimezone(UTC)


# --------------------------------------------------------------------------------------------
# The use case
# --------------------------------------------------------------------------------------------


def _sent(outcome: Outcome, payment: Payment, billable: BillableOrder, previous: str | None = None) -> InvoiceSent:
    assert payment.invoice_id is not None
    return InvoiceSent(
        outcome=outcome,
        order_id=billable.summary.id,
        order_number=billable.summary.number,
        invoice_id=payment.invoice_id,
        invoice_url=payment.invoice_link,
        amount=Money.of(payment.amount, payment.currency),
        email=str((payment.details or {}).get("email") or billable.email),
        state=payment.state,
        previous_invoice_id=previous,
    )


def _generation(payment: Payment | None) -> int:
    if payment is None or not payment.request_key:
        return 1
    tail = payment.request_key.rsplit(":", 1)[-1]
    return int(tail) + 1 if tail.isdigit() else 1


async def _enqueue_followups(session: Any, payment: Payment, saleor_invoice_id: str | None) -> None:
    """The Saleor calls an invoice needs, each once (dedup keys); payloads are read at delivery."""
    outbox = OutboxRepository(session)
    if payment.saleor_transaction_id is None:
        await outbox.enqueue(
            installation_id=payment.installation_id,
            payment_id=payment.id,
            dedup_key=f"{payment.id}:{TRANSACTION_CREATE}",
            kind=TRANSACTION_CREATE,
            payload={"orderId": payment.source_id},
        )
    if saleor_invoice_id:
        await outbox.enqueue(
            installation_id=payment.installation_id,
            payment_id=payment.id,
            dedup_key=f"{payment.installation_id}:{INVOICE_UPDATE}:{saleor_invoice_id}"[:255],
            kind=INVOICE_UPDATE,
            payload={"invoiceId": saleor_invoice_id},
        )
    elif not any(message.kind == INVOICE_UPDATE for message in await outbox.for_payment(payment.id)):
        # Billed without "Generate invoice": Saleor gets its own invoice record of ours.
        await outbox.enqueue(
            installation_id=payment.installation_id,
            payment_id=payment.id,
            dedup_key=f"{payment.id}:{saleor_calls.INVOICE_CREATE}",
            kind=saleor_calls.INVOICE_CREATE,
            payload={"orderId": payment.source_id},
        )


async def _followups(ctx: AppContext, payment_id: str, saleor_invoice_id: str | None) -> Payment:
    async with ctx.db.session() as session:
        row = await PaymentRepository(session).get(payment_id)
        assert row is not None
        await _enqueue_followups(session, row, saleor_invoice_id)
        return row


async def _store(
    ctx: AppContext,
    client: CoinPaymentsClient,
    payment_id: str,
    created: CreatedInvoice | RecoveredInvoice,
    saleor_invoice_id: str | None,
    reminders: tuple[int, ...] = (),
) -> Payment:
    """The invoice id and its links, committed together with the queued Saleor calls."""
    expires: datetime | None = None
    if isinstance(created, RecoveredInvoice):
        expires = created.summary.expires or (await client.get_invoice(created.id)).expires
    elif created.payment is not None:
        expires = created.payment.expires
    async with ctx.db.session(write=True) as session:
        row = await PaymentRepository(session).get(payment_id, lock=True)
        assert row is not None
        row.invoice_id = created.id
        if isinstance(created, CreatedInvoice):
            row.invoice_link = created.link
            row.checkout_link = created.checkout_link
        row.expires_at = expires
        stamp_new_invoice(row, ctx.settings)
        await session.flush()
        await _enqueue_followups(session, row, saleor_invoice_id)
        due_date = (row.details or {}).get("due_date")
        if reminders and due_date:
            await ReminderRepository(session).schedule(row, datetime.fromisoformat(due_date), reminders)
        return row


async def _claim(
    ctx: AppContext,
    installation: InstallationRecord,
    config: ConfigurationRecord,
    billable: BillableOrder,
    request_key: str,
    invoice_ref: str,
    options: SendOptions,
) -> tuple[Payment, bool]:
    async with ctx.db.session() as session:
        repo = PaymentRepository(session)
        row = Payment(
            installation_id=installation.id,
            configuration_id=config.id,
            flow=PaymentFlow.SENT_INVOICE.value,
            saleor_transaction_id=None,
            request_key=request_key,
            source_type="order",
            source_id=billable.summary.id,
            channel_slug=billable.channel_slug,
            our_invoice_ref=invoice_ref,
            currency=billable.amount.currency,
            amount=billable.amount.amount,
            state=PaymentState.UNPAID.value,
            details={
                "email": billable.email,
                "order_number": billable.summary.number,
                "due_date": options.due_date.isoformat() if options.due_date else None,
                "order_total": str(billable.summary.total_gross),
            },
        )
        if await repo.add_if_absent(row):
            return row, True
    async with ctx.db.session() as session:
        existing = await PaymentRepository(session).by_request_key(installation.id, request_key)
    assert existing is not None, "claim conflict without a row"
    return existing, False


async def _drop_claim(ctx: AppContext, payment_id: str) -> None:
    """CoinPayments refused the invoice: forget the claim, so nothing half-made remains."""
    async with ctx.db.session(write=True) as session:
        row = await PaymentRepository(session).get(payment_id, lock=True)
        if row is not None and row.invoice_id is None:
            await session.delete(row)


async def _current(ctx: AppContext, payment: Payment) -> Payment:
    """The payment after a fresh read from CoinPayments (so an expiry is seen now, not later)."""
    if payment.saleor_transaction_id is None or payment.is_final:
        return payment
    try:
        await refresh_payment(ctx, payment.id)
    except cp_errors.CoinPaymentsError as exc:
        log.warning("sent_invoice_refresh_failed", error=exc.message)
        return payment
    async with ctx.db.session() as session:
        fresh = await PaymentRepository(session).get(payment.id)
    return fresh or payment


async def send_invoice(
    ctx: AppContext,
    installation: InstallationRecord,
    order: Mapping[str, Any],
    *,
    saleor_invoice_id: str | None = None,
    options: SendOptions | None = None,
) -> SendResult:
    """Make sure the order has one live CoinPayments invoice e-mailed to its buyer."""
    options = options or SendOptions()
    checked = billable_order(order)
    if isinstance(checked, SendRefused):
        return checked
    order_id = checked.summary.id
    structlog.contextvars.bind_contextvars(order_id=order_id)
    async with ctx.db.session() as session:
        history = await PaymentRepository(session).sent_for_order(installation.id, order_id)
        config = await ConfigurationRepository(session, ctx.box).for_channel(installation.id, checked.channel_slug)
    latest = history[-1] if history else None
    previous: str | None = None
    if latest is not None and latest.invoice_id:
        latest = await _current(ctx, latest)
        if latest.state not in ENDED:
            await _followups(ctx, latest.id, saleor_invoice_id)
            return _sent("existing", latest, checked)
        previous = latest.invoice_id
    if config is None:
        return SendRefused("NOT_CONFIGURED", f"Crypto payments are not set up for channel {checked.channel_slug!r}.")
    if options.due_date is None:
        options = replace(options, due_date=default_due_date(config.invoice_due_days))
    client = client_for(ctx, config)
    try:
        fiat_id = await client.fiat_currency_id(checked.amount.currency)
    except cp_errors.CurrencyNotFoundError:
        return SendRefused(
            "UNSUPPORTED_CURRENCY", f"CoinPayments does not price invoices in {checked.amount.currency}."
        )
    except cp_errors.CoinPaymentsError as exc:
        return SendRefused("PROVIDER_UNAVAILABLE", f"CoinPayments is not answering: {exc.message}", temporary=True)

    # A claim whose invoice never arrived keeps its key: the retry finds or makes that invoice.
    if latest is not None and not latest.invoice_id and latest.request_key:
        request_key = latest.request_key
    else:
        request_key = f"order:{order_id}:{_generation(latest)}"
    invoice_ref = make_invoice_ref(installation.id, request_key)
    try:
        body = build_invoice_request(
            checked.summary,
            amount=checked.amount,
            invoice_ref=invoice_ref,
            fiat_currency_id=fiat_id,
            notification_url=coinpayments_notification_url(ctx.settings, config.id),
            refund_email=None,
            success_url=None,
            cancel_url=None,
            payment_currency=None,
            email_delivery=EmailDelivery(to=checked.email),
            due_date=options.due_date,
            note=options.note,
            description=None,
        )
        request = CreateInvoiceRequest.model_validate(body)
    except (InvoiceBuildError, ValidationError) as exc:
        return SendRefused("INVALID_ORDER", f"This order cannot be invoiced: {exc}")

    payment, inserted = await _claim(ctx, installation, config, checked, request_key, invoice_ref, options)
    if payment.invoice_id:
        await _followups(ctx, payment.id, saleor_invoice_id)
        return _sent("existing", payment, checked)
    if not inserted and utcnow() - payment.updated_at < timedelta(seconds=30):
        waited = await wait_for_invoice(ctx.db, payment.id)
        if waited is not None and waited.invoice_id:
            await _followups(ctx, waited.id, saleor_invoice_id)
            return _sent("existing", waited, checked)
    try:
        created: CreatedInvoice | RecoveredInvoice | None = None
        if not inserted:
            found = await client.find_invoice_by_our_id(invoice_ref)
            if found is not None:
                created = RecoveredInvoice(id=found.id, summary=found)
        if created is None:
            created = await client.create_invoice(request)
        stored = await _store(ctx, client, payment.id, created, saleor_invoice_id, config.invoice_reminders)
    except cp_errors.CoinPaymentsValidationError as exc:
        await _drop_claim(ctx, payment.id)
        log.warning("sent_invoice_rejected", error=exc.message)
        return SendRefused("INVOICE_REJECTED", f"CoinPayments refused this invoice: {exc.message}")
    except cp_errors.CoinPaymentsError as exc:
        log.warning("sent_invoice_provider_unavailable", error=exc.message)
        return SendRefused("PROVIDER_UNAVAILABLE", f"CoinPayments is not answering: {exc.message}", temporary=True)
    log.info("sent_invoice_created", invoice_id=stored.invoice_id, amount=str(checked.amount), previous=previous)
    return _sent("replaced" if previous else "created", stored, checked, previous)


async def order_from_saleor(
    ctx: AppContext, installation: InstallationRecord, order_id: str
) -> dict[str, Any] | SendRefused:
    """The order as billing reads it (`order_for_invoice`), or why it could not be read: one read and
    one mapping of Saleor's errors for the send doors and the order's card."""
    try:
        data = await ctx.saleor.execute(
            installation.saleor_api_url,
            load_document("order_for_invoice"),
            {"id": order_id},
            token=installation.app_token,
        )
    except SaleorUnavailable as exc:
        return SendRefused("SALEOR_UNAVAILABLE", exc.message, temporary=True)
    except SaleorRejected as exc:
        return SendRefused("SALEOR_REJECTED", exc.message)
    order = data.get("order")
    if not isinstance(order, dict):
        return SendRefused(ORDER_NOT_FOUND, f"Saleor has no order {order_id!r}.")
    return order


async def send_for_order(
    ctx: AppContext, installation: InstallationRecord, order_id: str, options: SendOptions | None = None
) -> SendResult:
    """The CLI and HTTP door: read the order from Saleor, then `send_invoice`."""
    order = await order_from_saleor(ctx, installation, order_id)
    if isinstance(order, SendRefused):
        return order
    return await send_invoice(ctx, installation, order, options=options)


async def on_invoice_requested(
    ctx: AppContext, installation: InstallationRecord, payload: dict[str, Any]
) -> SendResult | None:
    """INVOICE_REQUESTED: bill the order and point Saleor's invoice at ours. None: not ours to fill
    (the invoice already has a number and a link). A final refusal is noted on the order."""
    order = payload.get("order")
    invoice = payload.get("invoice")
    if not isinstance(order, dict) or not isinstance(order.get("id"), str):
        raise PayloadError("order missing or not an object")
    if not isinstance(invoice, dict) or not isinstance(invoice.get("id"), str):
        raise PayloadError("invoice missing or not an object")
    if invoice.get("number") and invoice.get("url"):
        return None
    result = await send_invoice(ctx, installation, order, saleor_invoice_id=invoice["id"])
    if isinstance(result, SendRefused) and not result.temporary:
        async with ctx.db.session() as session:
            await OutboxRepository(session).enqueue(
                installation_id=installation.id,
                payment_id=None,
                dedup_key=f"{installation.id}:{ORDER_NOTE}:{invoice['id']}"[:255],
                kind=ORDER_NOTE,
                payload={"order": order["id"], "message": f"CoinPayments invoice not sent: {result.message}"},
            )
    log.info(
        "invoice_requested",
        outcome=result.code if isinstance(result, SendRefused) else result.outcome,
        saleor_invoice_id=invoice["id"],
    )
    return result


# --------------------------------------------------------------------------------------------
# Outbox deliveries (registered for OUTBOX_KINDS below)
# --------------------------------------------------------------------------------------------

_DELIVERED: Delivery = (DELIVERED, None)


def _errors(data: dict[str, Any], field: str) -> str | None:
    errors = mutation_errors(data, field)
    return describe_errors(errors) if errors else None


async def _transaction_create(ctx: AppContext, installation: InstallationRecord, payment: Payment) -> Delivery:
    if payment.saleor_transaction_id:
        return _DELIVERED
    assert payment.invoice_id is not None
    # After a crash between Saleor's answer and our write, the transaction is already there.
    try:
        transaction_id = await saleor_calls.made_before(ctx, installation, payment, "transactions", "pspReference")
    except LookupError as exc:
        return FAILED, str(exc)
    if transaction_id is None:
        email = (payment.details or {}).get("email") or "the buyer"
        transaction: dict[str, Any] = {
            "name": TRANSACTION_NAME,
            "pspReference": payment.invoice_id,
            "message": f"Invoice e-mailed to {email}",
            "availableActions": ["CANCEL"],
        }
        if payment.invoice_link:
            transaction["externalUrl"] = payment.invoice_link
        data = await ctx.saleor.execute(
            installation.saleor_api_url,
            load_document("transaction_create"),
            {
                "id": payment.source_id,
                "transaction": transaction,
                "transactionEvent": {
                    "pspReference": payment.invoice_id,
                    "message": f"CoinPayments invoice {payment.invoice_id} e-mailed to {email}",
                },
            },
            token=installation.app_token,
        )
        error = _errors(data, "transactionCreate")
        if error:
            return FAILED, error
        transaction_id = str(data["transactionCreate"]["transaction"]["id"])
    async with ctx.db.session() as session:
        await PaymentRepository(session).attach_transaction(payment.id, transaction_id)
    log.info("order_transaction_created", invoice_id=payment.invoice_id, transaction_id=transaction_id)
    return _DELIVERED


async def _invoice_update(
    ctx: AppContext, installation: InstallationRecord, payment: Payment, saleor_invoice_id: str
) -> Delivery:
    if not payment.invoice_link:
        return FAILED, "CoinPayments did not return a link for this invoice"
    data = await ctx.saleor.execute(
        installation.saleor_api_url,
        load_document("invoice_update"),
        {"id": saleor_invoice_id, "input": {"number": payment.invoice_id, "url": payment.invoice_link}},
        token=installation.app_token,
    )
    error = _errors(data, "invoiceUpdate")
    if error:
        return FAILED, error
    await saleor_calls.remember_saleor_invoice(ctx, payment.id, saleor_invoice_id)
    return _DELIVERED


async def deliver(ctx: AppContext, installation: InstallationRecord, message: OutboxMessage) -> Delivery:
    """Send one queued Saleor call of this flow (Saleor's errors are mapped by the outbox worker)."""
    if message.kind == ORDER_NOTE:
        data = await ctx.saleor.execute(
            installation.saleor_api_url,
            load_document("order_note_add"),
            dict(message.payload),
            token=installation.app_token,
        )
        error = _errors(data, "orderNoteAdd")
        return (FAILED, error) if error else _DELIVERED
    async with ctx.db.session() as session:
        payment = await PaymentRepository(session).get(message.payment_id or "")
    if payment is None or payment.invoice_id is None:
        return FAILED, "no invoice behind this message"
    if message.kind == TRANSACTION_CREATE:
        return await _transaction_create(ctx, installation, payment)
    return await _invoice_update(ctx, installation, payment, str(message.payload["invoiceId"]))


for _kind in OUTBOX_KINDS:
    deliveries.register(_kind, deliver)

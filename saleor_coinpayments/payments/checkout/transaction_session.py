"""TRANSACTION_INITIALIZE_SESSION and TRANSACTION_PROCESS_SESSION.

One CoinPayments invoice per Saleor transaction. The payment row is claimed (unique on the
transaction) before CoinPayments is called, so a retry, a double click or a crash never makes a
second invoice: a claim without an invoice id is first looked up at CoinPayments by our invoice
reference. Every failure is an answer a storefront can show, never an error status.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import structlog

from saleor_coinpayments import states
from saleor_coinpayments.coinpayments import errors as cp_errors
from saleor_coinpayments.coinpayments.client import CoinPaymentsClient, RecoveredInvoice
from saleor_coinpayments.coinpayments.models.invoice_request import CreateInvoiceRequest
from saleor_coinpayments.coinpayments.models.invoices import CreatedInvoice
from saleor_coinpayments.context import AppContext
from saleor_coinpayments.money import Money
from saleor_coinpayments.payments.checkout import coin_choice, pay_link
from saleor_coinpayments.payments.checkout.payment_data import invoice_data
from saleor_coinpayments.payments.checkout.responses import SessionResult, charge_failure
from saleor_coinpayments.payments.checkout.storefront_data import (
    StorefrontDataError,
    StorefrontOptions,
    parse_storefront_data,
)
from saleor_coinpayments.payments.gateway import client_for, configuration_for_channel
from saleor_coinpayments.payments.invoice_builder import (
    InvoiceBuildError,
    build_invoice_request,
    make_invoice_ref,
    summary_from_payload,
)
from saleor_coinpayments.payments.payloads import TransactionSession, parse_transaction_session
from saleor_coinpayments.payments.payment_method import payment_method_name
from saleor_coinpayments.payments.refresh import snapshot_of, stamp_new_invoice
from saleor_coinpayments.payments.repository import PaymentRepository, wait_for_invoice
from saleor_coinpayments.payments.watching import buyer_watching
from saleor_coinpayments.saleor.lines import takes_payment_method_details
from saleor_coinpayments.saleor.payment_method_details import session_details
from saleor_coinpayments.states import PaymentState
from saleor_coinpayments.store.configurations import ConfigurationRecord
from saleor_coinpayments.store.fast_path import save_step
from saleor_coinpayments.store.installations import InstallationRecord
from saleor_coinpayments.store.tables import Payment, PaymentFlow
from saleor_coinpayments.store.types import utcnow
from saleor_coinpayments.urls import coinpayments_notification_url

log = structlog.get_logger(__name__)

UNAVAILABLE = "The crypto payment provider is not answering right now. Please try again in a moment."


def _email_of(source: dict[str, Any]) -> str | None:
    for key in ("email", "userEmail"):
        value = source.get(key)
        if isinstance(value, str) and "@" in value:
            return value
    user = source.get("user")
    if isinstance(user, dict) and isinstance(user.get("email"), str):
        return str(user["email"])
    return None


def answer_for(payment: Payment) -> SessionResult:
    """The session answer for what we know of the payment now (DESIGN.md "Payment states")."""
    snapshot = snapshot_of(payment)
    answer = states.session_answer(snapshot)
    return SessionResult(
        result=answer.result,
        message=answer.message,
        psp_reference=answer.psp_reference,
        amount=None if answer.amount is None else Money.of(answer.amount, payment.currency).as_str(),
        external_url=payment.checkout_link or payment.invoice_link,
        data=invoice_data(payment),
        payment_method_details=session_details(payment_method_name(payment)),
    )


def for_line(installation: InstallationRecord, answer: SessionResult) -> SessionResult:
    """Saleor 3.20 and 3.21 have no `paymentMethodDetails`: their answers go without it."""
    if answer.payment_method_details and not takes_payment_method_details(installation.schema_version):
        return replace(answer, payment_method_details=None)
    return answer


async def _claim(
    ctx: AppContext,
    installation: InstallationRecord,
    config: ConfigurationRecord,
    s: TransactionSession,
    options: StorefrontOptions,
) -> tuple[Payment, bool]:
    """The payment row of this transaction, and whether this request inserted it."""
    claimed = await PaymentRepository.claim_transaction(
        ctx.db.fast,
        installation_id=installation.id,
        configuration_id=config.id,
        flow=PaymentFlow.CHECKOUT.value if s.source_type == "checkout" else PaymentFlow.SENT_INVOICE.value,
        saleor_transaction_id=s.transaction_id,
        source_type=s.source_type,
        source_id=s.source_id,
        channel_slug=s.channel_slug,
        our_invoice_ref=make_invoice_ref(installation.id, s.transaction_id),
        currency=s.amount.currency,
        amount=s.amount.amount,
        state=PaymentState.UNPAID.value,
        language_code=s.language_code,
        details={"idempotency_key": s.idempotency_key, **pay_link.page_details(config, options, s.channel_name)},
    )
    if claimed is not None:
        return claimed, True
    row = await ctx.db.fast.read(Payment, installation_id=installation.id, saleor_transaction_id=s.transaction_id)
    assert row is not None, "claimed without a row"
    return row, False


async def _store_invoice(ctx: AppContext, payment: Payment, created: CreatedInvoice) -> Payment:
    """The invoice put on the payment's row (`payment`, as this request read or claimed it), the
    columns that changed written back in one statement, and only while the row has no invoice: no
    other writer touches a row before it has one, and of two requests that each made an invoice
    for it (a stale claim taken over), the first to store wins and the other answers with it. Was
    a locked read and a write in a transaction: four round trips on PostgreSQL instead of one."""
    payment.invoice_id = created.id
    payment.invoice_link = created.link
    payment.checkout_link = created.checkout_link
    if created.payment is not None:
        payment.expires_at = created.payment.expires
    details = dict(payment.details or {})
    if created.payment is not None:
        details["payment_currencies"] = [
            {
                "id": option.currency.id,
                "symbol": option.currency.symbol,
                "name": option.currency.name,
                "decimals": option.currency.decimal_places,
                "amount": None if option.amount is None else str(option.amount),
                "logo": option.currency.logo.image_url if option.currency.logo else None,
            }
            for option in created.payment.payment_currencies
            if not option.is_disabled
        ]
    if created.hot_wallet is not None:
        coin_choice.store_hot_wallet(payment, created.hot_wallet)
    payment.details = details
    stamp_new_invoice(payment, ctx.settings)
    pay_link.attach_if_wanted(payment, ctx.settings)
    (changed,) = await ctx.db.fast.run([save_step(payment, while_null="invoice_id")], atomic=False)
    if changed:
        return payment
    stored = await ctx.db.fast.read(Payment, id=payment.id)
    assert stored is not None, "a payment row is never deleted"
    log.warning("invoice_stored_by_another_request", invoice_id=stored.invoice_id, ours=created.id)
    return stored


async def _store_recovered(ctx: AppContext, client: CoinPaymentsClient, payment_id: str, invoice_id: str) -> Payment:
    invoice = await client.get_invoice(invoice_id)
    async with ctx.db.session(write=True) as session:
        row = await PaymentRepository(session).get(payment_id, lock=True)
        assert row is not None
        row.invoice_id = invoice.id
        row.expires_at = invoice.expires
        stamp_new_invoice(row, ctx.settings)
        pay_link.attach_if_wanted(row, ctx.settings)
        return row


async def initialize(ctx: AppContext, installation: InstallationRecord, payload: dict[str, Any]) -> SessionResult:
    """TRANSACTION_INITIALIZE_SESSION: make (or find again) the invoice of this transaction."""
    return for_line(installation, await _initialize(ctx, installation, payload))


async def process(ctx: AppContext, installation: InstallationRecord, payload: dict[str, Any]) -> SessionResult:
    """TRANSACTION_PROCESS_SESSION: the buyer's coin choice, or where the payment stands now."""
    return for_line(installation, await _process(ctx, installation, payload))


async def _initialize(ctx: AppContext, installation: InstallationRecord, payload: dict[str, Any]) -> SessionResult:
    s = parse_transaction_session(payload)
    structlog.contextvars.bind_contextvars(transaction_id=s.transaction_id)
    if s.amount.is_zero():
        return charge_failure("There is nothing left to pay.", code="NOTHING_TO_PAY")
    existing = await ctx.db.fast.read(Payment, installation_id=installation.id, saleor_transaction_id=s.transaction_id)
    if existing is not None and existing.invoice_id:
        return answer_for(existing)
    config = await configuration_for_channel(ctx, installation.id, s.channel_slug)
    if config is None:
        return charge_failure("Crypto payments are not set up for this shop yet.", code="NOT_CONFIGURED")
    try:
        options = parse_storefront_data(s.data)
    except StorefrontDataError as exc:
        return charge_failure(str(exc), code="INVALID_DATA")
    client = client_for(ctx, config)
    try:
        fiat_id = await client.fiat_currency_id(s.amount.currency)
        wanted = options.payment_currency
        coin = await coin_choice.accepted_coin(client, config, wanted) if wanted else None
    except cp_errors.CurrencyNotFoundError:
        return charge_failure(
            f"Payments in {s.amount.currency} cannot be made with crypto here.", code="UNSUPPORTED_CURRENCY"
        )
    except StorefrontDataError as exc:
        return charge_failure(str(exc), code="INVALID_DATA")
    except cp_errors.CoinPaymentsError as exc:
        log.warning("coinpayments_unavailable", error=exc.message)
        return charge_failure(UNAVAILABLE, code="PROVIDER_UNAVAILABLE")
    try:
        summary = summary_from_payload(s.source)
    except InvoiceBuildError as exc:
        return charge_failure(f"This order cannot be invoiced: {exc}", code="INVALID_ORDER")

    payment, inserted = await _claim(ctx, installation, config, s, options)
    if payment.invoice_id:
        return answer_for(payment)
    if not inserted and utcnow() - payment.updated_at < timedelta(seconds=30):
        waited = await wait_for_invoice(ctx.db, payment.id)
        if waited is not None and waited.invoice_id:
            return answer_for(waited)
    try:
        if not inserted:
            found = await client.find_invoice_by_our_id(payment.our_invoice_ref)
            if found is not None:
                return answer_for(await _store_recovered(ctx, client, payment.id, found.id))
        body = build_invoice_request(
            summary,
            amount=s.amount,
            invoice_ref=payment.our_invoice_ref,
            fiat_currency_id=fiat_id,
            notification_url=coinpayments_notification_url(ctx.settings, payment.configuration_id),
            refund_email=_email_of(s.source),
            success_url=options.success_url,
            cancel_url=options.cancel_url,
            payment_currency=coin.id if coin else None,
            description=None,
        )
        created = await client.create_invoice(CreateInvoiceRequest.model_validate(body))
    except InvoiceBuildError as exc:
        return charge_failure(f"This order cannot be invoiced: {exc}", code="INVALID_ORDER")
    except cp_errors.CoinPaymentsValidationError as exc:
        log.warning("invoice_rejected", error=exc.message)
        return charge_failure(f"The payment provider refused this invoice: {exc.message}", code="INVOICE_REJECTED")
    except cp_errors.CoinPaymentsError as exc:
        log.warning("coinpayments_unavailable", error=exc.message)
        return charge_failure(UNAVAILABLE, code="PROVIDER_UNAVAILABLE")
    if isinstance(created, RecoveredInvoice):
        stored = await _store_recovered(ctx, client, payment.id, created.id)
    else:
        stored = await _store_invoice(ctx, payment, created)
    log.info("invoice_created", invoice_id=stored.invoice_id, amount=str(s.amount))
    return answer_for(stored)


async def _process(ctx: AppContext, installation: InstallationRecord, payload: dict[str, Any]) -> SessionResult:
    s = parse_transaction_session(payload)
    structlog.contextvars.bind_contextvars(transaction_id=s.transaction_id)
    payment = await ctx.db.fast.read(Payment, installation_id=installation.id, saleor_transaction_id=s.transaction_id)
    if payment is None or not payment.invoice_id:
        return charge_failure(
            "This payment was not started with crypto, or could not be created. Please start a new payment.",
            code="UNKNOWN_TRANSACTION",
        )
    try:
        wanted = coin_choice.wanted_coin(s.data)
    except StorefrontDataError as exc:
        return _with_error(answer_for(payment), "INVALID_DATA", str(exc))
    if wanted is not None:
        # The one exception to answering from what is stored: the address exists only once
        # CoinPayments made it (Get Payment Address).
        chosen = await coin_choice.choose_coin(ctx, payment, wanted)
        if isinstance(chosen, coin_choice.CoinRefusal):
            return _with_error(answer_for(payment), chosen.code, chosen.message)
        return answer_for(chosen)
    await buyer_watching(ctx, payment)
    return answer_for(payment)


def _with_error(answer: SessionResult, code: str, message: str) -> SessionResult:
    """The unchanged answer for the payment, plus `data.error` saying why the request did nothing."""
    data = dict(answer.data or {})
    data["error"] = {"code": code, "message": message}
    return replace(answer, data=data)

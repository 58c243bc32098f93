"""Adapters to CoinPayments for the use cases: a client per configuration, and invoice reads turned
into the state machine's `InvoiceView` (amounts in the checkout currency)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from saleor_coinpayments.coinpayments.client import CoinPaymentsClient
from saleor_coinpayments.coinpayments.models.common import InvoiceStatus, PaymentState
from saleor_coinpayments.coinpayments.models.invoices import Invoice
from saleor_coinpayments.context import AppContext
from saleor_coinpayments.states import InvoiceView
from saleor_coinpayments.store.configurations import ConfigurationRecord, ConfigurationRepository

_CREDITED = {PaymentState.CONFIRMED, PaymentState.SCHEDULED_FOR_PAYOUT, PaymentState.COMPLETED}
_DETECTED = {PaymentState.DETECTED, PaymentState.PENDING}
_REFUNDED = {
    PaymentState.CANCELLED_WAITING_REFUND,
    PaymentState.TIMED_OUT_WAITING_REFUND,
    PaymentState.TIMED_OUT_REFUND_PROCESSED,
    PaymentState.CANCELLED_REFUND_PROCESSED,
    PaymentState.REFUNDED,
}
_STATUS_NAMES = {
    InvoiceStatus.SCHEDULED_FOR_PAYOUT: "paid",
    InvoiceStatus.CANCELLING: "cancelled",
}


async def configuration(ctx: AppContext, configuration_id: str, *, fresh: bool = False) -> ConfigurationRecord | None:
    """A configuration's credentials, from the process cache unless `fresh` (see ConfigurationCache)."""
    if not fresh:
        cached = ctx.configurations.get(configuration_id)
        if cached is not None:
            return cached
    async with ctx.db.session() as session:
        record = await ConfigurationRepository(session, ctx.box).get(configuration_id, with_channels=False)
    if record is None:
        ctx.configurations.drop(configuration_id)
    else:
        ctx.configurations.put(record)
    return record


async def configuration_for_channel(
    ctx: AppContext, installation_id: str, channel_slug: str
) -> ConfigurationRecord | None:
    """The configuration serving a channel (credentials, no channel list), cached like `configuration`."""
    cached_id = ctx.configurations.channel(installation_id, channel_slug)
    if cached_id is not None:
        record = await configuration(ctx, cached_id)
        if record is not None:
            return record
    async with ctx.db.session() as session:
        record = await ConfigurationRepository(session, ctx.box).for_channel(
            installation_id, channel_slug, with_channels=False
        )
    if record is not None:
        ctx.configurations.put(record)
        ctx.configurations.put_channel(installation_id, channel_slug, record.id)
    return record


def client_for(ctx: AppContext, config: ConfigurationRecord, *, background: bool = False) -> CoinPaymentsClient:
    """A client for one configuration, on the process-wide HTTP pool and the rate limit shared by
    all replicas. `background` reads (the reconciler) only use capacity live requests leave free."""
    return CoinPaymentsClient(
        client_id=config.client_id,
        client_secret=config.client_secret,
        base_url=config.api_url,
        http=ctx.http,
        timeout_seconds=ctx.settings.coinpayments_timeout_seconds,
        rate_limiter=ctx.rate_limits.for_client(config.client_id, background=background),
    )


def invoice_view(invoice: Invoice, observed_at: datetime) -> InvoiceView:
    """What CoinPayments says now, reduced to the amounts our state machine needs."""
    credited = detected = refunded = Decimal(0)
    confirmations = required = 0
    refund_state: str | None = None
    coin_symbol: str | None = None
    for payment in invoice.payments:
        coin_symbol = coin_symbol or payment.payment_currency_symbol
        native = payment.native_actual_amount or Decimal(0)
        if payment.state in _CREDITED:
            credited += native
        elif payment.state in _DETECTED:
            detected += native
        elif payment.state in _REFUNDED:
            refunded += native
            refund_state = payment.state.value
        if payment.is_active or payment.state in _DETECTED:
            confirmations = max(confirmations, payment.confirmations or 0)
            required = max(required, payment.required_confirmations or 0)
    status = _STATUS_NAMES.get(invoice.status, invoice.status.value)
    if status in ("paid", "completed") and credited == 0 and not invoice.payments:
        # Paid with no payment details in the answer: CoinPayments counts the invoice total as received.
        credited = invoice.amount.total
    return InvoiceView(
        status=status,
        credited=credited,
        detected=detected,
        confirmations=confirmations,
        required_confirmations=required,
        refunded=refunded,
        partial_accept_available=False,
        observed_at=observed_at,
        expires_at=invoice.expires,
        ended_at=invoice.cancelled,
        refund_state=refund_state,
        coin_symbol=coin_symbol,
    )

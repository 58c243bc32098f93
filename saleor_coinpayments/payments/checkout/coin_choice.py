"""The buyer picks a coin on an existing invoice (Get Payment Address), and follows it (Get Payment Status).

A coin choice is the one storefront request that calls CoinPayments before answering: the address
does not exist until CoinPayments makes it. Switching coins asks for that coin's address on the
same invoice; a second invoice is never made. Nothing is stored unless CoinPayments gave an address,
so a refused coin or an unreachable CoinPayments leaves the payment exactly as it was.

The chosen coin's live status (detected / confirmed in that coin) is read through the same client,
so it shares the rate limiter, and only when the stored one is older than the same freshness window
as the invoice read (`PROCESS_REFRESH_MIN_SECONDS`). The payment state is never decided from it:
the state machine decides from the invoice alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import structlog

from saleor_coinpayments.coinpayments import errors as cp_errors
from saleor_coinpayments.coinpayments.client import CoinPaymentsClient
from saleor_coinpayments.coinpayments.models.common import Currency
from saleor_coinpayments.coinpayments.models.invoices import HotWallet, PaymentAddress, PaymentAddresses, PaymentStatus
from saleor_coinpayments.context import AppContext
from saleor_coinpayments.money import format_decimal
from saleor_coinpayments.payments.checkout.payment_data import qr_svg_data_uri
from saleor_coinpayments.payments.checkout.storefront_data import (
    StorefrontDataError,
    checked_object,
    payment_currency,
)
from saleor_coinpayments.payments.gateway import client_for, configuration
from saleor_coinpayments.payments.repository import PaymentRepository
from saleor_coinpayments.states import PaymentState
from saleor_coinpayments.store.configurations import ConfigurationRecord
from saleor_coinpayments.store.tables import Payment
from saleor_coinpayments.store.types import utcnow

log = structlog.get_logger(__name__)

PROCESS_KEYS = ("paymentCurrency",)
UNAVAILABLE = "The crypto payment provider is not answering right now. Please try again in a moment."


@dataclass(frozen=True)
class CoinRefusal:
    """Why a coin cannot be used now; the payment was not changed."""

    code: str
    message: str


def wanted_coin(data: Any) -> str | None:
    """The coin a `transactionProcess` asks for (`data.paymentCurrency`), or None for a plain poll."""
    if data is None:
        return None
    return payment_currency(checked_object(data, PROCESS_KEYS))


async def accepted_coin(client: CoinPaymentsClient, config: ConfigurationRecord, wanted: str) -> Currency:
    """The coin the storefront asked for (symbol or CoinPayments id), if this configuration accepts it."""
    needle = wanted.strip().upper()
    for currency in await client.currencies():
        if currency.is_fiat:
            continue
        if currency.id.upper() == needle or currency.symbol.upper() == needle:
            if config.accepted_coins and currency.symbol.upper() not in {c.upper() for c in config.accepted_coins}:
                break
            return currency
    raise StorefrontDataError(f"data.paymentCurrency {wanted!r} is not a coin this shop accepts")


def payment_uri(currency: Currency, addresses: PaymentAddresses, amount: str | None) -> str:
    """BIP21 when CoinPayments gives one, else `<coin name>:<address>?amount=` as its own examples do."""
    if addresses.bip21:
        return addresses.bip21
    scheme = (currency.name or currency.symbol).lower().replace(" ", "")
    return f"{scheme}:{addresses.address}" + (f"?amount={amount}" if amount else "")


def _currency_view(currency: Currency) -> dict[str, Any]:
    return {"id": currency.id, "symbol": currency.symbol, "name": currency.name, "decimals": currency.decimal_places}


def _store_coin(
    row: Payment, currency: Currency, addresses: PaymentAddresses, amount: Decimal | None, expires: datetime | None
) -> None:
    """Put a chosen coin on the row (the QR is made once here, not on every answer)."""
    text = None if amount is None else format_decimal(amount, currency.decimal_places)
    uri = payment_uri(currency, addresses, text)
    row.coin_currency_id = currency.id
    row.coin_address = addresses.address
    row.coin_amount = amount
    row.coin_details = {
        "currency": _currency_view(currency),
        "uri": uri,
        "qrCode": qr_svg_data_uri(uri),
        "expiresAt": expires.isoformat() if expires else None,
    }
    row.coin_status = None
    row.coin_status_at = None


def store_hot_wallet(row: Payment, wallet: HotWallet) -> None:
    """A coin fixed at `transactionInitialize` (`payment.paymentCurrency`) is a chosen coin too."""
    _store_coin(row, wallet.currency, wallet.addresses, wallet.amount, wallet.expires)


def status_view(status: PaymentStatus, decimals: int) -> dict[str, Any] | None:
    """`{detected, confirmed, confirmations, requiredConfirmations}` in the coin, as decimal strings."""
    progress = status.payment
    if progress is None:
        return None
    confirmed = progress.confirmed_amount.to_decimal(decimals)
    detected = confirmed + progress.unconfirmed_amount.to_decimal(decimals)
    return {
        "detected": format_decimal(detected, decimals),
        "confirmed": format_decimal(confirmed, decimals),
        "confirmations": progress.confirmations,
        "requiredConfirmations": progress.required_confirmations,
    }


async def _configuration(ctx: AppContext, payment: Payment) -> ConfigurationRecord | None:
    return await configuration(ctx, payment.configuration_id)


def _refused_message(exc: cp_errors.CoinPaymentsError) -> str:
    problem = getattr(exc, "problem", None)
    detail = problem.summary() if problem is not None else ""
    return f"The payment provider refused this coin: {detail or exc.message}"


async def choose_coin(ctx: AppContext, payment: Payment, wanted: str) -> Payment | CoinRefusal:
    """Get Payment Address for `wanted` on the payment's invoice and keep it as the chosen coin."""
    if payment.state != PaymentState.UNPAID.value or payment.is_final or payment.invoice_id is None:
        return CoinRefusal("COIN_CHOICE_CLOSED", f"This payment is {payment.state}; its coin can no longer be changed.")
    config = await _configuration(ctx, payment)
    if config is None:
        return CoinRefusal("NOT_CONFIGURED", "Crypto payments are not set up for this shop any more.")
    client = client_for(ctx, config)
    try:
        coin = await accepted_coin(client, config, wanted)
        address = await client.get_payment_address(payment.invoice_id, coin.id)
    except StorefrontDataError as exc:
        return CoinRefusal("COIN_NOT_ACCEPTED", str(exc))
    except (cp_errors.CoinPaymentsValidationError, cp_errors.CoinPaymentsNotFoundError) as exc:
        log.warning("coin_refused", coin=wanted, error=exc.message)
        return CoinRefusal("COIN_REFUSED", _refused_message(exc))
    except cp_errors.CoinPaymentsError as exc:
        log.warning("coinpayments_unavailable", error=exc.message)
        return CoinRefusal("PROVIDER_UNAVAILABLE", UNAVAILABLE)
    status = await _read_status(client, payment.invoice_id, address)
    async with ctx.db.session(write=True) as session:
        row = await PaymentRepository(session).get(payment.id, lock=True)
        assert row is not None
        _store_coin(row, address.currency, address.addresses, address.amount_due, address.expires)
        # A buyer who picks a coin is about to pay: the invoice counts as fresh again (schedule.py).
        row.changed_at = utcnow()
        if status is not None:
            row.coin_status, row.coin_status_at = status, utcnow()
    log.info("coin_chosen", invoice_id=payment.invoice_id, coin=address.currency.symbol)
    return row


async def _read_status(client: CoinPaymentsClient, invoice_id: str, address: PaymentAddress) -> dict[str, Any] | None:
    """The status right after a choice; a failure here only leaves the status for the next read."""
    try:
        status = await client.get_payment_status(invoice_id, address.currency.id)
    except cp_errors.CoinPaymentsError as exc:
        log.info("coin_status_unavailable", error=exc.message)
        return None
    return status_view(status, address.currency.decimal_places)


def status_is_fresh(ctx: AppContext, payment: Payment) -> bool:
    """The same freshness rule as the invoice read: younger than `PROCESS_REFRESH_MIN_SECONDS`."""
    if payment.coin_status_at is None:
        return False
    return (utcnow() - payment.coin_status_at).total_seconds() < ctx.settings.process_refresh_min_seconds


def _read_after_last_check(payment: Payment) -> bool:
    return (
        payment.coin_status_at is not None
        and payment.last_checked_at is not None
        and payment.coin_status_at >= payment.last_checked_at
    )


async def refresh_coin_status(ctx: AppContext, payment: Payment, *, background: bool = False) -> Payment:
    """Re-read the chosen coin's status unless it is fresh, or was read after the payment ended;
    errors keep the old one. `background`: the reconciler's read, behind live requests."""
    if payment.coin_currency_id is None or payment.invoice_id is None or status_is_fresh(ctx, payment):
        return payment
    if payment.is_final and _read_after_last_check(payment):
        return payment
    config = await _configuration(ctx, payment)
    if config is None:
        return payment
    try:
        status = await client_for(ctx, config, background=background).get_payment_status(
            payment.invoice_id, payment.coin_currency_id
        )
    except cp_errors.CoinPaymentsError as exc:
        log.info("coin_status_unavailable", error=exc.message)
        return payment
    decimals = int((payment.coin_details or {}).get("currency", {}).get("decimals", 8))
    view = status_view(status, decimals)
    async with ctx.db.session(write=True) as session:
        row = await PaymentRepository(session).get(payment.id, lock=True)
        if row is None or row.coin_currency_id != payment.coin_currency_id:
            return row or payment
        row.coin_status, row.coin_status_at = view, utcnow()
    return row

"""REST response bodies: invoices, payments and money in both encodings.

See coinpayments.md#created-invoice, #payment-address, #payment-status, #get-invoice.

v2 amounts are decimal strings in major units; v1 money objects carry smallest units as a
string plus the same number as `valueAsDecimal` (a Decimal, written as a JSON number).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import MAX_PREC, ROUND_HALF_EVEN, Context, Decimal
from typing import Any

from saleor_coinpayments.simulator.currencies import WIDE, Currency, CurrencyBook, quantum
from saleor_coinpayments.simulator.domain import HotWallet, Invoice, Payment
from saleor_coinpayments.simulator.validation import Item

#: Rounds to a currency's places as money.format_decimal does (half to even, every digit kept),
#: made once: a context per figure (localcontext) was a good part of a List page's time.
_EXACT = Context(prec=MAX_PREC, rounding=ROUND_HALF_EVEN)

#: The texts of times and amounts already written, by value. An invoice's figures and times are
#: written again at every read of it (a List page of 100 writes about 1,800 of each), and their
#: formatting was most of what is left of a page's time. Both are pure functions of immutable
#: values; the dicts hold no container, so the garbage collector never looks at them (collector.py),
#: and they are emptied when they reach _MEMO_LIMIT entries instead of growing with the invoices.
_MEMO_LIMIT = 100_000
_ISO_TEXT: dict[datetime, str] = {}
_PLACES_TEXT: dict[int, dict[Decimal, str]] = {}
_ZERO_TEXT: dict[tuple[int, bool], str] = {}


def iso(moment: datetime | None) -> str | None:
    """`2025-03-01T02:30:01+00:00`: REST times, no fraction."""
    if moment is None:
        return None
    # Equal aware datetimes are the same instant, hence the same UTC text.
    text = _ISO_TEXT.get(moment)
    if text is None:
        if len(_ISO_TEXT) >= _MEMO_LIMIT:
            _ISO_TEXT.clear()
        text = _ISO_TEXT[moment] = moment.astimezone(UTC).isoformat(timespec="seconds")
    return text


def places(amount: Decimal, decimal_places: int) -> str:
    """`amount` with exactly `decimal_places` places: money.format_decimal's text, without a context per call."""
    if not amount:  # 0 and -0 are equal keys with different texts: the zeros have their own
        key = (decimal_places, amount.is_signed())
        zero = _ZERO_TEXT.get(key)
        if zero is None:
            zero = _ZERO_TEXT[key] = format(amount.quantize(quantum(decimal_places), context=_EXACT), "f")
        return zero
    # Equal Decimals (1.5, 1.50) round to the same figure.
    memo = _PLACES_TEXT.get(decimal_places)
    if memo is None:
        memo = _PLACES_TEXT[decimal_places] = {}
    text = memo.get(amount)
    if text is None:
        if len(memo) >= _MEMO_LIMIT:
            memo.clear()
        text = memo[amount] = format(amount.quantize(quantum(decimal_places), context=_EXACT), "f")
    return text


def dec(amount: Decimal | None, currency: Currency) -> str | None:
    return None if amount is None else places(amount, currency.decimal_places)


def units(amount: Decimal, currency: Currency) -> int:
    return int((amount.scaleb(currency.decimal_places)).to_integral_value(rounding=ROUND_HALF_EVEN))


def money_v1(amount: Decimal, currency: Currency) -> dict[str, Any]:
    value = units(amount, currency)
    return {
        "currencyId": currency.id,
        "displayValue": places(amount, currency.decimal_places),
        "value": str(value),
        "valueAsDecimal": Decimal(value),
    }


def native_of(invoice: Invoice, wallet: HotWallet, coin_amount: Decimal) -> Decimal:
    """A coin amount in the invoice currency, proportional to what was due (exact for a full payment)."""
    if wallet.expected == 0:
        return Decimal(0)
    raw = WIDE.divide(WIDE.multiply(coin_amount, invoice.total), wallet.expected)
    return raw.quantize(quantum(invoice.currency.decimal_places), rounding=ROUND_HALF_EVEN)


def biP21(currency: Currency, address: str, amount: Decimal) -> str | None:  # noqa: N802 - the API's name
    if currency.uri_scheme is None or currency.contract is not None:
        return None
    text = format(amount.normalize(), "f")
    key = "value" if currency.uri_scheme == "ethereum" else "amount"
    return f"{currency.uri_scheme}:{address}?{key}={text}"


def hot_wallet_v2(wallet: HotWallet, payment: Payment) -> dict[str, Any]:
    coin = wallet.currency
    return {
        "currency": coin.to_dto(),
        "amount": dec(wallet.expected, coin),
        "remainingAmount": dec(wallet.remaining, coin),
        "addresses": {"address": wallet.address, "biP21": biP21(coin, wallet.address, wallet.expected)},
        "expires": iso(payment.expires_at),
    }


def payment_currencies(invoice: Invoice, book: CurrencyBook) -> list[dict[str, Any]]:
    """Every payable coin with the amount due in it; a coin with a hot wallet shows that wallet's figures."""
    assert invoice.payment is not None
    out = []
    for coin in book.payable():
        wallet = invoice.payment.wallets.get(coin.id)
        due = wallet.expected if wallet else book.convert_due(invoice.total, invoice.currency, coin)
        remaining = wallet.remaining if wallet else due
        out.append(
            {
                "currency": coin.to_dto(),
                "isDisabled": False,
                "amount": dec(due, coin),
                "approximateNetworkAmount": dec(coin.network_fee, coin),
                "remainingAmount": dec(remaining, coin),
            }
        )
    return out


def created_v2(invoice: Invoice, book: CurrencyBook) -> dict[str, Any]:
    body: dict[str, Any] = {"id": invoice.id, "link": invoice.link, "checkoutLink": invoice.checkout_link}
    payment = invoice.payment
    if payment is not None:
        body["payment"] = {
            "paymentId": payment.id,
            "expires": iso(payment.expires_at),
            "paymentCurrencies": payment_currencies(invoice, book),
            "refundEmail": payment.refund_email,
        }
        preset = invoice.request.payment.payment_currency if invoice.request.payment else None
        if preset is not None:
            body["hotWallet"] = hot_wallet_v2(payment.wallets[preset.id], payment)
    return body


def _currency_v2(currency: Currency) -> dict[str, Any]:
    return {
        "id": currency.id,
        "symbol": currency.symbol,
        "name": currency.name,
        "token": None,
        "logo": currency.logo(),
        "decimalPlaces": currency.decimal_places,
    }


def _item_v2(item: Item, currency: Currency) -> dict[str, Any]:
    return {
        "customId": item.custom_id,
        "sku": item.sku,
        "name": item.name,
        "description": item.description,
        "quantity": {"value": item.quantity, "type": item.quantity_type},
        "originalAmount": dec(item.original_amount if item.original_amount is not None else item.amount, currency),
        "amount": dec(item.amount, currency),
        "tax": dec(item.tax, currency),
    }


def breakdown_values(invoice: Invoice) -> dict[str, Decimal]:
    b = invoice.request.breakdown
    zero = Decimal(0)
    subtotal = b.subtotal
    if subtotal is None:
        subtotal = invoice.total - (b.shipping or zero) - (b.handling or zero) - (b.tax_total or zero)
        subtotal += b.discount or zero
    return {
        "subtotal": subtotal,
        "shipping": b.shipping or zero,
        "handling": b.handling or zero,
        "taxTotal": b.tax_total or zero,
        "discount": b.discount or zero,
    }


def _buyer_v2(raw: dict[str, Any] | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    return {key: raw.get(key) for key in ("companyName", "name", "emailAddress", "phoneNumber", "address")}


RETURN_STATES = frozenset(
    {
        "cancelledWaitingRefund",
        "timedOutWaitingRefund",
        "cancelledRefundProcessed",
        "timedOutRefundProcessed",
        "refunded",
    }
)


def merchant_fees(wallet: HotWallet) -> tuple[Decimal, Decimal]:
    """CoinPayments' transaction fee and the payout's network fee on what came in, in the coin;
    nothing is charged on nothing, and the fees never exceed what came in."""
    received = wallet.seen
    if received <= 0:
        return Decimal(0), Decimal(0)
    step = quantum(wallet.currency.decimal_places)
    transaction = min((received * wallet.fee_rate).quantize(step, rounding=ROUND_HALF_EVEN), received)
    return transaction, min(wallet.network_fee, received - transaction)


def _fees(amount: Decimal, transaction: Decimal, network: Decimal, currency: Currency) -> dict[str, Any]:
    zero = dec(Decimal(0), currency)
    return {
        "paymentSubTotal": dec(amount, currency),
        "merchantMarkupOrDiscount": zero,
        "buyerFee": {"coinPaymentsFee": zero, "networkFee": zero, "conversionFee": zero, "total": zero},
        "merchantFee": {
            "coinPaymentsFee": dec(transaction, currency),
            "networkFee": dec(network, currency),
            "conversionFee": zero,
            "total": dec(transaction + network, currency),
        },
        "gross": dec(amount, currency),
    }


def _payout(payment: Payment, wallet: HotWallet, amount: Decimal, currency: Currency) -> dict[str, Any] | None:
    """Scheduled once the payment is confirmed; sent and completed with the invoice's completion."""
    if payment.confirmed_at is None or wallet.seen <= 0:
        return None
    received = [t.txid for t in wallet.transfers if not t.late]
    return {
        "scheduledAt": iso(payment.confirmed_at),
        "sentAt": iso(wallet.paid_out_at),
        "completedAt": iso(wallet.paid_out_at),
        "expectedExecutionDate": iso(payment.confirmed_at),
        "blockchainTx": wallet.payout_tx,
        "receivedBlockchainTx": received[-1] if received else None,
        "spendRequestId": None,
        "address": None,
        "walletId": None,
        "isBatched": False,
        "currencySymbol": currency.symbol,
        "currencyId": currency.id,
        "displayValue": dec(amount, currency),
        "value": str(units(amount, currency)),
    }


def wallet_payment_v2(invoice: Invoice, payment: Payment, wallet: HotWallet) -> dict[str, Any]:
    """One entry of v2 `payments[]`: per coin, with exact native (invoice-currency) equivalents,
    the merchant's fees and the payout."""
    coin, fiat = wallet.currency, invoice.currency
    returning = payment.state in RETURN_STATES
    # Money CoinPayments gives back (short and not accepted, or late) is reported with the refund
    # state, late transfers included; it bears no merchant fee and is never paid out.
    actual = wallet.seen + wallet.late_amount if returning else wallet.seen
    transaction_fee, network_fee = (Decimal(0), Decimal(0)) if returning else merchant_fees(wallet)
    payout = actual - transaction_fee - network_fee
    native_transaction = native_of(invoice, wallet, transaction_fee)
    native_network = native_of(invoice, wallet, network_fee)
    native_actual = native_of(invoice, wallet, actual)
    return {
        "paymentCurrencyId": coin.id,
        "paymentCurrencySymbol": coin.symbol,
        "nativeCurrencyId": fiat.id,
        "nativeCurrencySymbol": fiat.symbol,
        "expectedAmount": dec(wallet.expected, coin),
        "nativeExpectedAmount": dec(invoice.total, fiat),
        "actualAmount": dec(actual, coin),
        "nativeActualAmount": dec(native_actual, fiat),
        "paymentAddress": wallet.address,
        "errorCode": payment.error_code,
        "refundEmail": payment.refund_email,
        "state": payment.state,
        "isActive": payment.is_active,
        "pendingAt": iso(payment.pending_at),
        "confirmedAt": iso(payment.confirmed_at),
        "completedAt": iso(payment.completed_at),
        "confirmations": wallet.confirmations,
        "requiredConfirmations": wallet.required_confirmations,
        "fees": _fees(actual, transaction_fee, network_fee, coin),
        "nativeFees": _fees(native_actual, native_transaction, native_network, fiat),
        "payout": _payout(payment, wallet, payout, coin),
        "nativePayout": _payout(payment, wallet, native_actual - native_transaction - native_network, fiat),
    }


def payments_v2(invoice: Invoice) -> list[dict[str, Any]]:
    payment = invoice.payment
    if payment is None:
        return []
    return [wallet_payment_v2(invoice, payment, w) for w in payment.wallets.values()]


def _common(invoice: Invoice) -> dict[str, Any]:
    req = invoice.request
    return {
        "id": invoice.id,
        "invoiceId": req.invoice_id,
        "invoiceIdSuffix": None,
        "created": iso(invoice.created_at),
        "invoiceDate": iso(req.invoice_date or invoice.created_at),
        "dueDate": iso(req.due_date),
        "confirmed": iso(invoice.confirmed_at),
        "completed": iso(invoice.completed_at),
        "cancelled": iso(invoice.cancelled_at),
        "expires": iso(invoice.expires_at),
        "currency": _currency_v2(invoice.currency),
        "buyer": _buyer_v2(req.buyer),
        "description": req.description,
        "customData": req.custom_data,
        "status": invoice.status,
        "requireBuyerNameAndEmail": req.flags.get("requireBuyerNameAndEmail", False),
        "buyerDataCollectionMessage": req.texts.get("buyerDataCollectionMessage"),
        "notes": req.texts.get("notes"),
        "isEmailDelivery": req.is_email_delivery,
        "metadata": req.metadata,
        "poNumber": invoice.po_number,
        "partialAcceptAvailable": invoice.partial_accept_available,
        "isLifeTimeFinished": False,
        "hideShoppingCart": req.flags.get("hideShoppingCart", False),
        "successUrl": req.success_url,
        "cancelUrl": req.cancel_url,
    }


def invoice_v2(invoice: Invoice, full_details: bool) -> dict[str, Any]:
    fiat = invoice.currency
    body = _common(invoice)
    body["items"] = [_item_v2(item, fiat) for item in invoice.request.items]
    body["amount"] = {
        "breakdown": {k: dec(v, fiat) for k, v in breakdown_values(invoice).items()},
        "total": dec(invoice.total, fiat),
    }
    body["shipping"] = invoice.request.shipping
    body["payments"] = payments_v2(invoice)
    if full_details:
        body["notesToRecipient"] = invoice.request.texts.get("notesToRecipient")
        body["termsAndConditions"] = invoice.request.texts.get("termsAndConditions")
        body["emailDelivery"] = invoice.request.email_delivery
        body["merchantOptions"] = invoice.request.merchant_options
    return body


def invoice_v1(invoice: Invoice) -> dict[str, Any]:
    """The docs-source v1 shape: v2 fields with money objects in smallest units (coinpayments.md#get-invoice)."""
    fiat = invoice.currency
    body = _common(invoice)
    body["items"] = [
        {
            **_item_v2(item, fiat),
            "amount": money_v1(item.amount, fiat),
            "originalAmount": money_v1(item.original_amount or item.amount, fiat),
            "tax": money_v1(item.tax, fiat) if item.tax is not None else None,
        }
        for item in invoice.request.items
    ]
    body["amount"] = {
        **money_v1(invoice.total, fiat),
        "breakdown": {k: money_v1(v, fiat) for k, v in breakdown_values(invoice).items()},
    }
    body["payments"] = payments_v2(invoice)
    return body


def summary_v1(invoice: Invoice) -> dict[str, Any]:
    fiat = invoice.currency
    body = _common(invoice)
    body["amount"] = {"currencySymbol": fiat.symbol, **money_v1(invoice.total, fiat)}
    body["shipping"] = {"address": (invoice.request.shipping or {}).get("address")}
    body["payments"] = payments_v2(invoice)
    body["emailDelivery"] = invoice.request.email_delivery
    body["notesToRecipient"] = invoice.request.texts.get("notesToRecipient")
    return body


def payment_details(invoice: Invoice, wallet: HotWallet) -> dict[str, Any]:
    """`GET /api/v1/invoices/{id}/payment-currencies/{currency}` (coinpayments.md#payment-address)."""
    assert invoice.payment is not None
    coin = wallet.currency
    amount = money_v1(wallet.expected, coin)
    amount["rate"] = wallet.rate
    amount["breakdown"] = [{"name": "subtotal", **money_v1(wallet.expected, coin)}]
    return {
        "currency": coin.to_dto(),
        "amount": amount,
        "addresses": {"address": wallet.address, "biP21": biP21(coin, wallet.address, wallet.expected)},
        "expires": iso(invoice.payment.expires_at),
        "remainingAmount": money_v1(wallet.remaining, coin),
    }


def payment_status(invoice: Invoice, coin: Currency, wallet: HotWallet | None, due: Decimal) -> dict[str, Any]:
    """`…/payment-currencies/{currency}/status` (coinpayments.md#payment-status)."""
    zero = Decimal(0)
    expected = wallet.expected if wallet else due
    payment: dict[str, Any] = {
        "currencyId": coin.numeric_id,
        "confirmations": wallet.confirmations if wallet else 0,
        "requiredConfirmations": coin.required_confirmations,
        "confirmedAmount": money_v1(wallet.confirmed if wallet else zero, coin),
        "unconfirmedAmount": money_v1(wallet.unconfirmed if wallet else zero, coin),
        "expectedAmount": money_v1(expected, coin),
        "remainingAmount": money_v1(wallet.remaining if wallet else expected, coin),
    }
    return {
        "created": iso(invoice.created_at),
        "expires": iso(invoice.payment.expires_at if invoice.payment else invoice.expires_at),
        "status": invoice.status,
        "payment": payment,
        "partialAcceptAvailable": invoice.partial_accept_available,
    }

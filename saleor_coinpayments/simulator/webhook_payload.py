"""The body of an invoice notification (coinpayments.md#webhook-body): envelope plus the stored-invoice object.

Defaults follow the official signed sample: PascalCase `type`/`state`, epoch-second times,
integer smallest-unit amounts. `casing="camel"` and `amounts="decimal"` switch to the other
forms the sources show, so a client can prove it tolerates both.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from saleor_coinpayments.money import format_decimal
from saleor_coinpayments.simulator.currencies import Currency
from saleor_coinpayments.simulator.domain import HotWallet, Invoice, Payment
from saleor_coinpayments.simulator.events import pascal
from saleor_coinpayments.simulator.render import breakdown_values, native_of, units

Casing = Literal["pascal", "camel"]
AmountEncoding = Literal["units", "decimal"]


@dataclass(frozen=True, slots=True)
class PayloadStyle:
    casing: Casing = "pascal"
    amounts: AmountEncoding = "units"


def envelope_timestamp(moment: datetime) -> str:
    """ISO 8601 with seven fractional digits and `+00:00`, like `2024-07-01T11:04:06.8033575+00:00`."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0+00:00"


def epoch(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())


def dashed(client_id: str) -> str:
    """The client id as a dashed GUID (`merchantClientId`), when it is 32 hex characters."""
    if len(client_id) == 32 and all(c in "0123456789abcdefABCDEF" for c in client_id):
        c = client_id.lower()
        return f"{c[:8]}-{c[8:12]}-{c[12:16]}-{c[16:20]}-{c[20:]}"
    return client_id


class _Writer:
    def __init__(self, style: PayloadStyle) -> None:
        self.style = style

    def amount(self, value: Decimal | None, currency: Currency) -> int | str | None:
        if value is None:
            return None
        if self.style.amounts == "units":
            return units(value, currency)
        return format_decimal(value, currency.decimal_places)

    def word(self, name: str) -> str:
        return pascal(name) if self.style.casing == "pascal" else name


def _currency_ref(currency: Currency) -> dict[str, Any]:
    return {"id": currency.numeric_id, "smartContract": currency.contract}


def _hot_wallet(w: _Writer, invoice: Invoice, payment: Payment, wallet: HotWallet) -> dict[str, Any]:
    coin, fiat = wallet.currency, invoice.currency
    return {
        "id": wallet.id,
        "paymentId": payment.id,
        "nativeCurrency": _currency_ref(fiat),
        "currency": _currency_ref(coin),
        "paymentSubTotalInNativeCurrency": w.amount(invoice.total, fiat),
        "confirmedAmountInNativeCurrency": w.amount(native_of(invoice, wallet, wallet.confirmed), fiat),
        "unconfirmedAmountInNativeCurrency": w.amount(native_of(invoice, wallet, wallet.unconfirmed), fiat),
        "currencyRateFromInvoiceCurrency": str(wallet.rate),
        "paymentReceiveAddress": wallet.address,
        "paymentSubTotal": w.amount(wallet.expected, coin),
        "createdAt": epoch(wallet.created_at),
        "error": None,
        "confirmations": wallet.confirmations,
        "requiredConfirmations": wallet.required_confirmations,
        "confirmedAmount": w.amount(wallet.confirmed, coin),
        "unconfirmedAmount": w.amount(wallet.unconfirmed, coin),
        "expiresAt": epoch(payment.expires_at),
    }


def _payments(w: _Writer, invoice: Invoice) -> list[dict[str, Any]]:
    payment = invoice.payment
    if payment is None:
        return []
    wallets = list(payment.wallets.values())
    active = wallets[-1] if wallets else None
    return [
        {
            "id": payment.id,
            "invoiceId": invoice.id,
            "createdAt": epoch(payment.created_at),
            "expiresAt": epoch(payment.expires_at),
            "cancelledAt": epoch(payment.cancelled_at),
            "detectedAt": epoch(payment.detected_at),
            "pendingAt": epoch(payment.pending_at),
            "confirmedAt": epoch(payment.confirmed_at),
            "completedAt": epoch(payment.completed_at),
            "scheduledAt": epoch(payment.scheduled_at),
            "refundedAt": epoch(payment.refunded_at),
            "state": w.word(payment.state),
            "refundEmail": payment.refund_email,
            "isGuest": True,
            "hotWallet": _hot_wallet(w, invoice, payment, active) if active else None,
            "payout": None,
            "refund": None,
            "isActive": payment.is_active,
        }
    ]


def _buyer(raw: dict[str, Any] | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    name = raw.get("name") or {}
    return {
        "companyName": raw.get("companyName"),
        "email": raw.get("emailAddress"),
        "firstName": name.get("firstName"),
        "lastName": name.get("lastName"),
        "phoneNumber": raw.get("phoneNumber"),
        "address": raw.get("address"),
    }


def invoice_object(invoice: Invoice, style: PayloadStyle) -> dict[str, Any]:
    w = _Writer(style)
    req, fiat = invoice.request, invoice.currency
    parts = breakdown_values(invoice)
    return {
        "invoiceId": req.invoice_id,
        "id": invoice.id,
        "userId": invoice.merchant_id,
        "userEmail": "merchant@example.invalid",
        "merchantId": invoice.merchant_id,
        "merchantClientId": dashed(invoice.client_id),
        "invoiceNumber": req.invoice_id,
        "invoiceNumberSuffix": None,
        "createdAt": epoch(invoice.created_at),
        "invoiceDate": epoch(req.invoice_date),
        "dueDate": epoch(req.due_date),
        "description": req.description,
        "expiresDate": epoch(invoice.expires_at),
        "customData": req.custom_data,
        "notes": req.texts.get("notes"),
        "notesToRecipient": req.texts.get("notesToRecipient"),
        "buyerDataCollectionMessage": req.texts.get("buyerDataCollectionMessage"),
        "termsAndConditions": req.texts.get("termsAndConditions"),
        "metadata": req.metadata,
        "poNumber": invoice.po_number,
        "buyer": _buyer(req.buyer),
        "shipping": req.shipping,
        "lineItems": [
            {
                "amount": w.amount(item.amount, fiat),
                "customId": item.custom_id,
                "description": item.description,
                "name": item.name,
                "originalAmount": w.amount(item.original_amount or item.amount, fiat),
                "quantity": item.quantity,
                "sku": item.sku,
                "tax": w.amount(item.tax, fiat),
                "type": pascal(item.quantity_type),
            }
            for item in req.items
        ],
        "merchantOptions": req.merchant_options,
        "emailDeliveryOptions": req.email_delivery if req.is_email_delivery else None,
        "amount": {
            "currency": _currency_ref(fiat),
            "subtotal": w.amount(parts["subtotal"], fiat),
            "shippingTotal": w.amount(parts["shipping"], fiat),
            "handlingTotal": w.amount(parts["handling"], fiat),
            "discountTotal": w.amount(parts["discount"], fiat),
            "taxTotal": w.amount(parts["taxTotal"], fiat),
            "total": w.amount(invoice.total, fiat),
        },
        "state": w.word(invoice.status),
        "flags": {
            "requireBuyerNameAndEmail": req.flags.get("requireBuyerNameAndEmail", False),
            "sendPaymentCompleteEmailNotification": False,
            "isPos": False,
        },
        "canceledAt": epoch(invoice.cancelled_at),
        "completedAt": epoch(invoice.completed_at),
        "confirmedAt": epoch(invoice.confirmed_at),
        "payments": _payments(w, invoice),
        "payoutConfig": None,
        "partialAcceptAvailable": invoice.partial_accept_available,
    }


def notification_body(event: str, invoice: Invoice, moment: datetime, style: PayloadStyle) -> dict[str, Any]:
    """The whole delivery body for `event` (a subscription literal such as `invoicePaid`)."""
    return {
        "id": secrets.token_hex(16),
        "type": pascal(event) if style.casing == "pascal" else event,
        "timestamp": envelope_timestamp(moment),
        "invoice": invoice_object(invoice, style),
    }

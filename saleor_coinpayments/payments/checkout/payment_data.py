"""The `data` returned to the storefront with every session answer (documented in docs/storefront/api.md)."""

from __future__ import annotations

from typing import Any

import segno

from saleor_coinpayments.money import Money, format_decimal
from saleor_coinpayments.store.tables import Payment


def qr_svg_data_uri(text: str) -> str:
    """A QR code as an SVG data URI, so a storefront can show it with a plain <img>."""
    data_uri: str = segno.make(text, error="m").svg_data_uri(scale=4, border=2)
    return data_uri


def chosen_coin_data(row: Payment) -> dict[str, Any] | None:
    """`data.payment` for the chosen coin (see payments/checkout/coin_choice.py), or None while none is."""
    details = row.coin_details
    if row.coin_currency_id is None or not details:
        # Rows from before coin choice kept the coin fixed at initialize under details.
        white_label: dict[str, Any] | None = (row.details or {}).get("white_label")
        return white_label
    decimals = int(details["currency"]["decimals"])
    return {
        "currency": details["currency"],
        "address": row.coin_address,
        "amount": None if row.coin_amount is None else format_decimal(row.coin_amount, decimals),
        "uri": details["uri"],
        "qrCode": details["qrCode"],
        "expiresAt": details["expiresAt"],
        "status": row.coin_status,
    }


def invoice_data(payment: Payment) -> dict[str, Any]:
    details = payment.details or {}
    last = details.get("last_view") or {}
    return {
        "invoiceId": payment.invoice_id,
        "status": payment.state,
        "amount": Money.of(payment.amount, payment.currency).as_str(),
        "currency": payment.currency,
        "checkoutUrl": payment.checkout_link,
        "invoiceUrl": payment.invoice_link,
        "expiresAt": payment.expires_at.isoformat() if payment.expires_at else None,
        "credited": Money.of(payment.credited_amount, payment.currency).as_str(),
        "confirmations": last.get("confirmations"),
        "requiredConfirmations": last.get("required_confirmations"),
        "currencies": details.get("payment_currencies", []),
        "payment": chosen_coin_data(payment),
    }

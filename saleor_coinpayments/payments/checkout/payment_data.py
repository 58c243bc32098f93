"""The `data` returned to the storefront with every session answer (documented in the README)."""

from __future__ import annotations

from typing import Any

import segno

from saleor_coinpayments.coinpayments.models.invoices import HotWallet
from saleor_coinpayments.money import Money
from saleor_coinpayments.store.tables import Payment


def qr_svg_data_uri(text: str) -> str:
    """A QR code as an SVG data URI, so a storefront can show it with a plain <img>."""
    data_uri: str = segno.make(text, error="m").svg_data_uri(scale=4, border=2)
    return data_uri


def white_label_payment(wallet: HotWallet) -> dict[str, Any]:
    """Everything a shop's own pay page needs for one coin: address, exact amount, URI and QR."""
    amount = None if wallet.amount is None else str(wallet.amount)
    uri = wallet.addresses.bip21 or (
        f"{(wallet.currency.name or wallet.currency.symbol).lower().replace(' ', '')}:{wallet.addresses.address}"
        + (f"?amount={amount}" if amount else "")
    )
    return {
        "currency": {
            "id": wallet.currency.id,
            "symbol": wallet.currency.symbol,
            "name": wallet.currency.name,
            "decimals": wallet.currency.decimal_places,
        },
        "address": wallet.addresses.address,
        "amount": amount,
        "uri": uri,
        "qrCode": qr_svg_data_uri(uri),
        "expiresAt": wallet.expires.isoformat() if wallet.expires else None,
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
        "payment": details.get("white_label"),
    }

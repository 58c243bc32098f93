"""The order's crypto card (a Dashboard widget on the order page): everything staff need about the
CoinPayments payments of one order, in one answer.

The order's payments are its sent-out invoices and the checkout payments whose Saleor transactions
moved onto it, which only Saleor knows: one `order(id)` read gives those transactions and what the
sent-out invoice flow needs to tell whether an invoice can be sent. The figures, refunds and report
counts are the payment log's and the refund service's own views, so the card and the app page never
disagree. The actions on the card are the app page's routes; nothing is decided here twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from saleor_coinpayments.configuration.payment_log import PaymentLog, PaymentLogEntry
from saleor_coinpayments.configuration.service import NotFound
from saleor_coinpayments.context import AppContext
from saleor_coinpayments.locale import DEFAULT, speaker
from saleor_coinpayments.money import currency_decimals, format_decimal
from saleor_coinpayments.payments.books.received import records_of
from saleor_coinpayments.payments.checkout.pay_view import state_text
from saleor_coinpayments.payments.invoicing.sent_invoices import (
    ENDED,
    ORDER_NOT_FOUND,
    SendRefused,
    billable_order,
    order_from_saleor,
)
from saleor_coinpayments.payments.payment_method import payment_method_name
from saleor_coinpayments.payments.refunds.repository import RefundRepository
from saleor_coinpayments.payments.refunds.service import RefundView
from saleor_coinpayments.payments.repository import PaymentRepository
from saleor_coinpayments.store.installations import InstallationRecord
from saleor_coinpayments.store.tables import InvoicePaymentRecord, Payment, RefundState


@dataclass(frozen=True)
class SaleorDown:
    """Saleor did not answer the order read; the message is for staff."""

    message: str


@dataclass(frozen=True)
class CryptoPayment:
    """One CoinPayments payment of the order, as the card shows it."""

    entry: PaymentLogEntry
    words: str
    coin: str | None
    address: str | None
    seen: str
    confirmed: str
    required_confirmations: int
    expires_at: datetime | None
    invoice_link: str | None
    coins: list[dict[str, Any]]
    refunds: list[RefundView]

    def to_json(self) -> dict[str, object]:
        return {
            **self.entry.to_json(),
            "words": self.words,
            "coin": self.coin,
            "address": self.address,
            "seen": self.seen,
            "confirmed": self.confirmed,
            "required_confirmations": self.required_confirmations,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "invoice_link": self.invoice_link,
            "coins": self.coins,
            "refund_list": [refund.to_json() for refund in self.refunds],
            "pending_refunds": sum(1 for r in self.refunds if r.state == RefundState.REQUESTED.value),
        }


@dataclass(frozen=True)
class OrderCard:
    order_id: str
    order_number: str | None
    payments: list[CryptoPayment]
    can_send_invoice: bool
    invoice_refusal: str | None  # why no invoice can be sent now, in words; None when one can

    def to_json(self) -> dict[str, object]:
        return {
            "order": {"id": self.order_id, "number": self.order_number},
            "payments": [payment.to_json() for payment in self.payments],
            "invoice": {"can_send": self.can_send_invoice, "refusal": self.invoice_refusal},
        }


async def order_card(
    ctx: AppContext, installation: InstallationRecord, order_id: str
) -> OrderCard | NotFound | SaleorDown:
    """The card of one order: its CoinPayments payments, their refunds, and whether to offer an invoice."""
    order = await order_from_saleor(ctx, installation, order_id)
    if isinstance(order, SendRefused):
        return NotFound(order.message) if order.code == ORDER_NOT_FOUND else SaleorDown(order.message)
    transaction_ids = [str(t["id"]) for t in order.get("transactions") or [] if isinstance(t, dict) and t.get("id")]
    async with ctx.db.session() as session:
        rows = await PaymentRepository(session).of_order(installation.id, order_id, transaction_ids)
        entries = await PaymentLog(session).of_payments(rows)
        refunds = await RefundRepository(session).for_payments([row.id for row in rows])
        records = await records_of(session, [row.id for row in rows])
    payments = [
        _payment(
            row,
            entry,
            [RefundView.of(r) for r in sorted(refunds, key=lambda r: r.created_at) if r.payment_id == row.id],
            [record for record in records if record.payment_id == row.id],
        )
        for row, entry in zip(rows, entries, strict=True)
    ]
    billable = billable_order(order)
    refusal = billable.message if isinstance(billable, SendRefused) else None
    if refusal is None and any(row.state not in ENDED for row in rows):
        refusal = "This order already has a CoinPayments invoice that is still open."
    return OrderCard(
        order_id=str(order.get("id") or order_id),
        order_number=str(order["number"]) if order.get("number") is not None else None,
        payments=payments,
        can_send_invoice=refusal is None,
        invoice_refusal=refusal,
    )


def _payment(
    row: Payment, entry: PaymentLogEntry, refunds: list[RefundView], records: list[InvoicePaymentRecord]
) -> CryptoPayment:
    seen_view = (row.details or {}).get("last_view") or {}
    places = currency_decimals(row.currency)
    chosen = (row.coin_details or {}).get("currency") or {}
    return CryptoPayment(
        entry=entry,
        words=state_text(row, speaker(DEFAULT))[1],  # staff's Dashboard speaks English
        coin=_coin_name(row),
        address=row.coin_address,
        seen=_money(seen_view.get("detected"), places),
        confirmed=_money(seen_view.get("credited"), places),
        required_confirmations=int(seen_view.get("required_confirmations") or 0),
        expires_at=row.expires_at,
        invoice_link=row.invoice_link or row.checkout_link,
        coins=[_coin_record(record) for record in records]
        or (
            [{"symbol": chosen.get("symbol"), "asked": str(row.coin_amount), "received": None, "tx_ids": []}]
            if chosen.get("symbol") and row.coin_amount is not None
            else []
        ),
        refunds=refunds,
    )


def _coin_name(row: Payment) -> str | None:
    """ "Bitcoin (BTC)": the payment method's name without the provider, which the card already says."""
    name = payment_method_name(row)
    return name.rsplit(" via ", 1)[0] if name else None


def _coin_record(record: InvoicePaymentRecord) -> dict[str, Any]:
    return {
        "symbol": record.coin_symbol,
        "state": record.state,
        "asked": str(record.expected_amount) if record.expected_amount is not None else None,
        "received": str(record.actual_amount),
        "tx_ids": list(record.buyer_tx_ids or []),
        "payout_tx": record.payout_tx,
    }


def _money(value: object, places: int) -> str:
    try:
        amount = Decimal(str(value)) if value not in (None, "") else Decimal(0)
    except ArithmeticError:
        amount = Decimal(0)
    return format_decimal(amount, places)

"""Keep what CoinPayments reports per payment of an invoice, on every read of that invoice.

The ledger is exported from these rows alone: an export never asks CoinPayments again. The rows are
written in their own short unit after the payment's transition (they inform the books, never the
payment's state), and only when something in them changed, so a quiet re-read writes nothing.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from saleor_coinpayments.coinpayments.models import Invoice, InvoicePayment
from saleor_coinpayments.coinpayments.models.common import PaymentState
from saleor_coinpayments.store.db import Database
from saleor_coinpayments.store.tables import InvoicePaymentRecord

ZERO = Decimal(0)
RATE_PLACES = 10
"""A rate is a quotient of two amounts, so it is rounded: to this many decimal places."""

COUNTED = frozenset({PaymentState.CONFIRMED, PaymentState.SCHEDULED_FOR_PAYOUT, PaymentState.COMPLETED})
WAITING_RETURN = frozenset({PaymentState.CANCELLED_WAITING_REFUND, PaymentState.TIMED_OUT_WAITING_REFUND})
RETURNED = frozenset(
    {PaymentState.TIMED_OUT_REFUND_PROCESSED, PaymentState.CANCELLED_REFUND_PROCESSED, PaymentState.REFUNDED}
)
"""Money CoinPayments gives back to the buyer's refund e-mail: never the shop's."""


def rate_of(payment: InvoicePayment) -> Decimal | None:
    """Invoice currency per coin, from CoinPayments' own quote (what it expected in both)."""
    native, coin = payment.native_expected_amount, payment.expected_amount
    if native is None or not coin:
        return None
    with localcontext() as context:
        context.prec = 60
        return (native / coin).quantize(Decimal(1).scaleb(-RATE_PLACES), rounding=ROUND_HALF_EVEN)


def reported_values(invoice: Invoice, payment: InvoicePayment, observed_at: datetime) -> dict[str, Any]:
    """The columns of one payment's row, as this read of the invoice says them (times aside)."""
    fees = payment.fees.merchant_fee if payment.fees else None
    native_fees = payment.native_fees.merchant_fee if payment.native_fees else None
    payout = payment.payout if payment.payout and payment.payout.completed_at else None
    native_payout = payment.native_payout if payout else None
    buyer_tx = payment.payout.received_blockchain_tx if payment.payout else None
    return {
        "coin_symbol": payment.payment_currency_symbol or payment.payment_currency_id or "",
        "native_currency": payment.native_currency_symbol or invoice.currency.symbol,
        "state": payment.state.value,
        "order_number": (invoice.custom_data or {}).get("saleorOrderNumber"),
        "expected_amount": payment.expected_amount,
        "actual_amount": payment.actual_amount or ZERO,
        "native_actual_amount": payment.native_actual_amount or ZERO,
        "rate": rate_of(payment),
        "fee_transaction": fees.coin_payments_fee if fees else None,
        "fee_network": fees.network_fee if fees else None,
        "fee_conversion": fees.conversion_fee if fees else None,
        "native_fee_total": native_fees.total if native_fees else None,
        "payout_amount": payout.display_value if payout else None,
        "native_payout_amount": native_payout.display_value if native_payout else None,
        "payout_tx": payout.blockchain_tx if payout else None,
        "payout_completed_at": payout.completed_at if payout else None,
        "buyer_tx_ids": [buyer_tx] if buyer_tx else [],
        "refund_email": payment.refund_email,
    }


def _received_at(payment: InvoicePayment, known: datetime | None, observed_at: datetime) -> datetime | None:
    if known is not None:
        return known
    if payment.state in COUNTED:
        return payment.confirmed_at or payment.pending_at or observed_at
    if payment.state in WAITING_RETURN or payment.state in RETURNED:
        return payment.pending_at or observed_at
    return None


def _same(record: InvoicePaymentRecord, values: dict[str, Any]) -> bool:
    return all(getattr(record, name) == value for name, value in values.items())


async def record_invoice_payments(db: Database, payment_id: str, invoice: Invoice, observed_at: datetime) -> None:
    """Upsert one row per CoinPayments payment (per coin) of `invoice`; nothing when none changed.

    Two reads of one invoice (two replicas, a notification and the reconciler) may both find no row
    for a coin and both insert it: the one that loses on the unique key tries again, and then finds
    the row the other made and brings it up to date."""
    reported = [p for p in invoice.payments if p.payment_currency_id]
    if not reported:
        return
    try:
        await _record(db, payment_id, invoice, reported, observed_at)
    except IntegrityError:
        await _record(db, payment_id, invoice, reported, observed_at)


async def _record(
    db: Database, payment_id: str, invoice: Invoice, reported: list[InvoicePayment], observed_at: datetime
) -> None:
    async with db.session(write=True) as session:
        rows = await session.scalars(select(InvoicePaymentRecord).where(InvoicePaymentRecord.payment_id == payment_id))
        known = {row.coin_currency_id: row for row in rows}
        for payment in reported:
            assert payment.payment_currency_id is not None
            values = reported_values(invoice, payment, observed_at)
            record = known.get(payment.payment_currency_id)
            if record is None:
                record = InvoicePaymentRecord(payment_id=payment_id, coin_currency_id=payment.payment_currency_id)
                session.add(record)
            values["received_at"] = _received_at(payment, record.received_at, observed_at)
            returned = record.returned_at
            values["returned_at"] = returned or (observed_at if payment.state in RETURNED else None)
            if record.id is not None and _same(record, values):
                continue
            for name, value in values.items():
                setattr(record, name, value)
            record.updated_at = observed_at


async def records_of(session: AsyncSession, payment_ids: list[str]) -> list[InvoicePaymentRecord]:
    """What CoinPayments last said about each coin paid into these payments' invoices."""
    if not payment_ids:
        return []
    rows = await session.scalars(
        select(InvoicePaymentRecord)
        .where(InvoicePaymentRecord.payment_id.in_(payment_ids))
        .order_by(InvoicePaymentRecord.coin_symbol)
    )
    return list(rows)

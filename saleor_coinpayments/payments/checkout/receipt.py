"""The buyer's receipt: what the pay page shows once money came in, and `/pay/<token>/receipt` later.

A receipt names only what the buyer needs to keep or to ask about the payment: the shop, the date,
the fiat amount asked and received, each coin and coin amount that came in (every decimal), the
transaction ids CoinPayments reports for them, and the invoice number (our `invoiceId`, the number
CoinPayments shows the buyer). Never CoinPayments' invoice id or any Saleor id.

The coin lines come from what CoinPayments reported per payment (payments/books/received.py), kept
on every read of the invoice; the fiat figures from the payment's own state (what was credited).

Four cases:
- `paid`: the amount asked came in;
- `overpaid`: more came in, and the shop refunds the surplus (a refund is suggested to staff);
- `underpaid`: part came in and CoinPayments took it when the invoice ended; the shop decides;
- `returned`: the invoice ended before enough came in, nothing was charged, and CoinPayments
  sends the money back to the buyer's refund e-mail address.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import select

from saleor_coinpayments.context import AppContext
from saleor_coinpayments.locale import Speaker
from saleor_coinpayments.money import Money
from saleor_coinpayments.payments.checkout import display
from saleor_coinpayments.payments.checkout.pay_link import is_well_formed, token_hash
from saleor_coinpayments.states import PaymentState
from saleor_coinpayments.store.configurations import ConfigurationRepository
from saleor_coinpayments.store.tables import InvoicePaymentRecord, Payment

ReceiptCase = Literal["paid", "overpaid", "underpaid", "returned"]
ZERO = Decimal(0)
_PAID = (PaymentState.PAID.value, PaymentState.COMPLETED.value)
_ENDED = (PaymentState.EXPIRED.value, PaymentState.CANCELLED.value)


@dataclass(frozen=True, slots=True)
class Receipt:
    """The receipt's figures, already written for people in the page's language (display.py)."""

    case: ReceiptCase
    shop: str
    date: str
    amount: str
    received: str
    difference: str | None
    coins: tuple[str, ...]
    transactions: tuple[str, ...]
    invoice_number: str
    complete: bool
    """False while the coin lines are not known yet (the read that brings them is on its way)."""

    def as_json(self) -> dict[str, Any]:
        return {
            "case": self.case,
            "shop": self.shop,
            "date": self.date,
            "amount": self.amount,
            "received": self.received,
            "difference": self.difference,
            "coins": list(self.coins),
            "transactions": list(self.transactions),
            "invoiceNumber": self.invoice_number,
            "complete": self.complete,
        }


def shop_name(payment: Payment, chosen_name: str | None) -> str:
    """The name the buyer's pages head the payment with: the one decided when the payment was made
    (pay_link.shop_name: a name staff chose, else the channel's name in Saleor); payments from
    before that fall back to the configuration's name, when staff chose it (`chosen_name`)."""
    details = payment.details or {}
    if "shop_name" in details:
        return str(details["shop_name"] or "")
    return chosen_name or ""


def _case(payment: Payment, records: list[InvoicePaymentRecord]) -> ReceiptCase | None:
    if payment.state in _PAID and payment.credited_amount > 0:
        asked = Money.of(payment.amount, payment.currency).rounded().amount
        if payment.credited_amount > asked:
            return "overpaid"
        return "paid" if payment.credited_amount == asked else "underpaid"
    if payment.state in _ENDED and any(r.actual_amount > 0 for r in records):
        return "returned"
    return None


def _coin_decimals(payment: Payment, currency_id: str) -> int | None:
    details = payment.coin_details or {}
    if payment.coin_currency_id == currency_id and "decimals" in details.get("currency", {}):
        return int(details["currency"]["decimals"])
    return None


def _coins(payment: Payment, records: list[InvoicePaymentRecord], speak: Speaker) -> tuple[str, ...]:
    lines = [
        display.coin(r.actual_amount, r.coin_symbol, speak, _coin_decimals(payment, r.coin_currency_id))
        for r in records
        if r.actual_amount > 0
    ]
    if lines:
        return tuple(lines)
    # Not reported per payment yet: the chosen coin's own confirmed amount, if it was read.
    status, details = payment.coin_status or {}, payment.coin_details or {}
    currency = details.get("currency") or {}
    if status.get("confirmed") and Decimal(status["confirmed"]) > 0 and currency.get("symbol"):
        return (display.coin(Decimal(status["confirmed"]), currency["symbol"], speak, currency.get("decimals")),)
    return ()


def _date(payment: Payment, records: list[InvoicePaymentRecord]) -> datetime:
    times = [r.received_at for r in records if r.received_at is not None]
    return max(times) if times else (payment.changed_at or payment.updated_at)


def build(payment: Payment, records: list[InvoicePaymentRecord], shop: str, speak: Speaker) -> Receipt | None:
    """The receipt of `payment` (pure: the caller reads the rows), or None while no money came in."""
    case = _case(payment, records)
    if case is None:
        return None
    asked = Money.of(payment.amount, payment.currency).rounded()
    if case == "returned":
        received = Money.of(sum((r.native_actual_amount for r in records), ZERO), payment.currency)
    else:
        received = Money.of(payment.credited_amount, payment.currency)
    difference = None
    if case in ("overpaid", "underpaid"):
        difference = display.fiat(Money.of(abs(received.amount - asked.amount), payment.currency), speak)
    coins = _coins(payment, records, speak)
    transactions = tuple(dict.fromkeys(tx for r in records for tx in (r.buyer_tx_ids or [])))
    return Receipt(
        case=case,
        shop=shop,
        date=display.moment(_date(payment, records), speak),
        amount=display.fiat(asked, speak),
        received=display.fiat(received, speak),
        difference=difference,
        coins=coins,
        transactions=transactions,
        invoice_number=payment.our_invoice_ref,
        complete=bool(coins),
    )


def may_have_receipt(payment: Payment) -> bool:
    """Whether money may have come in: saves the read of the coin lines for every other state."""
    return (payment.state in _PAID and payment.credited_amount > 0) or payment.state in _ENDED


async def receipt_of(ctx: AppContext, payment: Payment, shop: str, speak: Speaker) -> Receipt | None:
    """The receipt of a payment whose shop name the caller has (the pay page's view reads it)."""
    if not may_have_receipt(payment):
        return None
    async with ctx.db.session() as session:
        query = (
            select(InvoicePaymentRecord)
            .where(InvoicePaymentRecord.payment_id == payment.id)
            .order_by(InvoicePaymentRecord.received_at, InvoicePaymentRecord.coin_currency_id)
        )
        records = list(await session.scalars(query))
    return build(payment, records, shop, speak)


async def payment_with_receipt(ctx: AppContext, token: str) -> Payment | None:
    """`/pay/<token>/receipt`: this link's payment, if money may have come in; None for anything that
    is not a token, an unknown one, or a payment without money in."""
    if not is_well_formed(token):
        return None
    payment = await ctx.db.fast.read(Payment, pay_token_hash=token_hash(token))
    if payment is None or not may_have_receipt(payment):
        return None
    return payment


async def receipt_for_payment(ctx: AppContext, payment: Payment, speak: Speaker) -> Receipt | None:
    """The receipt of that payment, for as long as the payment is kept, in the page's language."""
    async with ctx.db.session() as session:
        config = await ConfigurationRepository(session, ctx.box).get(payment.configuration_id, with_channels=False)
    chosen = config.name if config and config.name_chosen else None
    return await receipt_of(ctx, payment, shop_name(payment, chosen), speak)

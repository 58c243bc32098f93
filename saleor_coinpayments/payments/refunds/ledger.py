"""The money of one payment as refunds see it, and the rows and reports they make.

Shared by the refund request webhook, the staff service and the surplus suggestions, so the rule
"refunds never exceed what was credited" is written once. Everything here runs inside the caller's
unit of work, with the payment row locked (`service.locked_payment`, or the refresh that holds it).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from saleor_coinpayments.money import currency_decimals, format_decimal, quantize
from saleor_coinpayments.payments.delivery.outbox import EventReport, OutboxRepository
from saleor_coinpayments.payments.refunds.repository import RefundRepository, committed, sent
from saleor_coinpayments.store.tables import Payment, Refund, RefundOrigin, RefundState, new_id
from saleor_coinpayments.store.types import utcnow

ZERO = Decimal(0)
KEY_UNDERPAID = "info:underpaid"  # the state machine saw the invoice end short (states.py)
KEY_LATE = "info:late"


def money(amount: Decimal, currency: str) -> str:
    return f"{format_decimal(amount, currency_decimals(currency))} {currency}"


def round_to(amount: Decimal, currency: str) -> Decimal:
    return quantize(amount, currency_decimals(currency))


@dataclass(frozen=True)
class Balance:
    """Credited (money that really came in), promised back, sent back, and what is left to refund."""

    currency: str
    credited: Decimal
    committed: Decimal
    refunded: Decimal

    @property
    def refundable(self) -> Decimal:
        return max(ZERO, self.credited - self.committed)

    def text(self, amount: Decimal) -> str:
        return money(amount, self.currency)


async def balance_of(session: AsyncSession, payment: Payment) -> tuple[Balance, list[Refund]]:
    refunds = await RefundRepository(session).for_payment(payment.id)
    return (
        Balance(
            currency=payment.currency,
            credited=payment.credited_amount or ZERO,
            committed=committed(refunds),
            refunded=sent(refunds),
        ),
        refunds,
    )


def accepted_shortfall(payment: Payment) -> Decimal:
    accepted = (payment.details or {}).get("accepted_as_paid")
    return Decimal(accepted["shortfall"]) if isinstance(accepted, dict) else ZERO


def is_ended_short(payment: Payment) -> bool:
    """An under-paid invoice that ended: something came in, less than asked, and no more will."""
    credited = payment.credited_amount or ZERO
    return KEY_UNDERPAID in (payment.details or {}).get("info_keys", []) and ZERO < credited < payment.amount


async def open_refund(
    session: AsyncSession,
    payment: Payment,
    *,
    origin: RefundOrigin,
    request_key: str,
    amount: Decimal,
    reason: str | None,
    requested_by: str | None,
    buyer_email: str | None = None,
) -> tuple[Refund, bool]:
    """The refund for `request_key`: made now (True), or the one made by an earlier delivery (False)."""
    assert payment.saleor_transaction_id is not None, "refunds belong to a Saleor transaction"
    repo = RefundRepository(session)
    now = utcnow()
    made = await repo.add_if_absent(
        {
            "id": new_id(),
            "installation_id": payment.installation_id,
            "payment_id": payment.id,
            "saleor_transaction_id": payment.saleor_transaction_id,
            "request_key": request_key[:600],
            "psp_reference": f"{payment.invoice_id or payment.id}:refund:{secrets.token_hex(4)}",
            "origin": origin.value,
            "state": RefundState.REQUESTED.value,
            "amount": amount,
            "currency": payment.currency,
            "reason": reason[:2000] if reason else None,
            "requested_by": requested_by[:320] if requested_by else None,
            "buyer_email": buyer_email[:320] if buyer_email else None,
            "created_at": now,
            "updated_at": now,
        }
    )
    refund = await repo.by_request_key(payment.installation_id, request_key[:600])
    assert refund is not None
    return refund, made


async def _enqueue(
    session: AsyncSession,
    payment: Payment | Refund,
    key: str,
    *,
    transaction_id: str,
    type_: str,
    psp_reference: str,
    amount: Decimal,
    currency: str,
    message: str,
    time: datetime,
) -> None:
    payment_id = payment.id if isinstance(payment, Payment) else payment.payment_id
    await OutboxRepository(session).enqueue_event_report(
        payment.installation_id,
        payment_id,
        key,
        EventReport(
            transaction_id=transaction_id,
            type=type_,
            psp_reference=psp_reference,
            amount=format_decimal(amount, currency_decimals(currency)),
            message=message,
            time=time,
        ),
    )


async def report(session: AsyncSession, refund: Refund, key: str, *, type_: str, message: str, time: datetime) -> None:
    """Queue a transactionEventReport about this refund (once per key) on its payment's outbox."""
    await _enqueue(
        session,
        refund,
        f"refund:{refund.id}:{key}",
        transaction_id=refund.saleor_transaction_id,
        type_=type_,
        psp_reference=refund.psp_reference,
        amount=refund.amount,
        currency=refund.currency,
        message=message,
        time=time,
    )


def details_with(payment: Payment, **changes: Any) -> dict[str, Any]:
    details = dict(payment.details or {})
    details.update(changes)
    return details


async def report_payment(
    session: AsyncSession, payment: Payment, key: str, type_: str, amount: Decimal, message: str, time: datetime
) -> None:
    """Queue a transactionEventReport about a decision on the payment itself (under `<invoice id>:<key>`)."""
    assert payment.saleor_transaction_id is not None
    await _enqueue(
        session,
        payment,
        f"decision:{key}",
        transaction_id=payment.saleor_transaction_id,
        type_=type_,
        psp_reference=f"{payment.invoice_id or payment.id}:{key}",
        amount=amount,
        currency=payment.currency,
        message=message,
        time=time,
    )

"""Refund suggestions: money that came in beyond what the payment is for (an over-payment) or after
the invoice ended (late money) is owed to the buyer unless staff decide otherwise. Each new surplus
opens a suggestion in the Refunds section; Saleor hears of it only when staff complete it.

Called by the refresh after the transition is committed, in its own unit of work with the row locked.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from saleor_coinpayments.payments.refunds import ledger
from saleor_coinpayments.store.tables import Payment, RefundOrigin, RefundState

AUTOMATIC = "saleor-coinpayments (automatic)"


def _owed(payment: Payment) -> tuple[Decimal, str]:
    """What the buyer may be owed now, and why."""
    credited = payment.credited_amount or ledger.ZERO
    surplus = credited + ledger.accepted_shortfall(payment) - payment.amount
    if ledger.KEY_LATE in (payment.details or {}).get("info_keys", []):
        return credited, (
            f"Late payment: {ledger.money(credited, payment.currency)} arrived after the invoice ended; "
            "refund it unless the order is fulfilled."
        )
    return max(surplus, ledger.ZERO), (
        f"Over-payment: {ledger.money(credited, payment.currency)} came in for "
        f"{ledger.money(payment.amount, payment.currency)}."
    )


def may_owe_surplus(payment: Payment) -> bool:
    """Cheap check on the row alone: only then is a suggestion looked for (no work for ordinary payments)."""
    return bool(payment.credited_amount) and _owed(payment)[0] > 0


async def suggest_surplus(session: AsyncSession, payment: Payment) -> None:
    if payment.saleor_transaction_id is None or not payment.credited_amount:
        return
    owed, reason = _owed(payment)
    balance, refunds = await ledger.balance_of(session, payment)
    suggested = [r for r in refunds if r.origin == RefundOrigin.SURPLUS.value]
    open_suggestions = sum((r.amount for r in suggested if r.state == RefundState.REQUESTED.value), ledger.ZERO)
    new = min(
        owed - sum((r.amount for r in suggested), ledger.ZERO),
        balance.refundable - open_suggestions,
    )
    new = ledger.round_to(new, payment.currency)
    if new <= 0:
        return
    await ledger.open_refund(
        session,
        payment,
        origin=RefundOrigin.SURPLUS,
        request_key=f"surplus:{payment.id}:{len(suggested) + 1}",
        amount=new,
        reason=reason,
        requested_by=AUTOMATIC,
    )

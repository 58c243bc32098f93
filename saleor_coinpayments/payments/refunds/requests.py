"""TRANSACTION_REFUND_REQUESTED: keep the request as a refund row and acknowledge it asynchronously.

Staff send the money themselves (CoinPayments has no refund API for paid invoices) and settle the
row; until then Saleor shows the amount as refund-pending. A request that cannot be met is answered
REFUND_FAILURE with the reason: an unknown transaction, nothing credited, more than is refundable.
A repeated delivery of the same request (same REFUND_REQUEST event) gets the same pspReference.
"""

from __future__ import annotations

from typing import Any

import structlog

from saleor_coinpayments.context import AppContext
from saleor_coinpayments.payments.checkout.responses import ActionAcknowledged, ActionResult
from saleor_coinpayments.payments.refunds import ledger
from saleor_coinpayments.payments.refunds.repository import RefundRepository
from saleor_coinpayments.payments.refunds.request_payload import RefundRequest, parse_refund_request
from saleor_coinpayments.payments.refunds.service import locked_payment
from saleor_coinpayments.payments.repository import PaymentRepository
from saleor_coinpayments.store.installations import InstallationRecord
from saleor_coinpayments.store.tables import RefundOrigin

log = structlog.get_logger(__name__)


def _refused(message: str, psp_reference: str | None = None) -> ActionResult:
    return ActionResult(result="REFUND_FAILURE", psp_reference=psp_reference, message=message)


def _request_key(request: RefundRequest) -> str:
    if request.request_event_id:
        return f"saleor:{request.request_event_id}"
    # No request event in the body (an old subscription): one refund per transaction and amount.
    return f"saleor:{request.transaction_id}:{request.action.amount}"


async def request_refund(
    ctx: AppContext, installation: InstallationRecord, payload: dict[str, Any]
) -> ActionResult | ActionAcknowledged:
    request = parse_refund_request(payload)
    async with ctx.db.session() as session:
        found = await PaymentRepository(session).by_transaction(installation.id, request.transaction_id)
        payment_id = found.id if found is not None else None
    if payment_id is None:
        return _refused(
            "Unknown transaction: no CoinPayments payment of this app belongs to it, so nothing is refunded."
        )
    async with locked_payment(ctx, payment_id) as (session, payment):
        if payment is None:
            return _refused("Unknown transaction: its CoinPayments payment is gone.")
        balance, _ = await ledger.balance_of(session, payment)
        if balance.credited <= 0:
            return _refused(
                "Nothing was credited for this payment, so there is nothing to refund "
                "(money CoinPayments did not credit is refunded by CoinPayments itself).",
                payment.invoice_id,
            )
        amount = request.action.amount
        if amount is None or amount <= 0:
            return _refused("The refund request names no amount to refund.", payment.invoice_id)
        amount = ledger.round_to(amount, payment.currency)
        if request.action.currency and request.action.currency.upper() != payment.currency.upper():
            return _refused(
                f"The refund is asked in {request.action.currency}, but this payment was made in {payment.currency}.",
                payment.invoice_id,
            )
        key = _request_key(request)
        existing = await RefundRepository(session).by_request_key(installation.id, key)
        if existing is None and amount > balance.refundable:
            return _refused(
                f"{balance.text(amount)} is more than can be refunded: {balance.text(balance.credited)} was "
                f"credited, {balance.text(balance.committed)} is already refunded or being refunded, so at most "
                f"{balance.text(balance.refundable)} can still be refunded.",
                payment.invoice_id,
            )
        refund, made = await ledger.open_refund(
            session,
            payment,
            origin=RefundOrigin.SALEOR,
            request_key=key,
            amount=amount,
            reason=request.reason,
            requested_by=request.requested_by,
            buyer_email=request.buyer_email,
        )
    log.info(
        "refund_requested",
        refund_id=refund.id,
        psp_reference=refund.psp_reference,
        amount=str(refund.amount),
        new=made,
    )
    return ActionAcknowledged(
        psp_reference=refund.psp_reference,
        message=(
            f"Refund of {ledger.money(refund.amount, refund.currency)} recorded: staff send it from the "
            "CoinPayments account and then complete it in the CoinPayments app."
        ),
    )

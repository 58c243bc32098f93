"""TRANSACTION_CHARGE_REQUESTED and _CANCELATION_REQUESTED: explicit answers.

Crypto invoices are charged when the buyer pays, so a charge request has nothing to do; a cancel
cancels the invoice if nothing came in. Refund requests are kept and settled by staff
(payments/refunds/requests.py).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import structlog

from saleor_coinpayments.coinpayments import errors as cp_errors
from saleor_coinpayments.context import AppContext
from saleor_coinpayments.payments.checkout.responses import ActionResult
from saleor_coinpayments.payments.gateway import client_for
from saleor_coinpayments.payments.payloads import parse_action_request
from saleor_coinpayments.payments.refresh import refresh_payment
from saleor_coinpayments.payments.repository import PaymentRepository
from saleor_coinpayments.states import PaymentState
from saleor_coinpayments.store.configurations import ConfigurationRepository
from saleor_coinpayments.store.installations import InstallationRecord

log = structlog.get_logger(__name__)


async def charge(ctx: AppContext, installation: InstallationRecord, payload: dict[str, Any]) -> ActionResult:
    request = parse_action_request(payload)
    return ActionResult(
        result="CHARGE_FAILURE",
        psp_reference=request.psp_reference or None,
        message="Not applicable: crypto payments are charged when the buyer pays the CoinPayments invoice.",
    )


async def cancel(ctx: AppContext, installation: InstallationRecord, payload: dict[str, Any]) -> ActionResult:
    request = parse_action_request(payload)
    async with ctx.db.session() as session:
        payment = await PaymentRepository(session).by_transaction(installation.id, request.transaction_id)
    if payment is None or not payment.invoice_id:
        return ActionResult(result="CANCEL_FAILURE", message="No CoinPayments invoice belongs to this transaction.")
    try:
        snapshot = await refresh_payment(ctx, payment.id)
    except cp_errors.CoinPaymentsError as exc:
        return ActionResult(
            result="CANCEL_FAILURE",
            psp_reference=payment.invoice_id,
            message=f"CoinPayments could not be asked about the invoice: {exc.merchant_message}",
        )
    if snapshot is None:
        return ActionResult(result="CANCEL_FAILURE", message="The payment could not be read.")
    received = sum((credit.amount for credit in snapshot.credits), Decimal(0))
    if received > 0 or snapshot.state in (PaymentState.PENDING, PaymentState.PAID, PaymentState.COMPLETED):
        return ActionResult(
            result="CANCEL_FAILURE",
            psp_reference=payment.invoice_id,
            message="The buyer has already paid (or a payment is on its way); it cannot be cancelled.",
        )
    if snapshot.state not in (PaymentState.CANCELLED, PaymentState.EXPIRED):
        async with ctx.db.session() as session:
            config = await ConfigurationRepository(session, ctx.box).get(payment.configuration_id)
        if config is None:
            return ActionResult(result="CANCEL_FAILURE", message="The configuration of this payment was removed.")
        try:
            await client_for(ctx, config).cancel_invoice(payment.invoice_id)
        except cp_errors.CoinPaymentsError as exc:
            return ActionResult(
                result="CANCEL_FAILURE",
                psp_reference=payment.invoice_id,
                message=f"CoinPayments refused to cancel the invoice: {exc.merchant_message}",
            )
        try:
            await refresh_payment(ctx, payment.id)
        except cp_errors.CoinPaymentsError as exc:
            log.warning("refresh_after_cancel_failed", error=exc.message)
    return ActionResult(
        result="CANCEL_SUCCESS",
        psp_reference=payment.invoice_id,
        amount=None if request.amount is None else str(request.amount),
        message="The CoinPayments invoice is cancelled; nothing was paid.",
    )

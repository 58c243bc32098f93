"""CoinPayments notifications: one route per configuration (the URL names it, so the right secret
verifies it). The raw body is verified before anything is parsed."""

from __future__ import annotations

import structlog
from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import JSONResponse

from saleor_coinpayments.coinpayments import errors as cp_errors
from saleor_coinpayments.context import AppContext
from saleor_coinpayments.payments.delivery import notifications
from saleor_coinpayments.payments.refresh import refresh_payment
from saleor_coinpayments.store.fast_path import WriteStep
from saleor_coinpayments.store.tables import Payment
from saleor_coinpayments.urls import COINPAYMENTS_NOTIFICATION_PREFIX
from saleor_coinpayments.web.answers import error
from saleor_coinpayments.web.deps import Ctx, error_response, read_limited_body

log = structlog.get_logger(__name__)
router = APIRouter()


async def _refresh_soon(ctx: AppContext, accepted: notifications.Accepted) -> None:
    """Re-read the invoice after answering. Notifications of one payment that arrive before its
    re-read starts share it; if it fails the reconciler picks the payment up."""
    payment_id = accepted.payment_id
    assert payment_id is not None
    await ctx.notification_rereads.submit(payment_id, accepted, lambda batch: _reread(ctx, payment_id, batch))


async def _reread(ctx: AppContext, payment_id: str, batch: list[notifications.Accepted]) -> None:
    def handled(payment: Payment) -> list[WriteStep]:
        return notifications.mark_handled_steps(batch, f"state {payment.state}")

    try:
        key = next((accepted.invoice_key for accepted in batch if accepted.invoice_key), None)
        snapshot = await refresh_payment(ctx, payment_id, also=handled, key=key)
        if snapshot is not None:
            return  # marked handled in the transition's own transaction
        outcome = "payment gone"
    except cp_errors.CoinPaymentsError as exc:
        log.warning("notification_refresh_failed", payment_id=payment_id, error=exc.message)
        outcome = f"re-read failed: {exc.code}"
    await notifications.mark_handled(ctx, batch, outcome)


@router.post(
    COINPAYMENTS_NOTIFICATION_PREFIX + "/{configuration_id}",
    responses={
        200: {"description": "Received: `{received: true, duplicate}`."},
        400: error("The body is not a notification, or Content-Length is not a number."),
        401: error("The notification's signature does not verify."),
        404: error("No configuration at this notification URL."),
        413: error("The body is larger than the app accepts."),
    },
)
async def coinpayments_notification(
    configuration_id: str, request: Request, ctx: Ctx, background: BackgroundTasks
) -> JSONResponse:
    body = await read_limited_body(request, ctx.settings.max_body_bytes)
    result = await notifications.receive(ctx, configuration_id, body, dict(request.headers))
    if isinstance(result, notifications.Rejected):
        return error_response(result.status, result.code, result.message)
    if result.payment_id is not None and not result.duplicate:
        background.add_task(_refresh_soon, ctx, result)
    return JSONResponse({"received": True, "duplicate": result.duplicate})

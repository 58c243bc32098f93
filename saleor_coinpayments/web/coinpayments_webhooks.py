"""CoinPayments notifications: one route per configuration (the URL names it, so the right secret
verifies it). The raw body is verified before anything is parsed; the work is
payments/delivery/notifications.py (record it, then re-read the invoice after the answer)."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import JSONResponse

from saleor_coinpayments.payments.delivery import notifications
from saleor_coinpayments.urls import COINPAYMENTS_NOTIFICATION_PREFIX
from saleor_coinpayments.web.answers import error
from saleor_coinpayments.web.deps import Ctx, error_response, read_limited_body

router = APIRouter()


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
    if notifications.needs_reread(result):
        background.add_task(notifications.reread_soon, ctx, result)
    return JSONResponse({"received": True, "duplicate": result.duplicate})

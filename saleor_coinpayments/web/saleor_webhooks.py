"""Saleor payment webhooks: verify (dependency), parse, run the use case, render its answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import structlog
from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from saleor_coinpayments.payments.checkout import action_requests, gateway_initialize, transaction_session
from saleor_coinpayments.payments.checkout.responses import (
    ActionAcknowledged,
    ActionResult,
    SessionResult,
    charge_failure,
)
from saleor_coinpayments.payments.invoicing import order_events, sent_invoices
from saleor_coinpayments.payments.payloads import PayloadError
from saleor_coinpayments.payments.refunds import requests as refund_requests
from saleor_coinpayments.saleor.events import SaleorEvent
from saleor_coinpayments.web.answers import SALEOR_WEBHOOK, error
from saleor_coinpayments.web.deps import Ctx, HttpError
from saleor_coinpayments.web.saleor_auth import VerifiedWebhook, verified_webhook

log = structlog.get_logger(__name__)
router = APIRouter(responses=SALEOR_WEBHOOK)

UNAVAILABLE = "Crypto payments are temporarily unavailable. Please try again in a moment."


GatewayHook = Annotated[VerifiedWebhook, Depends(verified_webhook(SaleorEvent.PAYMENT_GATEWAY_INITIALIZE_SESSION))]
InitializeHook = Annotated[VerifiedWebhook, Depends(verified_webhook(SaleorEvent.TRANSACTION_INITIALIZE_SESSION))]
ProcessHook = Annotated[VerifiedWebhook, Depends(verified_webhook(SaleorEvent.TRANSACTION_PROCESS_SESSION))]
ChargeHook = Annotated[VerifiedWebhook, Depends(verified_webhook(SaleorEvent.TRANSACTION_CHARGE_REQUESTED))]
RefundHook = Annotated[VerifiedWebhook, Depends(verified_webhook(SaleorEvent.TRANSACTION_REFUND_REQUESTED))]
CancelHook = Annotated[VerifiedWebhook, Depends(verified_webhook(SaleorEvent.TRANSACTION_CANCELATION_REQUESTED))]
InvoiceHook = Annotated[VerifiedWebhook, Depends(verified_webhook(SaleorEvent.INVOICE_REQUESTED))]


async def _session_answer(run: Callable[[], Awaitable[SessionResult]]) -> JSONResponse:
    """Session webhooks are never retried by Saleor: every outcome, even a bug, is a readable answer."""
    try:
        result = await run()
    except PayloadError as exc:
        raise HttpError(400, "MALFORMED_PAYLOAD", str(exc)) from None
    except Exception:
        log.exception("session_webhook_failed")
        result = charge_failure(UNAVAILABLE, code="INTERNAL_ERROR")
    return JSONResponse(result.to_json())


async def _action_answer(run: Callable[[], Awaitable[ActionResult | ActionAcknowledged]]) -> JSONResponse:
    try:
        result = await run()
    except PayloadError as exc:
        raise HttpError(400, "MALFORMED_PAYLOAD", str(exc)) from None
    return JSONResponse(result.to_json())


@router.post(SaleorEvent.PAYMENT_GATEWAY_INITIALIZE_SESSION.path)
async def payment_gateway_initialize_session(ctx: Ctx, hook: GatewayHook) -> JSONResponse:
    try:
        data = await gateway_initialize.run(ctx, hook.installation, hook.payload)
    except Exception:
        log.exception("gateway_initialize_failed")
        data = {"configured": False, "error": {"code": "INTERNAL_ERROR", "message": UNAVAILABLE}}
    return JSONResponse({"data": data})


@router.post(SaleorEvent.TRANSACTION_INITIALIZE_SESSION.path)
async def transaction_initialize_session(ctx: Ctx, hook: InitializeHook) -> JSONResponse:
    return await _session_answer(lambda: transaction_session.initialize(ctx, hook.installation, hook.payload))


@router.post(SaleorEvent.TRANSACTION_PROCESS_SESSION.path)
async def transaction_process_session(ctx: Ctx, hook: ProcessHook) -> JSONResponse:
    return await _session_answer(lambda: transaction_session.process(ctx, hook.installation, hook.payload))


@router.post(SaleorEvent.TRANSACTION_CHARGE_REQUESTED.path)
async def transaction_charge_requested(ctx: Ctx, hook: ChargeHook) -> JSONResponse:
    return await _action_answer(lambda: action_requests.charge(ctx, hook.installation, hook.payload))


@router.post(SaleorEvent.TRANSACTION_REFUND_REQUESTED.path)
async def transaction_refund_requested(ctx: Ctx, hook: RefundHook) -> JSONResponse:
    return await _action_answer(lambda: refund_requests.request_refund(ctx, hook.installation, hook.payload))


@router.post(SaleorEvent.TRANSACTION_CANCELATION_REQUESTED.path)
async def transaction_cancelation_requested(ctx: Ctx, hook: CancelHook) -> JSONResponse:
    return await _action_answer(lambda: action_requests.cancel(ctx, hook.installation, hook.payload))


@router.post(
    SaleorEvent.INVOICE_REQUESTED.path,
    responses={503: error("Not handled now; Saleor delivers the event again later.")},
)
async def invoice_requested(ctx: Ctx, hook: InvoiceHook) -> JSONResponse:
    """Async: 200 when done or finally refused (noted on the order); 503 makes Saleor retry later."""
    try:
        result = await sent_invoices.on_invoice_requested(ctx, hook.installation, hook.payload)
    except PayloadError as exc:
        raise HttpError(400, "MALFORMED_PAYLOAD", str(exc)) from None
    if result is None:
        return JSONResponse({"outcome": "not_ours"})
    if isinstance(result, sent_invoices.SendRefused) and result.temporary:
        raise HttpError(503, result.code, result.message)
    return JSONResponse(result.to_json())


OrderCreatedHook = Annotated[VerifiedWebhook, Depends(verified_webhook(SaleorEvent.ORDER_CREATED))]
OrderConfirmedHook = Annotated[VerifiedWebhook, Depends(verified_webhook(SaleorEvent.ORDER_CONFIRMED))]
OrderUpdatedHook = Annotated[VerifiedWebhook, Depends(verified_webhook(SaleorEvent.ORDER_UPDATED))]
OrderCancelledHook = Annotated[VerifiedWebhook, Depends(verified_webhook(SaleorEvent.ORDER_CANCELLED))]


async def _order_answer(ctx: Ctx, hook: VerifiedWebhook) -> JSONResponse:
    """Async order events: 200 when handled or nothing to do; 503 makes Saleor deliver it again."""
    try:
        result = await order_events.on_order_event(ctx, hook.installation, hook.event, hook.payload)
    except PayloadError as exc:
        raise HttpError(400, "MALFORMED_PAYLOAD", str(exc)) from None
    if result.temporary:
        raise HttpError(503, "TEMPORARILY_UNAVAILABLE", result.message)
    return JSONResponse(result.to_json())


@router.post(
    SaleorEvent.ORDER_CREATED.path, responses={503: error("Not handled now; Saleor delivers the event again later.")}
)
async def order_created(ctx: Ctx, hook: OrderCreatedHook) -> JSONResponse:
    return await _order_answer(ctx, hook)


@router.post(
    SaleorEvent.ORDER_CONFIRMED.path, responses={503: error("Not handled now; Saleor delivers the event again later.")}
)
async def order_confirmed(ctx: Ctx, hook: OrderConfirmedHook) -> JSONResponse:
    return await _order_answer(ctx, hook)


@router.post(
    SaleorEvent.ORDER_UPDATED.path, responses={503: error("Not handled now; Saleor delivers the event again later.")}
)
async def order_updated(ctx: Ctx, hook: OrderUpdatedHook) -> JSONResponse:
    return await _order_answer(ctx, hook)


@router.post(
    SaleorEvent.ORDER_CANCELLED.path, responses={503: error("Not handled now; Saleor delivers the event again later.")}
)
async def order_cancelled(ctx: Ctx, hook: OrderCancelledHook) -> JSONResponse:
    return await _order_answer(ctx, hook)

"""The Dashboard page's API for refunds and staff decisions on odd payments.

Routes only parse and map; `RefundService` (shared with `saleor-coinpayments refund …`) does the
work. The signed-in staff user (the Dashboard token's e-mail) is recorded as who did it.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from saleor_coinpayments.payments.refunds.service import (
    NOTE_MAX,
    REASON_MAX,
    TX_MAX,
    Done,
    RefundService,
    Refused,
    parse_reason,
    parse_transfer,
)
from saleor_coinpayments.web.answers import ACTION_REFUSED, DASHBOARD_AUTH, json_body, stripped_text
from saleor_coinpayments.web.dashboard import API_PREFIX, _json_body
from saleor_coinpayments.web.dashboard_auth import AuthorisedUser, DashboardUser
from saleor_coinpayments.web.deps import Ctx

log = structlog.get_logger(__name__)
router = APIRouter()

_STATUS = {"NOT_FOUND": 404, "INVALID": 400, "CONFLICT": 409}


def actor_of(user: DashboardUser) -> str:
    return user.email or (f"staff user {user.user_id}" if user.user_id else "a staff user")


def _answer(result: Done | Refused) -> JSONResponse:
    if isinstance(result, Refused):
        return JSONResponse(result.to_json(), status_code=_STATUS.get(result.code, 400))
    return JSONResponse(result.to_json())


@router.get(f"{API_PREFIX}/refunds", responses=DASHBOARD_AUTH)
async def list_refunds(request: Request, ctx: Ctx, user: AuthorisedUser) -> dict[str, Any]:
    pending = request.query_params.get("pending") in ("1", "true", "yes")
    views = await RefundService(ctx).list(user.installation.id, pending_only=pending)
    return {"refunds": [view.to_json() for view in views]}


@router.post(
    f"{API_PREFIX}/refunds/{{refund_id}}/complete",
    responses={**DASHBOARD_AUTH, **ACTION_REFUSED},
    openapi_extra=json_body(
        {
            "type": "object",
            "required": ["tx"],
            "properties": {
                "tx": stripped_text(TX_MAX, inner_spaces=False),
                "coin": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,32}$"},
                "amount": {
                    "description": "The coin amount sent (needs `coin`), above 0.",
                    "oneOf": [
                        {"type": "string", "pattern": "^[0-9]*[1-9][0-9]*(\\.[0-9]+)?$|^[0-9]*\\.[0-9]*[1-9][0-9]*$"},
                        {"type": "integer", "minimum": 1},
                    ],
                },
                "note": stripped_text(NOTE_MAX, optional=True),
            },
            "dependentRequired": {"amount": ["coin"]},
        }
    ),
)
async def complete_refund(request: Request, ctx: Ctx, user: AuthorisedUser, refund_id: str) -> JSONResponse:
    body = await _json_body(request)
    transfer = parse_transfer(body.get("tx"), body.get("coin"), body.get("amount"), body.get("note"))
    if isinstance(transfer, Refused):
        return _answer(transfer)
    return _answer(await RefundService(ctx).complete(user.installation.id, refund_id, transfer, actor=actor_of(user)))


@router.post(
    f"{API_PREFIX}/refunds/{{refund_id}}/decline",
    responses={**DASHBOARD_AUTH, **ACTION_REFUSED},
    openapi_extra=json_body(
        {
            "type": "object",
            "required": ["reason"],
            "properties": {"reason": stripped_text(REASON_MAX)},
        }
    ),
)
async def decline_refund(request: Request, ctx: Ctx, user: AuthorisedUser, refund_id: str) -> JSONResponse:
    reason = parse_reason((await _json_body(request)).get("reason"))
    if isinstance(reason, Refused):
        return _answer(reason)
    return _answer(await RefundService(ctx).decline(user.installation.id, refund_id, reason, actor=actor_of(user)))


@router.post(f"{API_PREFIX}/payments/{{payment_id}}/accept-as-paid", responses={**DASHBOARD_AUTH, **ACTION_REFUSED})
async def accept_as_paid(ctx: Ctx, user: AuthorisedUser, payment_id: str) -> JSONResponse:
    return _answer(await RefundService(ctx).accept_as_paid(user.installation.id, payment_id, actor=actor_of(user)))


@router.post(
    f"{API_PREFIX}/payments/{{payment_id}}/refund-received",
    responses={**DASHBOARD_AUTH, **ACTION_REFUSED},
    openapi_extra=json_body({"type": "object", "properties": {"reason": {"type": ["string", "null"]}}}, required=False),
)
async def refund_received(request: Request, ctx: Ctx, user: AuthorisedUser, payment_id: str) -> JSONResponse:
    body = await _json_body(request)
    reason = body.get("reason") if isinstance(body.get("reason"), str) else None
    return _answer(
        await RefundService(ctx).refund_received(
            user.installation.id, payment_id, actor=actor_of(user), reason=(reason or "").strip()[:500] or None
        )
    )

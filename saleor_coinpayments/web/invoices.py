"""`POST /api/invoices/send`: bill a Saleor order with a sent-out CoinPayments invoice.

For platforms that bill on a schedule. Authenticated like the Dashboard page's API
(`saleor-api-url` + `authorization-bearer` of a staff user with MANAGE_APPS) or, for machines, by
`Authorization: Bearer <OPERATOR_TOKEN>` (off while the setting is empty). Idempotent per order:
201 when an invoice was made, 200 when the order already had a live one, 404 when Saleor has no such
order, 422 when refused (nothing made), 503 when Saleor or CoinPayments did not answer (safe to ask
again).
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from saleor_coinpayments.configuration import installations
from saleor_coinpayments.configuration.installations import InstallationRecord
from saleor_coinpayments.money import parse_json
from saleor_coinpayments.payments.invoicing import sent_invoices
from saleor_coinpayments.web.answers import BODY_REFUSED, DASHBOARD_AUTH, error, json_body
from saleor_coinpayments.web.dashboard_auth import API_URL_HEADER, dashboard_user
from saleor_coinpayments.web.deps import HttpError, get_ctx, read_limited_body

router = APIRouter()

PATH = "/api/invoices/send"
MAX_BODY_BYTES = 16 * 1024
_TEXT = {"type": "string", "maxLength": 2000}
SEND_BODY = json_body(
    {
        "type": "object",
        "required": ["orderId"],
        "properties": {
            "orderId": {**_TEXT, "minLength": 1},
            "saleorApiUrl": {**_TEXT, "description": "With the operator token: the Saleor of the order."},
            "dueDate": {**_TEXT, "format": "date", "description": "YYYY-MM-DD; default: the configuration's."},
            "note": _TEXT,
        },
    }
)
_REFUSAL = "`{error: {code, message, temporary}}`"
SEND_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"description": "The order already had a live invoice: the sent invoice."},
    201: {"description": "An invoice was made and sent."},
    **BODY_REFUSED,
    **DASHBOARD_AUTH,
    401: error("No or an invalid Dashboard token or operator token."),
    404: error(f"Saleor has no such order, or (operator token) the app is not installed there: {_REFUSAL}."),
    422: error(f"The order cannot be billed (paid, cancelled, no e-mail, not set up…); nothing made: {_REFUSAL}."),
    503: error(f"Saleor or CoinPayments did not answer; asking again is safe: {_REFUSAL}."),
}


def _text(body: dict[str, Any], key: str, *, required: bool = False) -> str | None:
    value = body.get(key)
    if value is None or value == "":
        if required:
            raise HttpError(400, "INVALID_REQUEST", f"`{key}` is required.")
        return None
    if not isinstance(value, str) or len(value) > 2000:
        raise HttpError(400, "INVALID_REQUEST", f"`{key}` must be a string.")
    return value.strip()


async def _operator_installation(request: Request, api_url: str | None) -> InstallationRecord | None:
    """The installation named in the body, when the caller holds the operator token; None when the
    request carries no operator token (the Dashboard token is tried instead)."""
    ctx = get_ctx(request)
    header = request.headers.get("authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    expected = ctx.settings.operator_token.get_secret_value()
    if not expected or not secrets.compare_digest(token.strip().encode(), expected.encode()):
        raise HttpError(401, "INVALID_TOKEN", "The operator token is not valid.")
    if not api_url:
        raise HttpError(400, "INVALID_REQUEST", "`saleorApiUrl` is required.")
    installation = await installations.stored(ctx, api_url)
    if installation is None:
        raise HttpError(404, "NOT_INSTALLED", f"The app is not installed for Saleor {api_url}.")
    return installation


@router.post(PATH, status_code=201, responses=SEND_ANSWERS, openapi_extra=SEND_BODY)
async def send_invoice(request: Request) -> JSONResponse:
    ctx = get_ctx(request)
    raw = await read_limited_body(request, MAX_BODY_BYTES)
    try:
        body = parse_json(raw) if raw.strip() else {}
    except ValueError:
        raise HttpError(400, "INVALID_REQUEST", "The body is not JSON.") from None
    if not isinstance(body, dict):
        raise HttpError(400, "INVALID_REQUEST", "The body must be a JSON object.")
    api_url = _text(body, "saleorApiUrl")
    installation = await _operator_installation(request, api_url)
    if installation is None:
        user = await dashboard_user(request)
        installation = user.installation
        if api_url and api_url != request.headers.get(API_URL_HEADER, "").strip():
            raise HttpError(403, "FORBIDDEN", "`saleorApiUrl` is not the Saleor of your Dashboard token.")
    order_id = _text(body, "orderId", required=True)
    assert order_id is not None
    due = _text(body, "dueDate")
    try:
        due_date = sent_invoices.parse_due_date(due) if due else None
    except ValueError as exc:
        raise HttpError(400, "INVALID_DUE_DATE", str(exc)) from None
    options = sent_invoices.SendOptions(due_date=due_date, note=_text(body, "note"))
    result = await sent_invoices.send_for_order(ctx, installation, order_id, options)
    if isinstance(result, sent_invoices.SendRefused):
        status = 503 if result.temporary else 404 if result.code == sent_invoices.ORDER_NOT_FOUND else 422
        return JSONResponse(result.to_json(), status_code=status)
    return JSONResponse(result.to_json(), status_code=200 if result.outcome == "existing" else 201)

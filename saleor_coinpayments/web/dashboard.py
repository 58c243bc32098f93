"""The Dashboard page (the manifest's `appUrl`) and its JSON API.

The page is server-rendered HTML with a small script (static/dashboard.js) that does the Dashboard
handshake and calls the API below with the token it receives. Routes only verify, parse and map:
the work is `ConfigurationService` (shared with the CLI), `installations` and `payment_desk`; who may
frame the page is `framing`.
Responses never carry a secret. Bad input is 400 `{"errors": {field: message}}`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from saleor_coinpayments import __version__
from saleor_coinpayments.configuration import payment_desk
from saleor_coinpayments.configuration import validation as v
from saleor_coinpayments.configuration.payment_log import DEFAULT_LIMIT
from saleor_coinpayments.configuration.service import ConfigurationService, NotFound
from saleor_coinpayments.context import AppContext
from saleor_coinpayments.money import parse_json
from saleor_coinpayments.saleor.channels import channel_list as saleor_channels
from saleor_coinpayments.saleor.client import SaleorError
from saleor_coinpayments.web.answers import (
    DASHBOARD_AUTH,
    FORM_REFUSED,
    NOT_FOUND,
    SALEOR_UNAVAILABLE,
    content,
    error,
    json_body,
)
from saleor_coinpayments.web.dashboard_auth import AuthorisedUser
from saleor_coinpayments.web.deps import Ctx, HttpError, read_limited_body
from saleor_coinpayments.web.framing import framing

log = structlog.get_logger(__name__)

router = APIRouter()

WEB_DIR = Path(__file__).parent
STATIC_DIR = WEB_DIR / "static"
STATIC_FILES = {
    "dashboard.css": "text/css; charset=utf-8",
    "dashboard.js": "text/javascript; charset=utf-8",
    "framed.css": "text/css; charset=utf-8",
    "framed.js": "text/javascript; charset=utf-8",
    "order.css": "text/css; charset=utf-8",
    "order.js": "text/javascript; charset=utf-8",
    "logo.png": "image/png",
}
API_PREFIX = "/api/dashboard"
MAX_JSON_BYTES = 64 * 1024

_templates = Environment(
    loader=FileSystemLoader(WEB_DIR / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


_TEXT_OR_LIST = {"oneOf": [{"type": ["string", "null"]}, {"type": "array", "items": {"type": "string"}}]}
#: The configuration form as JSON (validation.input_from_mapping): the types it takes; the rules
#: that normalise and check the values together are in configuration/validation.py. A null is
#: "not given". `client_secret` is required when creating (an update without it keeps the stored one).
CONFIGURATION_BODY = json_body(
    {
        "type": "object",
        "required": ["name", "client_id"],
        "properties": {
            "name": {"type": "string"},
            "client_id": {"type": "string", "description": "32 hexadecimal characters, dashes allowed"},
            "client_secret": {"type": ["string", "null"], "description": "write-only; never answered"},
            "api_url": {"type": ["string", "null"], "format": "uri"},
            "accepted_coins": _TEXT_OR_LIST,
            "channels": _TEXT_OR_LIST,
            "checkout_page": {"type": ["string", "null"], "description": "hosted or app"},
            "invoice_new_orders": {"type": ["boolean", "string", "null"]},
            "invoice_due_days": {"type": ["integer", "string", "null"]},
            "invoice_reminders": {
                "oneOf": [{"type": ["string", "null"]}, {"type": "array", "items": {"type": ["integer", "string"]}}]
            },
        },
    }
)


@router.get("/dashboard", response_class=HTMLResponse)
@router.get("/dashboard/{deep_path:path}", response_class=HTMLResponse, include_in_schema=False)
async def dashboard_page(request: Request, ctx: Ctx) -> HTMLResponse:
    """The page; any deeper path (the Dashboard appends one in some cases) serves the same page."""
    return await framed_page(request, ctx, "dashboard.html")


async def framed_page(request: Request, ctx: AppContext, template: str, **values: Any) -> HTMLResponse:
    """A page the Dashboard frames (a template extending framed_base.html), with what its script
    needs to talk to the Dashboard and the API, under the framing headers."""
    framed = await framing(request, ctx)
    html = _templates.get_template(template).render(
        installed=framed.installed,
        saleor_api_url=framed.saleor_api_url,
        dashboard_origin=framed.dashboard_origin,
        api_prefix=API_PREFIX,
        version=__version__,
        theme=framed.theme,
        **values,
    )
    return HTMLResponse(html, headers=framed.headers)


@router.get(
    "/static/{name}",
    response_class=Response,
    responses={
        200: content("The page's stylesheet, script or logo.", "text/css", "text/javascript", "image/png"),
        404: error("No such file."),
    },
)
async def static_file(name: str) -> Response:
    media_type = STATIC_FILES.get(name)
    if media_type is None:
        return JSONResponse({"error": {"code": "NOT_FOUND", "message": "No such file."}}, status_code=404)
    return FileResponse(
        STATIC_DIR / name,
        media_type=media_type,
        headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
    )


# ------------------------------------------------------------------------------------ page API


def _invalid(result: v.Invalid) -> JSONResponse:
    return JSONResponse({"errors": result.errors}, status_code=400)


def _not_found(result: NotFound) -> JSONResponse:
    return JSONResponse({"error": {"code": "NOT_FOUND", "message": result.message}}, status_code=404)


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await read_limited_body(request, MAX_JSON_BYTES)
    try:
        body = parse_json(raw) if raw.strip() else {}
    except ValueError:
        raise HttpError(400, "MALFORMED_BODY", "The request body is not JSON.") from None
    if not isinstance(body, dict):
        raise HttpError(400, "MALFORMED_BODY", "The request body is not a JSON object.")
    return body


@router.get(f"{API_PREFIX}/session", responses=DASHBOARD_AUTH)
async def whoami(user: AuthorisedUser) -> dict[str, Any]:
    return {"saleor_api_url": user.installation.saleor_api_url, "email": user.email}


@router.get(f"{API_PREFIX}/channels", responses={**DASHBOARD_AUTH, **SALEOR_UNAVAILABLE})
async def list_channels(ctx: Ctx, user: AuthorisedUser) -> JSONResponse:
    """The Saleor's channels, for the page's pickers (channels are chosen, not typed)."""
    try:
        channels = await saleor_channels(ctx.saleor, user.installation)
    except SaleorError as exc:
        return JSONResponse({"error": {"code": "SALEOR_UNAVAILABLE", "message": exc.message}}, status_code=502)
    return JSONResponse({"channels": channels})


@router.get(f"{API_PREFIX}/configurations", responses=DASHBOARD_AUTH)
async def list_configurations(ctx: Ctx, user: AuthorisedUser) -> dict[str, Any]:
    views = await ConfigurationService(ctx).configurations(user.installation)
    return {
        "configurations": [view.to_json() for view in views],
        "default_api_url": ctx.settings.coinpayments_api_url,
    }


async def _save(request: Request, ctx: Ctx, user: AuthorisedUser, configuration_id: str | None) -> JSONResponse:
    data = v.input_from_mapping(await _json_body(request))
    if isinstance(data, v.Invalid):
        return _invalid(data)
    result = await ConfigurationService(ctx).save(user.installation, data, configuration_id=configuration_id)
    if isinstance(result, v.Invalid):
        return _invalid(result)
    if isinstance(result, NotFound):
        return _not_found(result)
    log.info("dashboard_configuration_saved", user_id=user.user_id, configuration_id=result.configuration.id)
    return JSONResponse(result.to_json(), status_code=201 if result.created else 200)


@router.post(
    f"{API_PREFIX}/configurations",
    status_code=201,
    responses={**DASHBOARD_AUTH, **FORM_REFUSED, **SALEOR_UNAVAILABLE},
    openapi_extra=CONFIGURATION_BODY,
)
async def create_configuration(request: Request, ctx: Ctx, user: AuthorisedUser) -> JSONResponse:
    return await _save(request, ctx, user, None)


@router.put(
    f"{API_PREFIX}/configurations/{{configuration_id}}",
    responses={**DASHBOARD_AUTH, **FORM_REFUSED, **NOT_FOUND, **SALEOR_UNAVAILABLE},
    openapi_extra=CONFIGURATION_BODY,
)
async def update_configuration(request: Request, ctx: Ctx, user: AuthorisedUser, configuration_id: str) -> JSONResponse:
    return await _save(request, ctx, user, configuration_id)


@router.delete(
    f"{API_PREFIX}/configurations/{{configuration_id}}", responses={**DASHBOARD_AUTH, **FORM_REFUSED, **NOT_FOUND}
)
async def delete_configuration(ctx: Ctx, user: AuthorisedUser, configuration_id: str) -> JSONResponse:
    result = await ConfigurationService(ctx).delete(user.installation, configuration_id)
    if isinstance(result, v.Invalid):
        return _invalid(result)
    if isinstance(result, NotFound):
        return _not_found(result)
    log.info("dashboard_configuration_deleted", user_id=user.user_id, configuration_id=configuration_id)
    return JSONResponse(result.to_json())


@router.post(f"{API_PREFIX}/configurations/{{configuration_id}}/test", responses={**DASHBOARD_AUTH, **NOT_FOUND})
async def test_connection(ctx: Ctx, user: AuthorisedUser, configuration_id: str) -> JSONResponse:
    result = await ConfigurationService(ctx).test_connection(user.installation, configuration_id)
    if isinstance(result, NotFound):
        return _not_found(result)
    return JSONResponse(result.to_json())


@router.put(
    f"{API_PREFIX}/channels/{{channel_slug}}",
    responses={**DASHBOARD_AUTH, **FORM_REFUSED, **NOT_FOUND},
    openapi_extra=json_body(
        {
            "type": "object",
            "required": ["configuration_id"],
            "properties": {"configuration_id": {"type": ["string", "null"], "description": "null: unmap"}},
        }
    ),
)
async def map_channel(request: Request, ctx: Ctx, user: AuthorisedUser, channel_slug: str) -> JSONResponse:
    """Body `{"configuration_id": "…"}` maps the channel; `{"configuration_id": null}` unmaps it
    (said explicitly: an empty body changes nothing). 404: no such channel or configuration."""
    body = await _json_body(request)
    configuration_id = body.get("configuration_id")
    if "configuration_id" not in body or (configuration_id is not None and not isinstance(configuration_id, str)):
        return _invalid(v.Invalid({v.CONFIGURATION: "Choose one of this shop's configurations."}))
    result = await ConfigurationService(ctx).map_channel(user.installation, channel_slug, configuration_id or None)
    if isinstance(result, v.Invalid):
        return _invalid(result)
    if isinstance(result, NotFound):
        return _not_found(result)
    return JSONResponse(result.to_json())


@router.get(f"{API_PREFIX}/payments", responses={**DASHBOARD_AUTH, **FORM_REFUSED})
async def payment_log(request: Request, ctx: Ctx, user: AuthorisedUser) -> JSONResponse:
    channel = (request.query_params.get("channel") or "").strip() or None
    if channel is not None and isinstance(v.check_channel_slug(channel), v.FieldError):
        return _invalid(v.Invalid({v.CHANNEL: "Not a channel slug."}))
    try:
        limit = int(request.query_params.get("limit") or DEFAULT_LIMIT)
    except ValueError:
        return _invalid(v.Invalid({"limit": "Expected a number."}))
    page = await payment_desk.payments_page(ctx, user.installation.id, channel, limit)
    return JSONResponse(
        {"channel": channel, "payments": [entry.to_json() for entry in page.entries], "reports": page.reports.to_json()}
    )


@router.post(f"{API_PREFIX}/payments/{{payment_id}}/retry-reports", responses={**DASHBOARD_AUTH, **NOT_FOUND})
async def retry_reports(ctx: Ctx, user: AuthorisedUser, payment_id: str) -> JSONResponse:
    """Re-queue the payment's reports Saleor refused or that expired (once the cause is fixed)."""
    result = await payment_desk.retry_reports(ctx, user.installation.id, payment_id)
    if isinstance(result, NotFound):
        return _not_found(result)
    log.info("dashboard_reports_requeued", user_id=user.user_id, payment_id=payment_id, reports=result.count)
    return JSONResponse({"requeued": result.count, "payment": result.payment.to_json() if result.payment else None})


@router.post(
    f"{API_PREFIX}/payments/{{payment_id}}/resync",
    responses={
        **DASHBOARD_AUTH,
        **NOT_FOUND,
        409: error("The payment has no CoinPayments invoice yet."),
        **SALEOR_UNAVAILABLE,
    },
)
async def resync_payment(ctx: Ctx, user: AuthorisedUser, payment_id: str) -> JSONResponse:
    """Re-read the payment's invoice from CoinPayments now and apply what it says."""
    result = await payment_desk.resync(ctx, user.installation.id, payment_id)
    if isinstance(result, NotFound):
        return _not_found(result)
    if isinstance(result, payment_desk.NoInvoice):
        return JSONResponse({"error": {"code": "NO_INVOICE", "message": result.message}}, status_code=409)
    if isinstance(result, payment_desk.ResyncFailed):
        return JSONResponse({"error": {"code": "COINPAYMENTS_UNAVAILABLE", "message": result.message}}, status_code=502)
    log.info("dashboard_payment_resynced", user_id=user.user_id, payment_id=payment_id)
    return JSONResponse({"payment": result.payment.to_json() if result.payment else None})

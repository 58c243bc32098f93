"""Manifest and registration routes; registering is configuration/installations.py."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from saleor_coinpayments.configuration import installations
from saleor_coinpayments.configuration.registration import AUTH_TOKEN
from saleor_coinpayments.money import parse_json
from saleor_coinpayments.saleor.manifest import build_manifest
from saleor_coinpayments.urls import MANIFEST_PATH
from saleor_coinpayments.web.answers import ErrorDetail, content, error, json_body
from saleor_coinpayments.web.deps import Ctx, read_limited_body

router = APIRouter()
SCHEMA_VERSION_HEADER = "saleor-schema-version"


class RegisterAnswer(BaseModel):
    """Saleor reads `success`; a refusal says why."""

    success: bool
    error: ErrorDetail | None = None


_REFUSED = "`{success: false, error}`"
REGISTER_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"model": RegisterAnswer, "description": "Installed: `{success: true}`."},
    400: error(f"No or a bad Saleor-Api-Url header, or no or a malformed auth_token: {_REFUSED}.", RegisterAnswer),
    401: error(f"Saleor did not confirm the token, or its keys could not be read: {_REFUSED}.", RegisterAnswer),
    403: error(f"ALLOWED_SALEOR_API_URLS does not take this Saleor: {_REFUSED}.", RegisterAnswer),
    413: error("The body is larger than the app accepts."),
}
REGISTER_BODY = json_body(
    {
        "type": "object",
        "required": ["auth_token"],
        "properties": {"auth_token": {"type": "string", "pattern": f"^{AUTH_TOKEN.pattern}$"}},
    }
)


@router.get(
    MANIFEST_PATH,
    responses={200: content("The app manifest Saleor installs from.", "application/json", schema={"type": "object"})},
)
async def manifest(request: Request, ctx: Ctx) -> JSONResponse:
    """Each Saleor line gets the manifest it can install (it names itself in the header)."""
    body = build_manifest(ctx.settings, request.headers.get(SCHEMA_VERSION_HEADER))
    return JSONResponse(body, headers={"Vary": "Saleor-Schema-Version"})


@router.post("/api/register", responses=REGISTER_ANSWERS, openapi_extra=REGISTER_BODY)
async def register(request: Request, ctx: Ctx) -> JSONResponse:
    raw = await read_limited_body(request, ctx.settings.max_body_bytes)
    try:
        body = parse_json(raw) if raw.strip() else {}
    except ValueError:
        return JSONResponse(
            {"success": False, "error": {"code": "MALFORMED_BODY", "message": "Body is not JSON."}},
            status_code=400,
        )
    token = body.get("auth_token") if isinstance(body, dict) else None
    result = await installations.register(
        ctx,
        request.headers.get("saleor-api-url"),
        token if isinstance(token, str) else None,
        request.headers.get(SCHEMA_VERSION_HEADER),
    )
    if isinstance(result, installations.Registered):
        return JSONResponse({"success": True})
    return JSONResponse(
        {"success": False, "error": {"code": result.code, "message": result.message}},
        status_code=result.status,
    )

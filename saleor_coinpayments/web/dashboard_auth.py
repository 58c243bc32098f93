"""Who may use the Dashboard page's API: a Saleor staff user holding MANAGE_APPS, proven by Saleor.

The page sends `saleor-api-url` and `authorization-bearer` (PROTOCOL.md §9). In order: the API URL
must be a registered installation (401; keys are never fetched for an unknown Saleor), the token an
RS256 JWT signed by that installation's key (fetched again once, rate-limited, on an unknown `kid`),
not expired (401, so the page waits for `tokenRefresh`), issued by that Saleor for our app, and the
user must hold MANAGE_APPS (403). Every refusal happens before a route runs, so nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import structlog
from fastapi import Depends, Request

from saleor_coinpayments.configuration import installations
from saleor_coinpayments.configuration.installations import InstallationRecord
from saleor_coinpayments.context import AppContext
from saleor_coinpayments.saleor.jwks import JwksUnavailable, fetch_jwks
from saleor_coinpayments.saleor.signature import (
    TokenError,
    TokenExpiredError,
    TokenForbiddenError,
    UnknownTokenKeyError,
    verify_dashboard_jwt,
)
from saleor_coinpayments.web.deps import HttpError, get_ctx

log = structlog.get_logger(__name__)

REQUIRED_PERMISSIONS: tuple[str, ...] = ("MANAGE_APPS",)
TOKEN_HEADER = "authorization-bearer"
API_URL_HEADER = "saleor-api-url"


@dataclass(frozen=True)
class DashboardUser:
    installation: InstallationRecord
    email: str | None
    user_id: str | None


def _verify(token: str, jwks: dict[str, Any], installation: InstallationRecord) -> dict[str, Any]:
    return verify_dashboard_jwt(
        token,
        jwks,
        app_id=installation.app_id,
        issuer=installation.saleor_api_url,
        required_permissions=REQUIRED_PERMISSIONS,
    )


async def _claims(ctx: AppContext, installation: InstallationRecord, token: str) -> dict[str, Any]:
    try:
        return _verify(token, installation.jwks, installation)
    except UnknownTokenKeyError:
        if not ctx.jwks_refetch.allow(installation.saleor_api_url):
            raise
    try:
        fresh = await fetch_jwks(ctx.http, installation.saleor_api_url, ctx.settings.saleor_timeout_seconds)
    except JwksUnavailable as exc:
        raise TokenError("unknown_kid", f"the token's key is unknown and {exc.message}") from exc
    claims = _verify(token, fresh, installation)
    # Only keys that verified a genuine token are kept.
    await installations.keep_jwks(ctx, installation.saleor_api_url, fresh)
    log.info("saleor_jwks_rotated", saleor_api_url=installation.saleor_api_url)
    return claims


async def dashboard_user(request: Request) -> DashboardUser:
    ctx = get_ctx(request)
    api_url = (request.headers.get(API_URL_HEADER) or "").strip()
    token = (request.headers.get(TOKEN_HEADER) or "").strip()
    if not api_url:
        raise HttpError(401, "MISSING_SALEOR_API_URL", "Missing saleor-api-url header.")
    if not token:
        raise HttpError(401, "MISSING_TOKEN", "Missing authorization-bearer header.")
    installation = await installations.stored(ctx, api_url)
    if installation is None:
        raise HttpError(401, "NOT_INSTALLED", "The app is not installed for this Saleor.")
    try:
        claims = await _claims(ctx, installation, token)
    except TokenExpiredError:
        raise HttpError(401, "TOKEN_EXPIRED", "Your Dashboard session has expired.") from None
    except TokenForbiddenError as exc:
        log.info("dashboard_token_forbidden", reason=exc.reason, saleor_api_url=api_url)
        if exc.reason == "missing_permissions":
            raise HttpError(
                403, "MISSING_PERMISSIONS", f"You need the {', '.join(REQUIRED_PERMISSIONS)} permission."
            ) from None
        raise HttpError(403, "FORBIDDEN", "This token was issued for another app or Saleor.") from None
    except TokenError as exc:
        log.info("dashboard_token_refused", reason=exc.reason, saleor_api_url=api_url)
        raise HttpError(401, "INVALID_TOKEN", "The Dashboard token is not valid.") from None
    structlog.contextvars.bind_contextvars(saleor_api_url=api_url)
    email = claims.get("email")
    user_id = claims.get("user_id")
    return DashboardUser(
        installation=installation,
        email=email if isinstance(email, str) else None,
        user_id=str(user_id) if user_id is not None else None,
    )


AuthorisedUser = Annotated[DashboardUser, Depends(dashboard_user)]

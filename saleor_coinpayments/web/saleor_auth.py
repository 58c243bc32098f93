"""Only genuine requests from a registered Saleor reach the payment logic.

Order of checks: a registered `Saleor-Api-Url` (keys are never fetched for an unknown URL), an RS256
detached JWS over the raw body (keys fetched again once, rate-limited, when they do not verify),
a JSON object body, and `recipient.id` equal to our app id. Each failure is 4xx and writes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

import structlog
from fastapi import Request

from saleor_coinpayments.configuration import installations
from saleor_coinpayments.configuration.installations import InstallationRecord
from saleor_coinpayments.context import AppContext
from saleor_coinpayments.money import parse_json
from saleor_coinpayments.saleor.events import SaleorEvent
from saleor_coinpayments.saleor.jwks import JwksUnavailable, fetch_jwks
from saleor_coinpayments.saleor.lines import schema_version_of
from saleor_coinpayments.saleor.signature import SignatureError, verify_webhook_signature
from saleor_coinpayments.web.deps import HttpError, get_ctx, read_limited_body

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class VerifiedWebhook:
    event: SaleorEvent
    installation: InstallationRecord
    payload: dict[str, Any]


async def _verify_with_refresh(ctx: AppContext, installation: InstallationRecord, raw: bytes, signature: str) -> None:
    try:
        verify_webhook_signature(raw, signature, installation.jwks)
        return
    except SignatureError as first_error:
        if not ctx.jwks_refetch.allow(installation.saleor_api_url):
            raise HttpError(401, "INVALID_SIGNATURE", f"Signature does not verify: {first_error}") from None
    try:
        fresh = await fetch_jwks(ctx.http, installation.saleor_api_url, ctx.settings.saleor_timeout_seconds)
    except JwksUnavailable as exc:
        raise HttpError(401, "INVALID_SIGNATURE", f"Signature does not verify and {exc.message}") from None
    try:
        verify_webhook_signature(raw, signature, fresh)
    except SignatureError as exc:
        raise HttpError(401, "INVALID_SIGNATURE", f"Signature does not verify: {exc}") from None
    await installations.keep_jwks(ctx, installation.saleor_api_url, fresh)
    log.info("saleor_jwks_rotated", saleor_api_url=installation.saleor_api_url)


async def _stored_installation(ctx: AppContext, api_url: str) -> InstallationRecord | None:
    return await installations.stored(ctx, api_url, remember=True)


def _signature_verifies(raw: bytes, signature: str, jwks: dict[str, Any]) -> bool:
    try:
        verify_webhook_signature(raw, signature, jwks)
    except SignatureError:
        return False
    return True


async def _follow_schema_version(
    ctx: AppContext, installation: InstallationRecord, request: Request, payload: dict[str, Any]
) -> InstallationRecord:
    """Keep the installation's Saleor line current: the webhook's `version` (every subscription
    selects it; Saleor sends no version header on webhooks), else a `Saleor-Schema-Version` header."""
    sent = schema_version_of(payload.get("version")) or schema_version_of(request.headers.get("saleor-schema-version"))
    if sent is None or sent == installation.schema_version:
        return installation
    await installations.keep_schema_version(ctx, installation.saleor_api_url, sent)
    log.info("saleor_schema_version_changed", before=installation.schema_version, now=sent)
    return replace(installation, schema_version=sent)


def verified_webhook(event: SaleorEvent) -> Callable[[Request], Awaitable[VerifiedWebhook]]:
    """A dependency for the route of `event`."""

    async def dependency(request: Request) -> VerifiedWebhook:
        ctx = get_ctx(request)
        api_url = request.headers.get("saleor-api-url")
        signature = request.headers.get("saleor-signature")
        if not api_url:
            raise HttpError(401, "MISSING_SALEOR_API_URL", "Missing Saleor-Api-Url header.")
        if not signature:
            raise HttpError(401, "MISSING_SIGNATURE", "Missing Saleor-Signature header.")
        sent_event = request.headers.get("saleor-event")
        if sent_event is not None and sent_event.lower() != event.header_value:
            raise HttpError(400, "WRONG_EVENT", f"This route takes {event.header_value}, not {sent_event}.")
        raw = await read_limited_body(request, ctx.settings.max_body_bytes)
        installation = ctx.installations.get(api_url)
        from_cache = installation is not None
        if installation is not None and not _signature_verifies(raw, signature, installation.jwks):
            installation, from_cache = None, False  # the stored keys may be newer: read them again
        if installation is None:
            installation = await _stored_installation(ctx, api_url)
        if installation is None:
            raise HttpError(401, "NOT_REGISTERED", f"No installation for Saleor {api_url}.")
        if not from_cache:
            await _verify_with_refresh(ctx, installation, raw, signature)
        if not raw.strip():
            raise HttpError(400, "EMPTY_BODY", "Empty request body.")
        try:
            payload = parse_json(raw)
        except ValueError:
            raise HttpError(400, "MALFORMED_BODY", "Request body is not JSON.") from None
        if not isinstance(payload, dict):
            raise HttpError(400, "MALFORMED_BODY", "Request body is not a JSON object.")
        recipient = payload.get("recipient")
        recipient_id = recipient.get("id") if isinstance(recipient, dict) else None
        if recipient_id != installation.app_id and from_cache:
            installation = await _stored_installation(ctx, api_url) or installation  # reinstalled meanwhile?
        if recipient_id != installation.app_id:
            raise HttpError(403, "WRONG_RECIPIENT", "This webhook was meant for another app.")
        if payload.get("errors"):
            log.warning("saleor_payload_errors", event=event.value, errors=payload.get("errors"))
        structlog.contextvars.bind_contextvars(saleor_api_url=api_url, saleor_event=event.value)
        installation = await _follow_schema_version(ctx, installation, request, payload)
        return VerifiedWebhook(event=event, installation=installation, payload=payload)

    return dependency

"""Verifying a CoinPayments notification and reading its envelope.

See coinpayments.md#webhook-verification, #webhook-body.

The signature covers the URL CoinPayments posted to, so the caller passes the URL exactly as it
was registered; it is never rebuilt from the request or proxy headers, which an attacker or a
proxy can change. A verified notification is only a trigger: re-read the invoice before acting.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from pydantic import SecretStr, ValidationError

from saleor_coinpayments.errors import AppError
from saleor_coinpayments.money import parse_json

from .models import InvoiceStatus, WebhookEnvelope, WebhookEventType
from .signing import HEADER_CLIENT, HEADER_SIGNATURE, HEADER_TIMESTAMP, compute_signature, signature_matches

_GUID = re.compile(r"^[0-9a-f]{32}$")


class WebhookRejection(StrEnum):
    """Why a delivery was refused; stable keys for logs, metrics and the dashboard."""

    MISSING_HEADER = "missing_header"
    WRONG_CLIENT = "wrong_client"
    BAD_TIMESTAMP = "bad_timestamp"
    STALE_TIMESTAMP = "stale_timestamp"
    BAD_SIGNATURE = "bad_signature"
    BAD_BODY = "bad_body"


class WebhookVerificationError(AppError):
    """A delivery that is not provably from CoinPayments for this integration, or unreadable."""

    code = "COINPAYMENTS_WEBHOOK_REJECTED"

    def __init__(self, reason: WebhookRejection, message: str) -> None:
        self.reason = reason
        super().__init__(
            f"{reason.value}: {message}",
            merchant_message=f"A CoinPayments notification was refused: {message}",
        )


@dataclass(frozen=True, slots=True)
class CoinPaymentsNotification:
    """A verified notification: which invoice, what happened, and the full envelope for auditing."""

    id: str
    type: WebhookEventType
    raw_type: str
    invoice_id: str
    our_invoice_id: str | None
    state: InvoiceStatus | None
    raw_state: str | None
    signed_at: datetime
    envelope: WebhookEnvelope


def normalise_client_id(value: str) -> str:
    """The dashless lower-case form: `dc6a16e5-45c3-…` and `dc6a16e545c3…` are equal (coinpayments.md#credentials)"""
    return value.strip().lower().replace("-", "")


def same_client_id(a: str, b: str) -> bool:
    """Two forms of one client id? Only GUIDs are normalised; any other id must match exactly."""
    na, nb = normalise_client_id(a), normalise_client_id(b)
    if _GUID.match(na) and _GUID.match(nb):
        return hmac.compare_digest(na, nb)
    return hmac.compare_digest(a.strip().encode(), b.strip().encode())


def parse_header_timestamp(value: str) -> datetime:
    """`YYYY-MM-DDTHH:mm:ss` UTC; an explicit offset (old 2021 form) is also understood."""
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise WebhookVerificationError(WebhookRejection.BAD_TIMESTAMP, f"unreadable timestamp {text[:40]!r}") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _header(headers: Mapping[str, str], name: str) -> str:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted and value.strip():
            return value
    raise WebhookVerificationError(WebhookRejection.MISSING_HEADER, f"header {name} is missing")


def verify_notification(
    *,
    body: bytes,
    headers: Mapping[str, str],
    registered_url: str,
    client_id: str,
    client_secret: SecretStr | str,
    window_seconds: int,
    now: datetime | None = None,
) -> CoinPaymentsNotification:
    """Check headers, client, freshness and signature of a delivery; then read its envelope.

    `body` is the raw request body; `registered_url` is the notificationsUrl exactly as given to
    CoinPayments (query string included). `window_seconds` is how far the signing time may be from
    now either way (the caller's `coinpayments_webhook_window_seconds` setting).
    """
    sent_client = _header(headers, HEADER_CLIENT)
    sent_timestamp = _header(headers, HEADER_TIMESTAMP)
    sent_signature = _header(headers, HEADER_SIGNATURE)

    if not same_client_id(sent_client, client_id):
        raise WebhookVerificationError(WebhookRejection.WRONG_CLIENT, "the notification is for another client id")

    signed_at = parse_header_timestamp(sent_timestamp)
    skew = abs(((now or datetime.now(UTC)) - signed_at).total_seconds())
    if skew > window_seconds:
        raise WebhookVerificationError(
            WebhookRejection.STALE_TIMESTAMP,
            f"signed {int(skew)} s away from now (window {window_seconds} s)",
        )

    expected = compute_signature(
        method="POST",
        url=registered_url,
        client_id=sent_client,
        timestamp=sent_timestamp,
        body=body,
        client_secret=client_secret,
    )
    if not signature_matches(expected, sent_signature):
        raise WebhookVerificationError(
            WebhookRejection.BAD_SIGNATURE,
            "signature mismatch (wrong secret, a changed body, or a URL other than the registered one)",
        )

    try:
        envelope = WebhookEnvelope.model_validate(parse_json(body))
    except (ValueError, ValidationError) as exc:
        raise WebhookVerificationError(WebhookRejection.BAD_BODY, f"unreadable envelope: {exc}"[:500]) from None
    return CoinPaymentsNotification(
        id=envelope.id,
        type=envelope.type,
        raw_type=envelope.raw_type,
        invoice_id=envelope.invoice.id,
        our_invoice_id=envelope.invoice.invoice_id,
        state=envelope.invoice.state,
        raw_state=envelope.invoice.raw_state,
        signed_at=signed_at,
        envelope=envelope,
    )

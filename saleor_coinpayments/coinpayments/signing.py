"""Request and webhook signatures (coinpayments.md#signing).

One function computes the signature for both directions, so the client that signs requests and
the receiver that checks notifications can never drift apart.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

from pydantic import SecretStr

BOM = b"\xef\xbb\xbf"
"""U+FEFF in UTF-8. CoinPayments signs it as the first bytes of the message; without it, 401."""

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S"
"""`X-CoinPayments-Timestamp`: UTC, no fraction, no `Z`, no offset."""

HEADER_CLIENT = "X-CoinPayments-Client"
HEADER_TIMESTAMP = "X-CoinPayments-Timestamp"
HEADER_SIGNATURE = "X-CoinPayments-Signature"


def format_timestamp(moment: datetime) -> str:
    """The header form of `moment` in UTC; a naive datetime is taken to be UTC already."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime(TIMESTAMP_FORMAT)


def signing_message(method: str, url: str, client_id: str, timestamp: str, body: bytes) -> bytes:
    """BOM ‖ METHOD ‖ URL ‖ CLIENT_ID ‖ TIMESTAMP ‖ BODY, as bytes; `body` is the raw bytes on the wire."""
    return BOM + f"{method.upper()}{url}{client_id}{timestamp}".encode() + body


def compute_signature(
    *,
    method: str,
    url: str,
    client_id: str,
    timestamp: str,
    body: bytes,
    client_secret: SecretStr | str,
) -> str:
    """Base64 HMAC-SHA256 of the message, keyed with the secret *as text* (never base64-decoded)."""
    secret = client_secret.get_secret_value() if isinstance(client_secret, SecretStr) else client_secret
    digest = hmac.new(
        secret.encode(), signing_message(method, url, client_id, timestamp, body), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode("ascii")


def signature_matches(expected: str, received: str) -> bool:
    """Constant-time comparison, so timing tells an attacker nothing about the right signature."""
    return hmac.compare_digest(expected.encode("ascii", "replace"), received.strip().encode("ascii", "replace"))


def signed_headers(
    *,
    method: str,
    url: str,
    client_id: str,
    client_secret: SecretStr | str,
    body: bytes,
    now: datetime,
) -> dict[str, str]:
    """The three `X-CoinPayments-*` headers for one request."""
    timestamp = format_timestamp(now)
    signature = compute_signature(
        method=method,
        url=url,
        client_id=client_id,
        timestamp=timestamp,
        body=body,
        client_secret=client_secret,
    )
    return {HEADER_CLIENT: client_id, HEADER_TIMESTAMP: timestamp, HEADER_SIGNATURE: signature}

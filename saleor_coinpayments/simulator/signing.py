"""The CoinPayments request/webhook signature (coinpayments.md#signing), written independently of the client.

The simulator must not share this code with `saleor_coinpayments.coinpayments`: both sides are
checked against the same vectors (coinpayments.md#signing), so a bug in one cannot hide behind the other.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import UTC, datetime

BOM = b"\xef\xbb\xbf"
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")


def signature(secret: str, method: str, url: str, client_id: str, timestamp: str, body: bytes) -> str:
    """base64(HMAC-SHA256(utf8(secret), BOM ‖ METHOD ‖ URL ‖ CLIENT ‖ TIMESTAMP ‖ BODY)).

    The secret is used as text (never base64-decoded) and the body as the exact bytes sent.
    """
    message = BOM + (method + url + client_id + timestamp).encode("utf-8") + body
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signature_matches(expected: str, presented: str) -> bool:
    """Constant-time comparison, so a caller cannot probe the signature byte by byte."""
    return hmac.compare_digest(expected.encode("ascii"), presented.encode("utf-8", "replace"))


def format_timestamp(moment: datetime) -> str:
    """`YYYY-MM-DDTHH:mm:ss` in UTC: the only form the headers may carry."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def parse_timestamp(text: str) -> datetime | None:
    """The header timestamp as an aware UTC datetime, or None unless it is exactly the documented form.

    Milliseconds, `Z` and offsets are refused on purpose (coinpayments.md#signing).
    """
    if not _TIMESTAMP.fullmatch(text):
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None

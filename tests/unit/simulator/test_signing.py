"""The simulator's signature code against the signing vectors of docs/reference/coinpayments.md#signing (the
production client has its own)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from saleor_coinpayments.simulator.signing import (
    BOM,
    format_timestamp,
    parse_timestamp,
    signature,
    signature_matches,
)

CLIENT = "0a1b2c3d4e5f40718293a4b5c6d7e8f9"
SECRET = "c2ltdWxhdG9yLXRlc3Qtc2VjcmV0LTAxMjM0NTY3ODk="
V1_BODY = (
    '{"currency":"5057","items":[{"name":"Widget","quantity":{"value":1,"type":"quantity"},"amount":"10.00"}],'
    '"amount":{"breakdown":{"subtotal":"10.00"},"total":"10.00"}}'
)
V4_BODY = (
    '{"id":"b1f5d2c0a9e84f0f9c3a0d5e6f7a8b9c","type":"InvoiceCompleted","timestamp":"2025-03-01T03:00:00.1234567+00:00",'
    '"invoice":{"id":"7c9e6679-7425-40de-944b-e07fc1f90ae7","invoiceId":"ORDER-1001","state":"Completed"}}'
)

VECTORS = [
    pytest.param(
        "POST", "https://a-api.coinpayments.net/api/v2/merchant/invoices", "2025-03-01T02:30:00", V1_BODY,
        "1TjWgI0Ia0/RgMJJMESMKEBrmV3cbUTr6QiSKTShX8U=", id="V1",
    ),
    pytest.param(
        "GET", "https://a-api.coinpayments.net/api/v2/merchant/invoices/7c9e6679-7425-40de-944b-e07fc1f90ae7",
        "2025-03-01T02:30:05", "", "5r00UWgWrAh6gQMOwtQ7JV8Vs8KrhLv2gZ5uTfrYjoE=", id="V2",
    ),
    pytest.param(
        "GET", "https://a-api.coinpayments.net/api/v1/merchant/invoices?status=paid&limit=10",
        "2025-03-01T02:30:10", "", "S6TA/BIbhiiXI0mjocbm6zp/9ITnAM3WgTS9Txjwz9A=", id="V3",
    ),
    pytest.param(
        "POST", "https://merchant.example.com/coinpayments/webhook?src=cp", "2025-03-01T03:00:01", V4_BODY,
        "ZxvVxn+KL73bi8Om9FutjDUbA7cGXFokSRqunsX3u+g=", id="V4-webhook",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("method", "url", "stamp", "body", "expected"), VECTORS)
def test_api_md_vectors(method: str, url: str, stamp: str, body: str, expected: str) -> None:
    assert signature(SECRET, method, url, CLIENT, stamp, body.encode()) == expected


def test_third_party_vector() -> None:
    url = "https://a-api.coinpayments.net/api/v2/merchant/invoices"
    got = signature("secret-xyz", "POST", url, "client-123", "2026-08-30T02:22:00", b'{"amount":"1.00"}')
    assert got == "wAQN/sw1iJTVHmYgXUkPwgnDJjQFtuu+0fmeMFZinN8="


def test_v1_without_bom_is_a_different_signature() -> None:
    """The signature without the byte-order mark must not be what we compute, nor match when presented."""
    import base64
    import hashlib
    import hmac

    url = "https://a-api.coinpayments.net/api/v2/merchant/invoices"
    message = ("POST" + url + CLIENT + "2025-03-01T02:30:00" + V1_BODY).encode()
    no_bom = base64.b64encode(hmac.new(SECRET.encode(), message, hashlib.sha256).digest()).decode()
    assert no_bom == "yn8+/eq2gF65SCEd6qOEISXz0kXXbKhJCqk4vnU/NPg="
    ours = signature(SECRET, "POST", url, CLIENT, "2025-03-01T02:30:00", V1_BODY.encode())
    assert not signature_matches(ours, no_bom)
    assert signature_matches(ours, ours)
    assert BOM == b"\xef\xbb\xbf"


def test_secret_is_used_as_text_not_base64_decoded() -> None:
    import base64

    url = "https://a-api.coinpayments.net/api/v2/merchant/invoices"
    decoded = base64.b64decode(SECRET).decode()
    as_text = signature(SECRET, "POST", url, CLIENT, "2025-03-01T02:30:00", V1_BODY.encode())
    assert signature(decoded, "POST", url, CLIENT, "2025-03-01T02:30:00", V1_BODY.encode()) != as_text


@pytest.mark.parametrize(
    "text",
    ["2025-03-01T02:30:00Z", "2025-03-01T02:30:00.123", "2025-03-01T02:30:00+00:00", "2025-03-01 02:30:00",
     "1740796200", "2025-13-01T02:30:00", "2025-3-1T2:30:00", ""],
)  # fmt: skip
def test_only_the_documented_timestamp_form_parses(text: str) -> None:
    assert parse_timestamp(text) is None


def test_timestamp_round_trip() -> None:
    moment = datetime(2025, 3, 1, 2, 30, 0, 999_000, tzinfo=UTC)
    assert format_timestamp(moment) == "2025-03-01T02:30:00"
    assert parse_timestamp("2025-03-01T02:30:00") == moment.replace(microsecond=0)

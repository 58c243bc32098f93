"""Signatures against the vectors of docs/reference/coinpayments.md#signing (computed independently with openssl
and Node)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import SecretStr

from saleor_coinpayments.coinpayments.signing import (
    BOM,
    compute_signature,
    format_timestamp,
    signature_matches,
    signed_headers,
    signing_message,
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
        "POST",
        "https://a-api.coinpayments.net/api/v2/merchant/invoices",
        "2025-03-01T02:30:00",
        V1_BODY,
        "1TjWgI0Ia0/RgMJJMESMKEBrmV3cbUTr6QiSKTShX8U=",
        id="V1",
    ),
    pytest.param(
        "GET",
        "https://a-api.coinpayments.net/api/v2/merchant/invoices/7c9e6679-7425-40de-944b-e07fc1f90ae7",
        "2025-03-01T02:30:05",
        "",
        "5r00UWgWrAh6gQMOwtQ7JV8Vs8KrhLv2gZ5uTfrYjoE=",
        id="V2",
    ),
    pytest.param(
        "GET",
        "https://a-api.coinpayments.net/api/v1/merchant/invoices?status=paid&limit=10",
        "2025-03-01T02:30:10",
        "",
        "S6TA/BIbhiiXI0mjocbm6zp/9ITnAM3WgTS9Txjwz9A=",
        id="V3",
    ),
    pytest.param(
        "POST",
        "https://merchant.example.com/coinpayments/webhook?src=cp",
        "2025-03-01T03:00:01",
        V4_BODY,
        "ZxvVxn+KL73bi8Om9FutjDUbA7cGXFokSRqunsX3u+g=",
        id="V4-webhook",
    ),
]


@pytest.mark.parametrize(("method", "url", "timestamp", "body", "expected"), VECTORS)
def test_vectors(method: str, url: str, timestamp: str, body: str, expected: str) -> None:
    signature = compute_signature(
        method=method,
        url=url,
        client_id=CLIENT,
        timestamp=timestamp,
        body=body.encode(),
        client_secret=SECRET,
    )
    assert signature == expected
    assert len(signature) == 44


def test_secret_str_gives_the_same_signature() -> None:
    common = {
        "method": "POST",
        "url": "https://a-api.coinpayments.net/api/v2/merchant/invoices",
        "client_id": CLIENT,
        "timestamp": "2025-03-01T02:30:00",
        "body": V1_BODY.encode(),
    }
    plain = compute_signature(**common, client_secret=SECRET)  # type: ignore[arg-type]
    wrapped = compute_signature(**common, client_secret=SecretStr(SECRET))  # type: ignore[arg-type]
    assert plain == wrapped == "1TjWgI0Ia0/RgMJJMESMKEBrmV3cbUTr6QiSKTShX8U="


def test_lower_case_method_is_upper_cased() -> None:
    assert (
        compute_signature(
            method="get",
            url="https://a-api.coinpayments.net/api/v1/merchant/invoices?status=paid&limit=10",
            client_id=CLIENT,
            timestamp="2025-03-01T02:30:10",
            body=b"",
            client_secret=SECRET,
        )
        == "S6TA/BIbhiiXI0mjocbm6zp/9ITnAM3WgTS9Txjwz9A="
    )


def test_third_party_xboard_vector() -> None:
    signature = compute_signature(
        method="POST",
        url="https://a-api.coinpayments.net/api/v2/merchant/invoices",
        client_id="client-123",
        timestamp="2026-08-30T02:22:00",
        body=b'{"amount":"1.00"}',
        client_secret="secret-xyz",
    )
    assert signature == "wAQN/sw1iJTVHmYgXUkPwgnDJjQFtuu+0fmeMFZinN8="


def test_message_starts_with_bom_and_without_it_the_signature_differs() -> None:
    message = signing_message("POST", "https://a-api.coinpayments.net/api/v2/merchant/invoices", CLIENT,
                              "2025-03-01T02:30:00", V1_BODY.encode())  # fmt: skip
    assert message.startswith(BOM)
    no_bom = base64.b64encode(hmac.new(SECRET.encode(), message[len(BOM) :], hashlib.sha256).digest()).decode()
    assert no_bom == "yn8+/eq2gF65SCEd6qOEISXz0kXXbKhJCqk4vnU/NPg="
    assert not signature_matches("1TjWgI0Ia0/RgMJJMESMKEBrmV3cbUTr6QiSKTShX8U=", no_bom)


def test_secret_is_used_as_text_not_base64_decoded() -> None:
    # CoinPayments' secrets look like base64, but the HMAC key is the text itself
    # (docs/reference/coinpayments.md#signing).
    signature = compute_signature(
        method="POST",
        url="https://a-api.coinpayments.net/api/v2/merchant/invoices",
        client_id=CLIENT,
        timestamp="2025-03-01T02:30:00",
        body=V1_BODY.encode(),
        client_secret=SECRET,
    )
    message = signing_message("POST", "https://a-api.coinpayments.net/api/v2/merchant/invoices", CLIENT,
                              "2025-03-01T02:30:00", V1_BODY.encode())  # fmt: skip
    keyed_with_text = base64.b64encode(hmac.new(SECRET.encode(), message, hashlib.sha256).digest()).decode()
    keyed_with_decoded = base64.b64encode(hmac.new(base64.b64decode(SECRET), message, hashlib.sha256).digest()).decode()
    assert signature == keyed_with_text == "1TjWgI0Ia0/RgMJJMESMKEBrmV3cbUTr6QiSKTShX8U="
    assert signature != keyed_with_decoded


def test_timestamp_format_is_utc_without_fraction_or_offset() -> None:
    moment = datetime(2025, 3, 1, 4, 30, 0, 987654, tzinfo=timezone(timedelta(hours=2)))
    assert format_timestamp(moment) == "2025-03-01T02:30:00"
    assert format_timestamp(datetime(2025, 3, 1, 2, 30, 5)) == "2025-03-01T02:30:05"


@pytest.mark.usefixtures("local_zone_not_utc")
def test_timestamp_is_utc_whatever_the_servers_local_zone() -> None:
    moment = datetime(2025, 3, 1, 4, 30, 0, tzinfo=timezone(timedelta(hours=2)))
    assert format_timestamp(moment) == "2025-03-01T02:30:00"
    assert format_timestamp(datetime(2025, 3, 1, 2, 30, tzinfo=UTC)) == "2025-03-01T02:30:00"
    assert format_timestamp(datetime(2025, 3, 1, 2, 30)) == "2025-03-01T02:30:00", "naive is UTC, not local"


def test_signed_headers_are_the_three_documented_ones() -> None:
    headers = signed_headers(
        method="POST",
        url="https://a-api.coinpayments.net/api/v2/merchant/invoices",
        client_id=CLIENT,
        client_secret=SECRET,
        body=V1_BODY.encode(),
        now=datetime(2025, 3, 1, 2, 30, tzinfo=UTC),
    )
    assert headers == {
        "X-CoinPayments-Client": CLIENT,
        "X-CoinPayments-Timestamp": "2025-03-01T02:30:00",
        "X-CoinPayments-Signature": "1TjWgI0Ia0/RgMJJMESMKEBrmV3cbUTr6QiSKTShX8U=",
    }


def test_signature_matches_is_exact() -> None:
    good = "1TjWgI0Ia0/RgMJJMESMKEBrmV3cbUTr6QiSKTShX8U="
    assert signature_matches(good, good)
    assert not signature_matches(good, good[:-2] + "A=")
    assert not signature_matches(good, "")
    assert not signature_matches(good, "ünïcode")

"""Verifying CoinPayments notifications (API.md §7.4), starting from the signed vector V4 of §2.6."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from saleor_coinpayments.coinpayments.models import InvoiceStatus, WebhookEventType
from saleor_coinpayments.coinpayments.webhooks import (
    WebhookRejection,
    WebhookVerificationError,
    same_client_id,
    verify_notification,
)

CLIENT = "0a1b2c3d4e5f40718293a4b5c6d7e8f9"
SECRET = "c2ltdWxhdG9yLXRlc3Qtc2VjcmV0LTAxMjM0NTY3ODk="
URL = "https://merchant.example.com/coinpayments/webhook?src=cp"
BODY = (
    b'{"id":"b1f5d2c0a9e84f0f9c3a0d5e6f7a8b9c","type":"InvoiceCompleted","timestamp":"2025-03-01T03:00:00.1234567+00:00",'
    b'"invoice":{"id":"7c9e6679-7425-40de-944b-e07fc1f90ae7","invoiceId":"ORDER-1001","state":"Completed"}}'
)
SIGNED_AT = datetime(2025, 3, 1, 3, 0, 1, tzinfo=UTC)
HEADERS = {
    "x-coinpayments-client": CLIENT,
    "x-coinpayments-timestamp": "2025-03-01T03:00:01",
    "x-coinpayments-signature": "ZxvVxn+KL73bi8Om9FutjDUbA7cGXFokSRqunsX3u+g=",
}


def verify(**overrides: object) -> object:
    args: dict[str, object] = {
        "body": BODY,
        "headers": HEADERS,
        "registered_url": URL,
        "client_id": CLIENT,
        "client_secret": SECRET,
        "now": SIGNED_AT + timedelta(seconds=2),
        "window_seconds": 300,
    }
    args.update(overrides)
    return verify_notification(**args)  # type: ignore[arg-type]


def rejection(**overrides: object) -> WebhookRejection:
    with pytest.raises(WebhookVerificationError) as caught:
        verify(**overrides)
    assert SECRET not in str(caught.value)
    return caught.value.reason


def test_good_delivery_gives_a_typed_notification() -> None:
    notification = verify()
    assert notification.id == "b1f5d2c0a9e84f0f9c3a0d5e6f7a8b9c"
    assert notification.type is WebhookEventType.INVOICE_COMPLETED
    assert notification.raw_type == "InvoiceCompleted"
    assert notification.invoice_id == "7c9e6679-7425-40de-944b-e07fc1f90ae7"
    assert notification.our_invoice_id == "ORDER-1001"
    assert notification.state is InvoiceStatus.COMPLETED
    assert notification.signed_at == SIGNED_AT


def test_header_names_are_case_insensitive_and_dashed_client_id_is_the_same_client() -> None:
    headers = {k.title(): v for k, v in HEADERS.items()}
    assert verify(headers=headers).invoice_id == "7c9e6679-7425-40de-944b-e07fc1f90ae7"
    assert verify(client_id="0a1b2c3d-4e5f-4071-8293-a4b5c6d7e8f9").our_invoice_id == "ORDER-1001"


def test_tampered_body() -> None:
    assert rejection(body=BODY.replace(b"ORDER-1001", b"ORDER-1002")) is WebhookRejection.BAD_SIGNATURE
    assert rejection(body=BODY + b"\n") is WebhookRejection.BAD_SIGNATURE


@pytest.mark.parametrize(
    "url",
    [
        "https://merchant.example.com/coinpayments/webhook",  # query dropped
        "http://merchant.example.com/coinpayments/webhook?src=cp",  # scheme as seen behind a proxy
        "https://merchant.example.com:443/coinpayments/webhook?src=cp",
        "https://internal:8000/coinpayments/webhook?src=cp",
    ],
)
def test_wrong_url(url: str) -> None:
    assert rejection(registered_url=url) is WebhookRejection.BAD_SIGNATURE


def test_wrong_secret() -> None:
    assert rejection(client_secret="another-secret") is WebhookRejection.BAD_SIGNATURE


def test_old_and_future_timestamps() -> None:
    assert rejection(now=SIGNED_AT + timedelta(seconds=301)) is WebhookRejection.STALE_TIMESTAMP
    assert rejection(now=SIGNED_AT - timedelta(seconds=301)) is WebhookRejection.STALE_TIMESTAMP
    assert verify(now=SIGNED_AT + timedelta(seconds=299)).id == "b1f5d2c0a9e84f0f9c3a0d5e6f7a8b9c"
    assert rejection(now=SIGNED_AT + timedelta(seconds=61), window_seconds=60) is WebhookRejection.STALE_TIMESTAMP


def test_unreadable_timestamp() -> None:
    headers = {**HEADERS, "x-coinpayments-timestamp": "yesterday"}
    assert rejection(headers=headers) is WebhookRejection.BAD_TIMESTAMP


def test_wrong_client() -> None:
    assert rejection(client_id="ffffffffffffffffffffffffffffffff") is WebhookRejection.WRONG_CLIENT
    headers = {**HEADERS, "x-coinpayments-client": "ffffffffffffffffffffffffffffffff"}
    assert rejection(headers=headers) is WebhookRejection.WRONG_CLIENT


@pytest.mark.parametrize("missing", sorted(HEADERS))
def test_missing_headers(missing: str) -> None:
    headers = {k: v for k, v in HEADERS.items() if k != missing}
    assert rejection(headers=headers) is WebhookRejection.MISSING_HEADER
    assert rejection(headers={**HEADERS, missing: "  "}) is WebhookRejection.MISSING_HEADER


def test_signed_but_unreadable_body_is_bad_body() -> None:
    from saleor_coinpayments.coinpayments.signing import compute_signature

    body = b'{"id":"x","type":"InvoicePaid"}'
    signature = compute_signature(
        method="POST", url=URL, client_id=CLIENT, timestamp="2025-03-01T03:00:01", body=body, client_secret=SECRET
    )
    headers = {**HEADERS, "x-coinpayments-signature": signature}
    assert rejection(body=body, headers=headers) is WebhookRejection.BAD_BODY


def test_client_id_forms() -> None:
    assert same_client_id("0a1b2c3d4e5f40718293a4b5c6d7e8f9", "0A1B2C3D-4E5F-4071-8293-A4B5C6D7E8F9")
    assert not same_client_id("client-123", "client123")
    assert same_client_id("client-123", "client-123")

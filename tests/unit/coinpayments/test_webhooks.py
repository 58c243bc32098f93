"""Verifying CoinPayments notifications (docs/reference/coinpayments.md#webhook-verification), starting from the
signed webhook vector V4 of the signing tests (docs/reference/coinpayments.md#signing)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from saleor_coinpayments.coinpayments.models import InvoiceStatus, WebhookEventType
from saleor_coinpayments.coinpayments.signing import compute_signature, format_timestamp
from saleor_coinpayments.coinpayments.webhooks import (
    WebhookRejection,
    WebhookVerificationError,
    parse_header_timestamp,
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


# --- what a rejection says (the app returns it to the caller and shows it to the merchant) -------


def refusal(**overrides: object) -> WebhookVerificationError:
    with pytest.raises(WebhookVerificationError) as caught:
        verify(**overrides)
    assert SECRET not in str(caught.value)
    return caught.value


def signed(body: bytes = BODY, timestamp: str = "2025-03-01T03:00:01") -> dict[str, str]:
    """Headers signing `body` at `timestamp` (the header text exactly as sent)."""
    signature = compute_signature(
        method="POST", url=URL, client_id=CLIENT, timestamp=timestamp, body=body, client_secret=SECRET
    )
    return {**HEADERS, "x-coinpayments-timestamp": timestamp, "x-coinpayments-signature": signature}


@pytest.mark.parametrize(
    ("overrides", "reason", "detail"),
    [
        (
            {"headers": {k: v for k, v in HEADERS.items() if k != "x-coinpayments-signature"}},
            WebhookRejection.MISSING_HEADER,
            "header X-CoinPayments-Signature is missing",
        ),
        (
            {"client_id": "ffffffffffffffffffffffffffffffff"},
            WebhookRejection.WRONG_CLIENT,
            "the notification is for another client id",
        ),
        (
            {"headers": {**HEADERS, "x-coinpayments-timestamp": "yesterday"}},
            WebhookRejection.BAD_TIMESTAMP,
            "unreadable timestamp 'yesterday'",
        ),
        (
            {"now": SIGNED_AT + timedelta(seconds=301.7)},
            WebhookRejection.STALE_TIMESTAMP,
            "signed 301 s away from now (window 300 s)",
        ),
        (
            {"client_secret": "another-secret"},
            WebhookRejection.BAD_SIGNATURE,
            "signature mismatch (wrong secret, a changed body, or a URL other than the registered one)",
        ),
    ],
)
def test_rejection_messages(overrides: dict[str, object], reason: WebhookRejection, detail: str) -> None:
    error = refusal(**overrides)
    assert error.reason is reason
    assert str(error) == f"{reason.value}: {detail}"
    assert error.merchant_message == f"A CoinPayments notification was refused: {detail}"
    assert error.code == "COINPAYMENTS_WEBHOOK_REJECTED"


def test_an_unreadable_timestamp_is_quoted_at_most_40_characters() -> None:
    sent = "x" * 60
    error = refusal(headers={**HEADERS, "x-coinpayments-timestamp": sent})
    assert str(error) == f"bad_timestamp: unreadable timestamp {'x' * 40!r}"


def test_an_unreadable_envelope_is_described_in_at_most_500_characters() -> None:
    # Five wrong fields: pydantic's description runs to about 950 characters.
    bad = b'{"id":1,"type":[],"invoice":{"id":[],"invoiceId":[],"state":[]},"timestamp":[]}'
    error = refusal(body=bad, headers=signed(bad))
    assert error.reason is WebhookRejection.BAD_BODY
    detail = str(error).removeprefix("bad_body: ")
    assert detail.startswith("unreadable envelope: 5 validation errors for WebhookEnvelope")
    assert len(detail) == 500, "cut to 500 characters: the reason goes back to the caller"
    not_json = b"{not json"
    assert str(refusal(body=not_json, headers=signed(not_json))).startswith("bad_body: unreadable envelope: ")


# --- time: offsets, the window's edge, the real clock -------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-03-01T03:00:01", SIGNED_AT),
        (" 2025-03-01T03:00:01 ", SIGNED_AT),
        ("2025-03-01T05:00:01+02:00", SIGNED_AT),
        ("2025-02-28T22:00:01-05:00", SIGNED_AT),
        ("2025-03-01T03:00:01Z", SIGNED_AT),
        ("2025-03-01T03:00:01.500+00:00", SIGNED_AT + timedelta(milliseconds=500)),
    ],
)
@pytest.mark.usefixtures("local_zone_not_utc")
def test_header_timestamp_is_read_as_utc_and_offsets_are_honoured(text: str, expected: datetime) -> None:
    moment = parse_header_timestamp(text)
    assert moment == expected
    assert moment.utcoffset() == timedelta(0)


def test_a_timestamp_with_an_explicit_offset_is_accepted() -> None:
    # The old (2021) form carries an offset; the signature covers the header text as sent.
    notification = verify(headers=signed(timestamp="2025-03-01T05:00:01+02:00"))
    assert notification.signed_at == SIGNED_AT
    assert notification.signed_at.utcoffset() == timedelta(0)
    # The offset counts: the same wall-clock time read as UTC would be two hours off.
    assert (
        rejection(headers=signed(timestamp="2025-03-01T03:00:01+02:00"), now=SIGNED_AT)
        is WebhookRejection.STALE_TIMESTAMP
    )


def test_the_window_edge_is_inside() -> None:
    assert verify(now=SIGNED_AT + timedelta(seconds=300)).signed_at == SIGNED_AT
    assert verify(now=SIGNED_AT - timedelta(seconds=300)).signed_at == SIGNED_AT
    assert rejection(now=SIGNED_AT + timedelta(seconds=300, microseconds=1)) is WebhookRejection.STALE_TIMESTAMP
    assert rejection(now=SIGNED_AT - timedelta(seconds=300, microseconds=1)) is WebhookRejection.STALE_TIMESTAMP


def test_the_window_is_the_callers() -> None:
    """No setting is read here: the caller passes its window, and must."""
    assert verify(window_seconds=60, now=SIGNED_AT + timedelta(seconds=60)).signed_at == SIGNED_AT
    error = refusal(window_seconds=60, now=SIGNED_AT + timedelta(seconds=61))
    assert str(error) == "stale_timestamp: signed 61 s away from now (window 60 s)"
    args = {"body": BODY, "headers": HEADERS, "registered_url": URL, "client_id": CLIENT, "client_secret": SECRET}
    with pytest.raises(TypeError, match="window_seconds"):
        verify_notification(**args)  # type: ignore[arg-type]


@pytest.mark.usefixtures("local_zone_not_utc")
def test_without_now_the_real_utc_clock_decides() -> None:
    fresh = format_timestamp(datetime.now(UTC))
    assert verify(headers=signed(timestamp=fresh), now=None).invoice_id == "7c9e6679-7425-40de-944b-e07fc1f90ae7"
    old = format_timestamp(datetime.now(UTC) - timedelta(hours=1))
    assert rejection(headers=signed(timestamp=old), now=None) is WebhookRejection.STALE_TIMESTAMP


def test_the_notification_keeps_the_raw_state_and_the_whole_envelope() -> None:
    notification = verify()
    assert notification.raw_state == "Completed"
    assert notification.envelope.id == notification.id
    assert notification.envelope.invoice.invoice_id == "ORDER-1001"
    assert notification.envelope.raw_type == "InvoiceCompleted"

"""Client construction: settings from the caller, base URL forms, no secret in repr, error messages."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from saleor_coinpayments.coinpayments import errors as e
from saleor_coinpayments.coinpayments.client import CoinPaymentsClient
from saleor_coinpayments.coinpayments.ratelimit import TokenBucket, limiter_for

SECRET = "c2ltdWxhdG9yLXRlc3Qtc2VjcmV0LTAxMjM0NTY3ODk="


@pytest.mark.asyncio
async def test_settings_come_from_the_caller_and_repr_masks_the_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COINPAYMENTS_API_URL", "https://env.example")
    monkeypatch.setenv("COINPAYMENTS_TIMEOUT_SECONDS", "3")
    async with CoinPaymentsClient(
        client_id="0a1b2c3d4e5f40718293a4b5c6d7e8f9",
        client_secret=SECRET,
        base_url="https://b-api.coinpayments.net",
        timeout_seconds=7,
    ) as client:
        assert client.base_url == "https://b-api.coinpayments.net"  # not the environment's
        assert client.timeout_seconds == 7
        assert client.rate_limiter is limiter_for("0a1b2c3d4e5f40718293a4b5c6d7e8f9")
        assert SECRET not in repr(client)
        assert "0a1b2c3d4e5f40718293a4b5c6d7e8f9" in repr(client)
        assert SECRET not in str(vars(client))  # kept as SecretStr


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://b-api.coinpayments.net", "https://b-api.coinpayments.net"),
        ("https://b-api.coinpayments.net/", "https://b-api.coinpayments.net"),
        ("https://a-api.coinpayments.net/api", "https://a-api.coinpayments.net"),
        ("http://127.0.0.1:9000/sim/", "http://127.0.0.1:9000/sim"),
    ],
)
async def test_base_url_forms(given: str, expected: str) -> None:
    async with CoinPaymentsClient(
        client_id="c", client_secret=SecretStr("s"), base_url=given, timeout_seconds=1, rate_limiter=TokenBucket(1)
    ) as client:
        assert client.base_url == expected


def test_the_api_and_timeout_are_required() -> None:
    """The client reads no settings of its own: without them it cannot be built."""
    with pytest.raises(TypeError, match="base_url"):
        CoinPaymentsClient(client_id="c", client_secret="s", timeout_seconds=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="timeout_seconds"):
        CoinPaymentsClient(client_id="c", client_secret="s", base_url="http://x")  # type: ignore[call-arg]


def test_client_id_is_required() -> None:
    with pytest.raises(ValueError, match="client_id"):
        CoinPaymentsClient(client_id=" ", client_secret="s", base_url="http://x", timeout_seconds=1,
                           rate_limiter=TokenBucket(1))  # fmt: skip


def test_error_types_are_app_errors_with_merchant_text() -> None:
    auth = e.CoinPaymentsAuthError("GET /x → 401")
    assert auth.status == 401
    assert "Allowed IPs" in auth.merchant_message
    assert "a/b/c" in auth.merchant_message
    problem = e.ProblemDetails.from_json({"title": "Bad", "errors": {"Currency": "unknown"}})
    assert problem is not None
    validation = e.CoinPaymentsValidationError("POST /x → 400", problem=problem)
    assert "Currency: unknown" in validation.merchant_message
    assert e.ProblemDetails.from_json("not an object") is None
    assert e.CoinPaymentsServerError("x", status=502).retryable
    assert not e.CoinPaymentsNotFoundError("x").retryable

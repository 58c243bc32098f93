"""The `data` a storefront may pass to transactionInitialize (documented in docs/storefront/api.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

ACCEPTED_KEYS = ("successUrl", "cancelUrl", "paymentCurrency")
_URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$")


class StorefrontDataError(ValueError):
    """Storefront `data` the app cannot use; the message says what to fix."""


@dataclass(frozen=True)
class StorefrontOptions:
    success_url: str | None = None
    cancel_url: str | None = None
    payment_currency: str | None = None


def _url(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 2000 or not _URL.match(value):
        raise StorefrontDataError(f"data.{key} must be an absolute http(s) URL")
    return value


def checked_object(data: Any, accepted: tuple[str, ...]) -> dict[str, Any]:
    """`data` as a JSON object holding only `accepted` keys (so typos show up)."""
    if not isinstance(data, dict):
        raise StorefrontDataError("data must be a JSON object")
    unknown = sorted(set(data) - set(accepted))
    if unknown:
        raise StorefrontDataError(f"unknown data keys {unknown}; accepted: {list(accepted)}")
    return data


def payment_currency(data: dict[str, Any]) -> str | None:
    """`data.paymentCurrency`: a coin symbol or CoinPayments id, or None."""
    coin = data.get("paymentCurrency")
    if coin is not None and (not isinstance(coin, str) or not re.fullmatch(r"[A-Za-z0-9.:_-]{1,80}", coin)):
        raise StorefrontDataError("data.paymentCurrency must be a coin symbol (e.g. BTC) or CoinPayments id")
    return coin


def parse_storefront_data(data: Any) -> StorefrontOptions:
    if data is None:
        return StorefrontOptions()
    data = checked_object(data, ACCEPTED_KEYS)
    return StorefrontOptions(
        success_url=_url(data, "successUrl"),
        cancel_url=_url(data, "cancelUrl"),
        payment_currency=payment_currency(data),
    )

"""Fetching Saleor's signing keys from `<origin of the API URL>/.well-known/jwks.json`."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

import httpx

from saleor_coinpayments.errors import AppError


class JwksUnavailable(AppError):
    code = "JWKS_NOT_AVAILABLE"


def jwks_url(saleor_api_url: str) -> str:
    parts = urlsplit(saleor_api_url)
    return f"{parts.scheme}://{parts.netloc}/.well-known/jwks.json"


async def fetch_jwks(http: httpx.AsyncClient, saleor_api_url: str, timeout_seconds: float = 5.0) -> dict[str, Any]:
    url = jwks_url(saleor_api_url)
    try:
        response = await http.get(url, timeout=timeout_seconds, follow_redirects=False)
    except httpx.HTTPError as exc:
        raise JwksUnavailable(f"cannot fetch JWKS from {url}: {type(exc).__name__}") from exc
    if response.status_code != 200:
        raise JwksUnavailable(f"cannot fetch JWKS from {url}: HTTP {response.status_code}")
    try:
        jwks = response.json()
    except ValueError as exc:
        raise JwksUnavailable(f"JWKS at {url} is not JSON") from exc
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(keys, list) or not keys:
        raise JwksUnavailable(f"JWKS at {url} has no keys")
    return jwks


class RefetchLimiter:
    """Allows one JWKS refetch per Saleor per interval, so forged signatures cannot make us hammer Saleor."""

    def __init__(self, min_interval_seconds: float) -> None:
        self._min_interval = min_interval_seconds
        self._last: dict[str, float] = {}

    def allow(self, saleor_api_url: str) -> bool:
        now = time.monotonic()
        last = self._last.get(saleor_api_url)
        if last is not None and now - last < self._min_interval:
            return False
        self._last[saleor_api_url] = now
        return True

"""A small GraphQL client for Saleor, authenticated with the app token."""

from __future__ import annotations

from typing import Any

import httpx

from saleor_coinpayments.errors import AppError
from saleor_coinpayments.money import dump_json, parse_json


class SaleorError(AppError):
    """Saleor refused or failed a request."""

    code = "SALEOR_ERROR"


class SaleorUnavailable(SaleorError):
    """Saleor could not be reached or failed on its side: worth retrying later."""

    code = "SALEOR_UNAVAILABLE"


class SaleorRejected(SaleorError):
    """Saleor answered with GraphQL errors (validation, permission): retrying will not help."""

    code = "SALEOR_REJECTED"

    def __init__(self, message: str, errors: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.errors = errors


class SaleorClient:
    """Posts GraphQL documents to a Saleor API URL. Money in answers is parsed as Decimal."""

    def __init__(self, http: httpx.AsyncClient, timeout_seconds: float = 5.0) -> None:
        self._http = http
        self._timeout = httpx.Timeout(timeout_seconds, connect=min(2.0, timeout_seconds))

    async def execute(
        self,
        api_url: str,
        document: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
    ) -> dict[str, Any]:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        body = dump_json({"query": document, "variables": variables or {}})
        try:
            response = await self._http.post(
                api_url, content=body.encode(), headers=headers, timeout=self._timeout, follow_redirects=False
            )
        except httpx.HTTPError as exc:
            raise SaleorUnavailable(f"Saleor at {api_url} unreachable: {type(exc).__name__}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise SaleorUnavailable(f"Saleor at {api_url} answered HTTP {response.status_code}")
        try:
            payload = parse_json(response.content)
        except ValueError as exc:
            raise SaleorUnavailable(f"Saleor at {api_url} answered non-JSON (HTTP {response.status_code})") from exc
        if not isinstance(payload, dict):
            raise SaleorUnavailable(f"Saleor at {api_url} answered an unexpected shape")
        errors = payload.get("errors") or []
        if errors:
            messages = "; ".join(str(err.get("message", err)) for err in errors if isinstance(err, dict))
            raise SaleorRejected(f"Saleor rejected the request: {messages}", errors)
        if response.status_code >= 400:
            raise SaleorRejected(f"Saleor answered HTTP {response.status_code}", [])
        data = payload.get("data")
        if not isinstance(data, dict):
            raise SaleorRejected("Saleor answered without data", [])
        return data


def mutation_errors(data: dict[str, Any], field: str) -> list[dict[str, Any]]:
    """The `errors` list of one mutation's result (empty when it succeeded)."""
    result = data.get(field)
    errors = result.get("errors") if isinstance(result, dict) else None
    return [error for error in errors or [] if isinstance(error, dict)]


def describe_errors(errors: list[dict[str, Any]]) -> str:
    """`CODE: message; …`, short enough for a log line or the outbox's last error."""
    return "; ".join(f"{error.get('code')}: {error.get('message')}" for error in errors)[:2000]

"""RFC 7807 problem responses for 400/404/415 and the exception that carries them out of handlers.

401 and 403 have empty bodies (coinpayments.md#errors), so they are not problems.
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import Request
from starlette.responses import Response

from saleor_coinpayments.simulator.jsonenc import encode

_TYPES = {
    400: ("https://tools.ietf.org/html/rfc7231#section-6.5.1", "One or more validation errors occurred."),
    404: ("https://tools.ietf.org/html/rfc7231#section-6.5.4", "Not Found"),
    409: ("https://tools.ietf.org/html/rfc7231#section-6.5.8", "Conflict"),
    415: ("https://tools.ietf.org/html/rfc7231#section-6.5.13", "Unsupported Media Type"),
    429: ("https://tools.ietf.org/html/rfc6585#section-4", "Too Many Requests"),
    500: ("https://tools.ietf.org/html/rfc7231#section-6.6.1", "An error occurred while processing your request."),
    502: ("https://tools.ietf.org/html/rfc7231#section-6.6.3", "Bad Gateway"),
    503: ("https://tools.ietf.org/html/rfc7231#section-6.6.4", "Service Unavailable"),
    504: ("https://tools.ietf.org/html/rfc7231#section-6.6.5", "Gateway Timeout"),
}


class Problem(Exception):
    """An expected failure that becomes an `application/problem+json` answer."""

    def __init__(self, status: int, detail: str, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors


class EmptyStatus(Exception):
    """An answer with a status and no body (401/403)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def not_found(detail: str) -> Problem:
    return Problem(404, detail)


def bad_request(field: str, message: str) -> Problem:
    return Problem(400, message, {field: [message]})


def problem_body(status: int, detail: str, errors: dict[str, list[str]] | None, instance: str) -> bytes:
    type_, title = _TYPES.get(status, ("about:blank", "Error"))
    body: dict[str, Any] = {"type": type_, "title": title, "status": status, "detail": detail, "instance": instance}
    if errors:
        body["errors"] = errors
    body["traceId"] = f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-00"
    return encode(body)


def problem_response(status: int, detail: str, errors: dict[str, list[str]] | None = None, path: str = "") -> Response:
    return Response(problem_body(status, detail, errors, path), status, media_type="application/problem+json")


async def handle_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return problem_response(exc.status, exc.detail, exc.errors, request.url.path)


async def handle_empty(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, EmptyStatus)
    return Response(status_code=exc.status)

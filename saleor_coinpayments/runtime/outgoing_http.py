"""The one `httpx.AsyncClient` the app's calls to CoinPayments and Saleor go out through.

httpx's own options apply as httpx documents them, whichever transport carries the bytes:
proxies from `HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY` (`trust_env`), TLS verification against
certifi's roots (`verify`), and each request's `httpx.Timeout`.
"""

from __future__ import annotations

from typing import Literal

import httpx

Transport = Literal["httpx", "aiohttp"]

# Below uvicorn's 5 s keep-alive, so an idle connection is dropped here before the server drops
# it under a request.
KEEPALIVE_SECONDS = 4.0


def outgoing_client(
    *,
    transport: Transport = "aiohttp",
    max_connections: int = 200,
    user_agent: str = "saleor-coinpayments",
    verify: bool | str = True,
) -> httpx.AsyncClient:
    """The client for the app's outgoing calls; `transport` picks httpx's own (httpcore) or
    `httpx-aiohttp`'s, which sends through aiohttp's connection pool."""
    limits = httpx.Limits(
        max_connections=max_connections, max_keepalive_connections=max_connections, keepalive_expiry=KEEPALIVE_SECONDS
    )
    headers = {"User-Agent": user_agent}
    if transport == "aiohttp":
        from httpx_aiohttp import HttpxAiohttpClient

        return HttpxAiohttpClient(limits=limits, headers=headers, verify=verify)
    return httpx.AsyncClient(limits=limits, headers=headers, verify=verify)

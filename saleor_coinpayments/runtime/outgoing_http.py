"""The one `httpx.AsyncClient` the app's calls to CoinPayments and Saleor go out through.

httpx's own transport, and its options as httpx documents them: proxies from
`HTTP_PROXY`/`HTTPS_PROXY`/`ALL_PROXY`/`NO_PROXY` (`trust_env`), TLS verification against certifi's
roots (`verify`), and each request's `httpx.Timeout`.

Why not the faster aiohttp transport of `httpx-aiohttp` (0.2): it hands aiohttp the URL as a
string, and aiohttp re-quotes it (`%3A` → `:`, `%20` → `+` in a query), so CoinPayments would see
a URL other than the one signed; and it reports a server that hangs up after the request was sent,
a refused connection and a failed certificate check all as `httpx.ConnectTimeout`, which the
CoinPayments client must read as "not sent" — wrong for an invoice that may have been created.
"""

from __future__ import annotations

import ssl

import httpx

# Below uvicorn's 5 s keep-alive, so an idle connection is dropped here before the server drops
# it under a request.
KEEPALIVE_SECONDS = 4.0


def outgoing_client(
    *, max_connections: int = 200, user_agent: str = "saleor-coinpayments", verify: bool | ssl.SSLContext = True
) -> httpx.AsyncClient:
    """The client for the app's outgoing calls (`verify`: True for certifi's roots, or a context)."""
    limits = httpx.Limits(
        max_connections=max_connections, max_keepalive_connections=max_connections, keepalive_expiry=KEEPALIVE_SECONDS
    )
    return httpx.AsyncClient(limits=limits, headers={"User-Agent": user_agent}, verify=verify)

"""The one `httpx.AsyncClient` the app's calls to CoinPayments and Saleor go out through.

httpx's own transport, and its options as httpx documents them: proxies from
`HTTP_PROXY`/`HTTPS_PROXY`/`ALL_PROXY`/`NO_PROXY` (`trust_env`), TLS verification against certifi's
roots (`verify`), and each request's `httpx.Timeout`.

**Several small pools rather than one large one** (OUTGOING_HTTP_POOLS). httpcore's pool walks all
of its connections whenever a request starts or ends, asking each idle one whether the server has
closed it (a `poll` of its socket), and counts the pool again for each idle connection it meets. At
32 calls in flight that walk was the largest single cost of a `transactionInitialize` (about 15 % of
the app's CPU; with 8 pools a call costs the client about half the CPU of one pool). Requests go to
one of `pools` httpx transports (through `httpx.AsyncBaseTransport`, httpx's public extension
point), each holding a share of the connections, so each walk is a few connections long: to the
first with the fewest requests in flight, so that at low traffic one pool's kept-alive connections
serve everything (round robin would let each pool's connection expire between uses and pay a new
TLS handshake to CoinPayments on most calls). Only without a proxy in the environment:
httpx applies the environment's proxies only to a client that has no transport of its own, so with
one configured the client is httpx's default, one pool, and the proxy rules stay httpx's.

Why not the faster aiohttp transport of `httpx-aiohttp` (0.2): it hands aiohttp the URL as a
string, and aiohttp re-quotes it (`%3A` → `:`, `%20` → `+` in a query), so CoinPayments would see
a URL other than the one signed; and it reports a server that hangs up after the request was sent,
a refused connection and a failed certificate check all as `httpx.ConnectTimeout`, which the
CoinPayments client must read as "not sent" — wrong for an invoice that may have been created.
"""

from __future__ import annotations

import ssl
import urllib.request
from collections.abc import AsyncIterator

import httpx

# Below uvicorn's 5 s keep-alive, so an idle connection is dropped here before the server drops
# it under a request.
KEEPALIVE_SECONDS = 4.0


class SpreadPools(httpx.AsyncBaseTransport):
    """Each request goes to the pool with the fewest requests in flight, the first such: a quiet
    process uses the first pool only (its kept-alive connections stay warm), a busy one all of them."""

    def __init__(self, transports: list[httpx.AsyncHTTPTransport]) -> None:
        self._transports = transports
        self._in_flight = [0] * len(transports)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        index = self._in_flight.index(min(self._in_flight))
        self._in_flight[index] += 1
        try:
            response = await self._transports[index].handle_async_request(request)
        except BaseException:
            self._in_flight[index] -= 1
            raise
        # The connection stays busy until the body has been read or the response closed.
        stream = _Counted(response.stream, self._in_flight, index)
        return httpx.Response(
            response.status_code, headers=response.headers, stream=stream, extensions=response.extensions
        )

    async def aclose(self) -> None:
        for transport in self._transports:
            await transport.aclose()


class _Counted(httpx.AsyncByteStream):
    """A response body that gives its pool's in-flight slot back once, when it is closed."""

    def __init__(self, stream: httpx.SyncByteStream | httpx.AsyncByteStream, counts: list[int], index: int) -> None:
        assert isinstance(stream, httpx.AsyncByteStream)
        self._stream, self._counts, self._index, self._open = stream, counts, index, True

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        if self._open:
            self._open = False
            self._counts[self._index] -= 1
        await self._stream.aclose()


def outgoing_client(
    *,
    max_connections: int = 200,
    pools: int = 1,
    user_agent: str = "saleor-coinpayments",
    verify: bool | ssl.SSLContext = True,
) -> httpx.AsyncClient:
    """The client for the app's outgoing calls (`verify`: True for certifi's roots, or a context),
    its `max_connections` shared among up to `pools` pools (one while the environment names a proxy)."""
    headers = {"User-Agent": user_agent}
    pools = max(1, min(pools, max_connections))
    if pools == 1 or urllib.request.getproxies():
        return httpx.AsyncClient(limits=_limits(max_connections), headers=headers, verify=verify)
    share = max_connections // pools
    transports = [httpx.AsyncHTTPTransport(limits=_limits(share), verify=verify) for _ in range(pools)]
    return httpx.AsyncClient(transport=SpreadPools(transports), headers=headers)


def _limits(connections: int) -> httpx.Limits:
    return httpx.Limits(
        max_connections=connections, max_keepalive_connections=connections, keepalive_expiry=KEEPALIVE_SECONDS
    )

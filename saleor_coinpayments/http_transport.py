"""httpx's client API over aiohttp's connection handling, for the app's outgoing calls.

Every CoinPayments read, invoice and transactionEventReport goes out through one shared
`httpx.AsyncClient`. With httpx's own transport (httpcore) a request costs about 1.6 ms of CPU at
32 in flight on loopback (the pool checks every connection's socket and scans its queues twice per
request); through aiohttp the same request costs about 0.25 ms, httpx's request and response
objects included. The code keeps httpx's API — requests built and signed as httpx puts them on the
wire, `httpx.Timeout`, `httpx.HTTPError` — and only the transport underneath changes.

What carries over from httpx, and how:
- the URL exactly as httpx built it (no re-quoting: CoinPayments signs the URL);
- the headers and body bytes as given (httpx sets Host, Content-Length and the encodings);
- timeouts: connect (and waiting for a pooled connection) and read per request, from the request's
  `timeout` extension; aiohttp has no write timeout, and the bodies sent here are small;
- errors: aiohttp's mapped onto httpx's (connect timeout or refused: nothing was sent);
- a response body that httpx decodes itself (gzip), read in chunks for `client.stream`;
- proxies from HTTP_PROXY / HTTPS_PROXY / NO_PROXY, read when the transport is made (NO_PROXY once
  per origin), as httpx reads them when its client is made. (aiohttp's `trust_env` reads them, and ~/.netrc, in a worker
  thread on every request: two thread hops, about a tenth of a notification's CPU.)
"""

from __future__ import annotations

import asyncio
import ssl
import urllib.request
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import certifi
import httpx
from yarl import URL

# Below uvicorn's 5 s keep-alive (and httpx's 5 s), so an idle connection is dropped here before
# the server drops it under a request.
KEEPALIVE_SECONDS = 4.0
# Headers aiohttp derives from the URL and the body itself; sending httpx's too would duplicate them.
_DERIVED = frozenset({b"host", b"content-length", b"transfer-encoding"})


def _mapped(exc: BaseException, request: httpx.Request) -> httpx.TransportError:
    """aiohttp's error as the httpx error callers expect (ConnectTimeout/ConnectError: nothing sent)."""
    message = str(exc) or type(exc).__name__
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(message, request=request)
    if isinstance(exc, aiohttp.ServerTimeoutError | asyncio.TimeoutError):
        return httpx.ReadTimeout(message, request=request)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError(message, request=request)
    if isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        return httpx.UnsupportedProtocol(message, request=request)
    if isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ClientOSError):
        return httpx.ReadError(message, request=request)
    return httpx.RemoteProtocolError(message, request=request)


_FAILURES = (aiohttp.ClientError, asyncio.TimeoutError)


class _Body(httpx.AsyncByteStream):
    """The response body as aiohttp receives it; closing it returns the connection to the pool."""

    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except _FAILURES as exc:
            raise _mapped(exc, self._request) from exc

    async def aclose(self) -> None:
        self._response.release()


def _timeout(request: httpx.Request) -> aiohttp.ClientTimeout:
    given: dict[str, float | None] = request.extensions.get("timeout", {})
    connect, pool = given.get("connect"), given.get("pool")
    return aiohttp.ClientTimeout(
        total=None,
        connect=None if connect is None or pool is None else connect + pool,
        sock_connect=connect,
        sock_read=given.get("read"),
    )


class EnvironmentProxies:
    """The proxy for a URL per the environment: the proxies as they were when this was made, and
    NO_PROXY as it was at the first request to that origin (each origin is looked up once)."""

    def __init__(self) -> None:
        self._proxies = urllib.request.getproxies_environment()
        self._by_origin: dict[tuple[str, str], str | None] = {}

    def for_url(self, url: httpx.URL) -> str | None:
        origin = (url.scheme, url.host)
        if origin not in self._by_origin:
            proxy = self._proxies.get(url.scheme)
            if proxy and urllib.request.proxy_bypass(url.host):
                proxy = None
            self._by_origin[origin] = proxy
        return self._by_origin[origin]


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An `httpx.AsyncClient` transport that sends through one aiohttp session (made on first use,
    in the running event loop), with a pool of `max_connections`."""

    def __init__(self, *, max_connections: int = 200, ssl_context: ssl.SSLContext | None = None) -> None:
        self._max_connections = max_connections
        self._ssl = ssl_context or ssl.create_default_context(cafile=certifi.where())
        self._session: aiohttp.ClientSession | None = None
        self._proxies = EnvironmentProxies()

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self._max_connections, ssl=self._ssl, keepalive_timeout=KEEPALIVE_SECONDS
        )
        # No cookie jar and no default headers: httpx has put on the request all there is to send.
        return aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"),
            trust_env=False,  # the environment's proxies come from EnvironmentProxies, read once
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._session
        if session is None or session.closed:
            session = self._session = self._open()
        headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in request.headers.raw
            if name.lower() not in _DERIVED
        ]
        body: Any = await request.aread() or None
        try:
            response = await session.request(
                request.method,
                URL(str(request.url), encoded=True),
                headers=headers,
                data=body,
                allow_redirects=False,
                timeout=_timeout(request),
                proxy=self._proxies.for_url(request.url),
            )
        except _FAILURES as exc:
            raise _mapped(exc, request) from exc
        return httpx.Response(
            response.status,
            headers=[(name.decode("latin-1"), value.decode("latin-1")) for name, value in response.raw_headers],
            stream=_Body(response, request),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": (response.reason or "").encode("latin-1")},
            request=request,
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class _CookiesWhenSet(httpx.Cookies):
    """httpx reads every response into its cookie jar through `http.cookiejar`, which builds
    urllib request and response stand-ins each time: a quarter of httpx's own CPU per request.
    Neither CoinPayments nor Saleor sets cookies on these calls, so only a response that has a
    Set-Cookie header pays for it."""

    def extract_cookies(self, response: httpx.Response) -> None:
        if "set-cookie" in response.headers:
            super().extract_cookies(response)


def outgoing_client(*, max_connections: int = 200, user_agent: str = "saleor-coinpayments") -> httpx.AsyncClient:
    """The `httpx.AsyncClient` for the app's calls to CoinPayments and Saleor."""
    client = httpx.AsyncClient(
        transport=AiohttpTransport(max_connections=max_connections), headers={"User-Agent": user_agent}
    )
    client._cookies = _CookiesWhenSet()  # the jar httpx made; the `cookies` setter would re-wrap it
    return client

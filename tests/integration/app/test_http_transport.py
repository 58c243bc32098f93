"""The aiohttp transport under httpx, against real servers on loopback: what goes on the wire is
what httpx built (CoinPayments signs it), and aiohttp's failures arrive as httpx's errors."""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from saleor_coinpayments.http_transport import AiohttpTransport, outgoing_client
from tests.helpers.servers import free_port, serve_asgi

Scope = dict[str, Any]


async def _recorder(scope: Scope, receive: Any, send: Any) -> None:
    """Echoes the request as it arrived (raw path, query, headers, body); a few paths misbehave."""
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    path = scope["path"]
    if path == "/slow":
        await asyncio.sleep(1.0)
    if path == "/gzip":
        payload = gzip.compress(b'{"packed": true}')
        headers = [(b"content-type", b"application/json"), (b"content-encoding", b"gzip")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": payload})
        return
    if path == "/cookie":
        await send({"type": "http.response.start", "status": 204, "headers": [(b"set-cookie", b"session=abc; Path=/")]})
        await send({"type": "http.response.body", "body": b""})
        return
    if path == "/chunks":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x-first", b"yes")]})
        for part in (b"one,", b"two,", b"three"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
            await asyncio.sleep(0.02)
        await send({"type": "http.response.body", "body": b""})
        return
    seen = {
        "method": scope["method"],
        "raw_path": scope["raw_path"].decode("latin-1"),
        "query": scope["query_string"].decode("latin-1"),
        "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in scope["headers"]],
        "body": body.decode("latin-1"),
    }
    status = int(scope["query_string"].decode().partition("status=")[2] or 200)
    headers = [(b"content-type", b"application/json"), (b"x-reply", b"1"), (b"x-reply", b"2")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": json.dumps(seen).encode()})


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serve_asgi(_recorder) as url:
        yield url


@pytest_asyncio.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with outgoing_client(user_agent="transport-test") as client:
        yield client


def _header(seen: dict[str, Any], name: str) -> list[str]:
    return [value for key, value in seen["headers"] if key == name]


@pytest.mark.asyncio
async def test_sends_the_url_headers_and_body_exactly_as_httpx_built_them(server: str, http: httpx.AsyncClient) -> None:
    body = b'{"amount": "10.00", "note": "caf\xc3\xa9"}'
    request = http.build_request(
        "POST",
        f"{server}/api/v2/merchant/invoices/a%2Fb%20c",
        params={"q": "ORDER 1/2", "z": "ä"},
        content=body,
        headers={"X-CoinPayments-Signature": "c2lnbmVk", "Content-Type": "application/json"},
    )
    response = await http.send(request)
    seen = response.json()
    assert seen["method"] == "POST"
    assert seen["raw_path"] + "?" + seen["query"] == str(request.url).removeprefix(server)
    assert seen["raw_path"] == "/api/v2/merchant/invoices/a%2Fb%20c"  # not re-quoted
    assert seen["body"].encode("latin-1") == body
    assert _header(seen, "x-coinpayments-signature") == ["c2lnbmVk"]
    assert _header(seen, "content-length") == [str(len(body))]
    assert _header(seen, "user-agent") == ["transport-test"]
    assert len(_header(seen, "host")) == 1
    assert response.status_code == 200
    assert response.headers.get_list("x-reply") == ["1", "2"]
    assert response.http_version == "HTTP/1.1"


@pytest.mark.asyncio
async def test_only_a_response_that_sets_a_cookie_goes_through_the_cookie_jar(
    server: str, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    jarred: list[str] = []
    extract = httpx.Cookies.extract_cookies

    def spy(self: httpx.Cookies, response: httpx.Response) -> None:
        jarred.append(response.url.path)
        extract(self, response)

    monkeypatch.setattr(httpx.Cookies, "extract_cookies", spy)
    await http.get(f"{server}/anything")
    await http.get(f"{server}/cookie")
    assert jarred == ["/cookie"]
    assert http.cookies.get("session") == "abc"
    seen = (await http.get(f"{server}/anything")).json()
    assert _header(seen, "cookie") == ["session=abc"]  # sent back, as httpx always did


@pytest.mark.asyncio
async def test_statuses_come_back_as_they_are(server: str, http: httpx.AsyncClient) -> None:
    response = await http.get(f"{server}/anything", params={"status": "429"})
    assert response.status_code == 429
    assert response.json()["method"] == "GET"
    assert response.json()["body"] == ""


@pytest.mark.asyncio
async def test_a_gzip_body_is_decoded_by_httpx(server: str, http: httpx.AsyncClient) -> None:
    response = await http.get(f"{server}/gzip")
    assert response.json() == {"packed": True}


@pytest.mark.asyncio
async def test_a_streamed_body_arrives_in_chunks_after_the_headers(server: str, http: httpx.AsyncClient) -> None:
    async with http.stream("GET", f"{server}/chunks") as response:
        assert response.headers["x-first"] == "yes"
        parts = [part async for part in response.aiter_bytes()]
    assert b"".join(parts) == b"one,two,three"
    # the connection went back to the pool: the next request on it works
    assert (await http.get(f"{server}/after")).status_code == 200


@pytest.mark.asyncio
async def test_many_requests_at_once_share_the_pool(server: str) -> None:
    async with httpx.AsyncClient(transport=AiohttpTransport(max_connections=4)) as http:
        answers = await asyncio.gather(*(http.get(f"{server}/n/{i}") for i in range(40)))
    assert [a.json()["raw_path"] for a in answers] == [f"/n/{i}" for i in range(40)]


@pytest.mark.asyncio
async def test_no_answer_in_time_is_a_read_timeout(server: str, http: httpx.AsyncClient) -> None:
    with pytest.raises(httpx.ReadTimeout):
        await http.get(f"{server}/slow", timeout=httpx.Timeout(0.2))
    # the client stays usable
    assert (await http.get(f"{server}/fine", timeout=2)).status_code == 200


@pytest.mark.asyncio
async def test_nobody_listening_is_a_connect_error(http: httpx.AsyncClient) -> None:
    with pytest.raises(httpx.ConnectError):
        await http.get(f"http://127.0.0.1:{free_port()}/x")


@pytest.mark.asyncio
async def test_a_server_that_hangs_up_is_a_protocol_error(http: httpx.AsyncClient) -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]

    def hang_up() -> None:
        connection, _ = listener.accept()
        connection.recv(65536)
        connection.close()

    thread = threading.Thread(target=hang_up, daemon=True)
    thread.start()
    try:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.post(f"http://127.0.0.1:{port}/x", content=b"{}")
    finally:
        thread.join(timeout=5)
        listener.close()


@pytest.mark.asyncio
async def test_a_scheme_it_cannot_speak_is_unsupported(http: httpx.AsyncClient) -> None:
    with pytest.raises(httpx.UnsupportedProtocol):
        await http.get("ftp://127.0.0.1/x")


@pytest.mark.asyncio
async def test_closing_the_client_closes_the_session_and_a_new_one_opens_on_use(server: str) -> None:
    transport = AiohttpTransport()
    async with httpx.AsyncClient(transport=transport) as http:
        assert (await http.get(f"{server}/a")).status_code == 200
    assert transport._session is None
    response = await transport.handle_async_request(httpx.Request("GET", f"{server}/b"))
    assert json.loads(await response.aread())["raw_path"] == "/b"
    await response.aclose()
    await transport.aclose()


@pytest.mark.asyncio
async def test_the_environment_proxy_carries_requests_and_no_proxy_bypasses_it(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The recorder stands in for the proxy: a request for a host nobody can resolve reaches it
    # only through HTTP_PROXY, and says which host it was for.
    monkeypatch.setenv("HTTP_PROXY", server)
    monkeypatch.setenv("NO_PROXY", "direct.invalid")
    async with httpx.AsyncClient(transport=AiohttpTransport()) as http:
        seen = (await http.get("http://shop.invalid:8080/graphql/?q=1")).json()
        assert _header(seen, "host") == ["shop.invalid:8080"]
        assert seen["query"] == "q=1"
        with pytest.raises(httpx.ConnectError):
            await http.get("http://direct.invalid/x")


@pytest.mark.asyncio
async def test_without_a_proxy_in_the_environment_requests_go_direct(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    async with httpx.AsyncClient(transport=AiohttpTransport()) as http:
        with pytest.raises(httpx.ConnectError):
            await http.get("http://shop.invalid:8080/x")
        assert (await http.get(f"{server}/direct")).json()["raw_path"] == "/direct"

"""The app's outgoing HTTP client against real servers on loopback: what goes on the wire is what
httpx built (CoinPayments signs it), failures arrive as httpx's errors with the right "was it
sent" meaning, and httpx's own options (timeouts, `verify`, proxies) are honoured."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import gzip
import json
import socket
import ssl
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from saleor_coinpayments.runtime.outgoing_http import outgoing_client
from tests.helpers.servers import free_port, serve_asgi

Scope = dict[str, Any]


class Gate:
    """Holds requests to `/held`: `reached` is set when one has arrived, and it is answered once
    `release` is set (a server that is slow for as long as the test wants, without a timer)."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.release = threading.Event()


GATE = Gate()


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
    if path == "/held":
        GATE.reached.set()
        await asyncio.to_thread(GATE.release.wait, 30)
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
        "client_port": scope["client"][1],
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


@pytest.fixture
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)


@pytest_asyncio.fixture(params=[1, 8], ids=["one-pool", "eight-pools"])
async def http(no_proxy_env: None, request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    async with outgoing_client(user_agent="transport-test", pools=request.param) as client:
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
        # Read the whole request first: closing with unread bytes would reset the connection (a
        # ReadError), not hang up cleanly after the request as this test means.
        connection, _ = listener.accept()
        received = b""
        while not received.endswith(b"\r\n\r\n{}"):
            chunk = connection.recv(65536)
            if not chunk:
                break
            received += chunk
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
async def test_a_request_waiting_for_a_pooled_connection_past_its_pool_timeout_was_not_sent(
    server: str, no_proxy_env: None
) -> None:
    GATE.reached.clear()
    GATE.release.clear()
    async with outgoing_client(max_connections=1) as http:
        holding = asyncio.create_task(http.get(f"{server}/held", timeout=30))
        try:
            # The one connection is busy: the server has the request and holds its answer.
            assert await asyncio.to_thread(GATE.reached.wait, 30)
            with pytest.raises(httpx.PoolTimeout):  # "not sent", to the CoinPayments client
                await http.get(f"{server}/fine", timeout=httpx.Timeout(5, pool=0.2))
        finally:
            GATE.release.set()
        assert (await holding).status_code == 200


@pytest.mark.asyncio
async def test_one_call_at_a_time_keeps_using_one_kept_alive_connection(server: str, no_proxy_env: None) -> None:
    async with outgoing_client(pools=8) as http:
        ports = {(await http.get(f"{server}/x")).json()["client_port"] for _ in range(6)}
    assert len(ports) == 1  # the first pool only: no pool's connection left to expire unused


@pytest.mark.asyncio
async def test_a_call_in_flight_does_not_hold_up_the_next_while_another_pool_is_free(
    server: str, no_proxy_env: None
) -> None:
    GATE.reached.clear()
    GATE.release.clear()
    async with outgoing_client(max_connections=2, pools=2) as http:  # one connection per pool
        holding = asyncio.create_task(http.get(f"{server}/held", timeout=30))
        try:
            assert await asyncio.to_thread(GATE.reached.wait, 30)
            # One pool's only connection is busy; the call goes to the other pool (one pool of two
            # connections would do the same; one connection in all would time out, as above).
            free = await http.get(f"{server}/fine", timeout=httpx.Timeout(5, pool=0.2))
            assert free.status_code == 200
        finally:
            GATE.release.set()
        assert (await holding).status_code == 200
        # Both calls are done and counted back: one at a time uses the first pool again.
        ports = {(await http.get(f"{server}/x")).json()["client_port"] for _ in range(3)}
        assert len(ports) == 1


# ------------------------------------------------------------------------------ raw loopback servers


class RawServer:
    """A loopback TCP (or TLS) server in a thread: reads one request head per connection, records
    it, and answers 200 with a body naming who answered."""

    def __init__(self, name: str, tls: ssl.SSLContext | None = None) -> None:
        self.name = name
        self.tls = tls
        self.heads: list[str] = []
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen()
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            with contextlib.suppress(OSError, ssl.SSLError):
                if self.tls is not None:
                    connection = self.tls.wrap_socket(connection, server_side=True)
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = connection.recv(65536)
                    if not chunk:
                        break
                    head += chunk
                self.heads.append(head.decode("latin-1"))
                body = self.name.encode()
                connection.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
                )
            connection.close()

    def __enter__(self) -> RawServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        # close() alone does not wake a thread blocked in accept(): each server then held up its
        # test for the whole join timeout (5 s). shutdown() makes that accept() fail at once.
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._thread.join(timeout=5)
        assert not self._thread.is_alive(), f"the {self.name} server's thread did not end"


@pytest.mark.asyncio
async def test_the_environment_proxy_carries_requests_and_no_proxy_bypasses_it(
    no_proxy_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with RawServer("proxy") as proxy, RawServer("direct") as direct:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
        monkeypatch.setenv("NO_PROXY", "localhost")  # read when the client is made, as httpx documents
        async with outgoing_client(pools=8) as http:  # with a proxy: httpx's own single pool
            proxied = await http.get("http://shop.invalid:8080/graphql/?q=1")
            bypassed = await http.get(f"http://localhost:{direct.port}/direct")
    assert proxied.text == "proxy"
    request_line = proxy.heads[0].split("\r\n")[0]
    assert request_line == "GET http://shop.invalid:8080/graphql/?q=1 HTTP/1.1"  # absolute form: a proxy request
    assert bypassed.text == "direct"
    assert direct.heads[0].startswith("GET /direct HTTP/1.1")
    assert len(proxy.heads) == 1


@pytest.mark.asyncio
async def test_without_a_proxy_in_the_environment_requests_go_direct(no_proxy_env: None) -> None:
    with RawServer("direct") as direct:
        async with outgoing_client() as http:
            assert (await http.get(f"http://127.0.0.1:{direct.port}/x")).text == "direct"
            with pytest.raises(httpx.ConnectError):
                await http.get("http://shop.invalid:8080/x")


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (the CA file is the certificate itself) and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


@pytest.mark.asyncio
async def test_tls_is_verified_against_the_roots_given_as_httpx_documents(
    no_proxy_env: None, tls_files: tuple[Path, Path]
) -> None:
    cert_file, key_file = tls_files
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    with RawServer("tls", tls=context) as tls_server:
        url = f"https://127.0.0.1:{tls_server.port}/secure"
        async with outgoing_client() as http:  # default: certifi's roots
            with pytest.raises(httpx.ConnectError):
                await http.get(url)
        async with outgoing_client(verify=ssl.create_default_context(cafile=cert_file)) as http:
            assert (await http.get(url)).text == "tls"
    assert any(head.startswith("GET /secure HTTP/1.1") for head in tls_server.heads)

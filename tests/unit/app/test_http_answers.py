"""What the HTTP API answers outside its routes' own work: the OpenAPI document and 405s.

schemathesis checks the running app against the document (tests/integration/api); these pin the
two fixes it led to at the framework level, quickly and without a server."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import httpx
import pytest

from saleor_coinpayments.app import create_app
from saleor_coinpayments.configuration.registration import RegisterApp, RegistrationRefused
from saleor_coinpayments.settings import load_settings


class Client:
    """The app in-process through httpx's ASGI transport; no lifespan, so nothing reaches the store."""

    def __init__(self) -> None:
        self.app = create_app(load_settings(), run_workers=False)

    def request(self, method: str, path: str) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://app.test") as client:
                return await client.request(method, path)

        return asyncio.run(send())

    def get(self, path: str) -> httpx.Response:
        return self.request("GET", path)


@pytest.fixture(scope="module")
def client() -> Client:
    return Client()


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("OPTIONS", "/api/dashboard/configurations", {"GET", "POST"}),
        ("PATCH", "/api/dashboard/configurations/abc", {"PUT", "DELETE"}),
        ("DELETE", "/api/manifest", {"GET"}),
    ],
)
def test_a_405_allows_every_method_of_the_path(client: Client, method: str, path: str, allowed: set[str]) -> None:
    response = client.request(method, path)
    assert response.status_code == 405
    assert set(response.headers["allow"].replace(" ", "").split(",")) - {"HEAD"} == allowed


def test_the_document_declares_no_answer_the_app_never_gives(client: Client) -> None:
    document: dict[str, Any] = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in str(document)
    dashboard = document["paths"]["/api/dashboard/configurations"]["post"]["responses"]
    assert {"201", "400", "401", "403"} <= set(dashboard)
    assert "requestBody" in document["paths"]["/api/dashboard/channels/{channel_slug}"]["put"]


@pytest.mark.parametrize("token", ["a\nb", "tok en", "tökén", "x" * 4097])
def test_registration_refuses_a_token_that_cannot_go_into_a_header(token: str) -> None:
    """Such a token used to reach the HTTP client, which raised: a 500 instead of a 400."""
    use_case = RegisterApp(load_settings(), cast(Any, None), cast(Any, None), cast(Any, None))
    result = asyncio.run(use_case.execute("https://shop.example.com/graphql/", token))
    assert isinstance(result, RegistrationRefused)
    assert (result.status, result.code) == (400, "MALFORMED_AUTH_TOKEN")


def test_the_documented_whitespace_is_what_strip_removes() -> None:
    """Patterns spell whitespace out (regex dialects differ on `\\s`); it must be Python's set."""
    import re

    from saleor_coinpayments.web.answers import WHITESPACE, stripped_text

    spaced = re.compile(f"[{WHITESPACE}]")
    assert [c for c in range(0x110000) if bool(spaced.match(chr(c))) != chr(c).isspace()] == []
    tx = re.compile(stripped_text(8, inner_spaces=False)["pattern"])
    assert tx.match(" 0xab12\n")
    assert not tx.match("0x ab")
    assert not tx.match("0x\x1cab")
    assert not tx.match("123456789")

"""The origin allowed to frame the page goes into a CSP header: only a clean scheme://host[:port]."""

from __future__ import annotations

import pytest

from saleor_coinpayments.web.framing import origin_of


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://shop.saleor.cloud/graphql/", "https://shop.saleor.cloud"),
        ("http://127.0.0.1:8000/graphql/", "http://127.0.0.1:8000"),
        ("https://user:pw@Shop.Example.com/graphql/", "https://shop.example.com"),
        ("http://[::1]:8000/graphql/", "http://[::1]:8000"),
    ],
)
def test_origin_of_an_api_url(url: str, origin: str) -> None:
    assert origin_of(url) == origin


@pytest.mark.parametrize(
    "url",
    [
        "",
        "javascript:alert(1)",
        "ftp://example.com/",
        "http://a;script-src */graphql/",
        "http://a b/graphql/",
        "http://host:99999999/graphql/",
        "//example.com/graphql/",
    ],
)
def test_no_origin_for_anything_else(url: str) -> None:
    assert origin_of(url) is None

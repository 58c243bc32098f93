"""The manifest: what Saleor validates at install, and the committed manifest.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from graphql import build_schema

from saleor_coinpayments.saleor.manifest import build_manifest
from saleor_coinpayments.saleor.schema import SCHEMA_LINES, subset_sdl
from saleor_coinpayments.settings import load_settings
from tests.fakes.saleor import SALEOR_3_20, SALEOR_VERSION
from tests.fakes.saleor_versions import satisfies
from tests.helpers.manifest_rules import manifest_problems

ROOT = Path(__file__).resolve().parents[3]


def test_manifest_passes_saleor_checks_against_the_subset_schema() -> None:
    manifest = build_manifest(load_settings(app_public_url="https://pay.example.com"))
    assert manifest_problems(manifest, build_schema(subset_sdl())) == []


@pytest.mark.parametrize("line", SCHEMA_LINES)
def test_manifest_passes_saleor_checks_against_every_tested_line(line: str) -> None:
    """Against each line's subset; the full upstream schemas are checked in test_schema_subset."""
    manifest = build_manifest(load_settings(app_public_url="https://pay.example.com"))
    assert manifest_problems(manifest, build_schema(subset_sdl(line))) == []


def test_manifest_range_takes_in_the_3_20_line_through_the_newest() -> None:
    required = build_manifest(load_settings())["requiredSaleorVersion"]
    for version in ("3.20.0", SALEOR_3_20, "3.21.0", "3.22.7", SALEOR_VERSION, "3.24.0-a.0", "3.99.0"):
        assert satisfies(version, required), version
    for version in ("3.19.9", "3.0.0", "4.0.0"):
        assert not satisfies(version, required), version


def test_manifest_urls_follow_the_public_url() -> None:
    manifest = build_manifest(load_settings(app_public_url="https://pay.example.com/base/"))
    assert manifest["tokenTargetUrl"] == "https://pay.example.com/base/api/register"
    assert manifest["appUrl"] == "https://pay.example.com/base/dashboard"
    targets = {(hook.get("syncEvents") or hook["asyncEvents"])[0]: hook["targetUrl"] for hook in manifest["webhooks"]}
    assert targets["TRANSACTION_INITIALIZE_SESSION"] == (
        "https://pay.example.com/base/api/webhooks/saleor/transaction-initialize-session"
    )
    assert targets["INVOICE_REQUESTED"] == "https://pay.example.com/base/api/webhooks/saleor/invoice-requested"
    invoice_hook = next(hook for hook in manifest["webhooks"] if "asyncEvents" in hook)
    assert invoice_hook["asyncEvents"] == ["INVOICE_REQUESTED"]
    assert "syncEvents" not in invoice_hook
    # HANDLE_PAYMENTS for the payment webhooks; MANAGE_ORDERS for INVOICE_REQUESTED/invoiceUpdate (B7, B9)
    assert manifest["permissions"] == ["HANDLE_PAYMENTS", "MANAGE_ORDERS"]


def test_manifest_checker_catches_a_broken_manifest() -> None:
    manifest = build_manifest(load_settings(app_public_url="https://pay.example.com"))
    manifest["webhooks"][0]["query"] = "subscription { event { ... on TransactionInitializeSession { nope } } }"
    manifest["permissions"] = ["MANAGE_APPS"]
    problems = manifest_problems(manifest, build_schema(subset_sdl()))
    assert any("nope" in p for p in problems)
    assert "MANAGE_APPS cannot be requested" in problems


def test_committed_manifest_json_is_what_the_endpoint_serves_for_localhost() -> None:
    committed = json.loads((ROOT / "manifest.json").read_text())
    assert committed == build_manifest(load_settings(app_public_url="http://localhost:8000"))


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"app_public_url": "ftp://x"}, "APP_PUBLIC_URL"),
        ({"database_url": "mysql://x"}, "DATABASE_URL"),
        ({"allowed_saleor_api_urls": "https://(unclosed"}, "ALLOWED_SALEOR_API_URLS"),
        ({"port": 0}, "PORT"),
        ({"log_format": "xml"}, "LOG_FORMAT"),
    ],
)
def test_bad_settings_stop_with_a_message_naming_the_setting(overrides: dict[str, Any], fragment: str) -> None:
    from saleor_coinpayments.settings import SettingsError

    with pytest.raises(SettingsError, match=fragment):
        load_settings(**overrides)


def test_allowed_saleor_urls_match_the_whole_url() -> None:
    settings = load_settings(allowed_saleor_api_urls=r"https://[a-z]+\.example\.com/graphql/")
    assert settings.saleor_api_url_allowed("https://shop.example.com/graphql/")
    assert not settings.saleor_api_url_allowed("https://shop.example.com/graphql/evil")
    assert not settings.saleor_api_url_allowed("https://evil.com/?https://shop.example.com/graphql/")
    assert load_settings().saleor_api_url_allowed("https://anything.test/graphql/")


def test_manifest_links_the_apps_own_pages() -> None:
    manifest = build_manifest(load_settings(app_public_url="https://pay.example.com/base"))
    assert manifest["homepageUrl"] == "https://pay.example.com/base/"
    assert manifest["supportUrl"] == "https://pay.example.com/base/support"
    assert manifest["dataPrivacyUrl"] == "https://pay.example.com/base/privacy"


def test_without_app_public_url_the_public_url_follows_the_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APP_PUBLIC_URL", raising=False)
    assert load_settings().app_public_url == "http://localhost:8000"
    assert build_manifest(load_settings(port=8090))["homepageUrl"] == "http://localhost:8090/"
    monkeypatch.setenv("PORT", "8091")
    assert build_manifest(load_settings())["tokenTargetUrl"] == "http://localhost:8091/api/register"
    monkeypatch.setenv("APP_PUBLIC_URL", "")
    assert load_settings().app_public_url == "http://localhost:8091"
    monkeypatch.setenv("APP_PUBLIC_URL", "https://pay.example.com")
    assert load_settings(port=8092).app_public_url == "https://pay.example.com"


def test_docs_url_must_be_a_web_address() -> None:
    from saleor_coinpayments.settings import SettingsError

    assert load_settings().docs_url == ""
    assert load_settings(docs_url=" https://docs.example.com/x ").docs_url == "https://docs.example.com/x"
    with pytest.raises(SettingsError, match="DOCS_URL"):
        load_settings(docs_url="javascript:alert(1)")


def test_serve_port_option_moves_the_default_public_url(monkeypatch: pytest.MonkeyPatch) -> None:
    from saleor_coinpayments.cli import serve_settings

    monkeypatch.delenv("APP_PUBLIC_URL", raising=False)
    monkeypatch.delenv("PORT", raising=False)
    settings = serve_settings(8093)
    assert (settings.port, settings.app_public_url) == (8093, "http://localhost:8093")
    assert serve_settings(None).app_public_url == "http://localhost:8000"


@pytest.mark.parametrize(
    ("header", "identifiers"),
    [
        ("3.20", False),
        ("3.21", False),
        ("3.22", False),
        ("3.23", True),
        ("3.24", True),
        (None, True),
        ("garbage", True),
    ],
)
def test_webhook_identifiers_go_only_to_lines_that_take_them(header: str | None, identifiers: bool) -> None:
    manifest = build_manifest(load_settings(app_public_url="https://pay.example.com"), header)
    found = [hook.get("identifier") for hook in manifest["webhooks"]]
    if identifiers:
        assert len(set(found)) == len(found)
        assert all(isinstance(i, str) and 0 < len(i) <= 256 for i in found)
        again = build_manifest(load_settings(app_public_url="https://other.example.com"), header)
        assert found == [hook["identifier"] for hook in again["webhooks"]]  # stable across installs
    else:
        assert found == [None] * len(found)


def test_each_line_gets_only_the_extensions_it_accepts(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a widget and a popup declared, 3.20/3.21 get the popup alone; 3.22 and newer get both."""
    from saleor_coinpayments.saleor import manifest as manifest_module

    widget = manifest_module.Extension("card", "Crypto payment", "ORDER_DETAILS_WIDGETS", "WIDGET", "/ext/card")
    popup = manifest_module.Extension(
        "send", "Send a crypto invoice", "ORDER_DETAILS_MORE_ACTIONS", "POPUP", "/ext/send"
    )
    monkeypatch.setattr(manifest_module, "EXTENSIONS", (widget, popup))
    settings = load_settings(app_public_url="https://pay.example.com")

    def mounts(header: str | None) -> list[str]:
        return [e["mount"] for e in build_manifest(settings, header)["extensions"]]

    assert mounts("3.20") == mounts("3.21") == ["ORDER_DETAILS_MORE_ACTIONS"]
    assert mounts("3.22") == mounts("3.23") == mounts(None) == ["ORDER_DETAILS_WIDGETS", "ORDER_DETAILS_MORE_ACTIONS"]
    newest = build_manifest(settings)["extensions"]
    assert [e["identifier"] for e in newest] == ["card", "send"]
    assert newest[0]["url"] == "https://pay.example.com/ext/card"
    assert "identifier" not in build_manifest(settings, "3.22")["extensions"][0]


def test_every_extension_is_a_page_the_app_serves() -> None:
    """The manifest (an adapter) names the pages by path; the routes that serve them live above it."""
    from saleor_coinpayments.app import ROUTERS
    from saleor_coinpayments.saleor.manifest import EXTENSIONS

    served = {getattr(route, "path", None) for router in ROUTERS for route in router.routes}
    assert {extension.path for extension in EXTENSIONS} <= served
    assert len({extension.identifier for extension in EXTENSIONS}) == len(EXTENSIONS)
    mounts = {(extension.mount, extension.target) for extension in EXTENSIONS}
    assert ("ORDER_DETAILS_WIDGETS", "WIDGET") in mounts
    assert ("ORDER_DETAILS_MORE_ACTIONS", "POPUP") in mounts

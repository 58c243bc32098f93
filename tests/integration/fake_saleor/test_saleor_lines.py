"""The fake Saleor behaving like the oldest supported line (3.20.119) instead of the newest."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI, Request

from saleor_coinpayments.money import parse_json
from saleor_coinpayments.saleor.schema import load_document
from tests.fakes.saleor import SALEOR_3_20, SALEOR_VERSION, VERSION_ENV, FakeSaleor, InstallError
from tests.helpers.servers import serve_asgi
from tests.integration.fake_saleor.probe_app import ProbeState, Reply

ACTION_REQUIRED = {"result": "CHARGE_ACTION_REQUIRED", "pspReference": "INV-1", "amount": "20.00"}
DISCOUNTS_NEWER_FORM = "query($id: ID!) { order(id: $id) { discounts { total { amount currency } } } }"
DISCOUNTS_BOTH_FORMS = "query($id: ID!) { order(id: $id) { discounts { amount { amount currency } } } }"


@pytest.fixture
def saleor_3_20() -> Iterator[FakeSaleor]:
    with FakeSaleor.serve(version=SALEOR_3_20) as saleor:
        yield saleor


def test_the_environment_chooses_the_default_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(VERSION_ENV, raising=False)
    assert FakeSaleor().version == SALEOR_VERSION
    monkeypatch.setenv(VERSION_ENV, SALEOR_3_20)
    fake = FakeSaleor()
    assert (fake.version, fake.schema_version) == (SALEOR_3_20, "3.20")
    assert "total" not in fake.schema.type_map["OrderDiscount"].fields  # type: ignore[attr-defined]
    assert FakeSaleor(version=SALEOR_VERSION).version == SALEOR_VERSION


def test_3_20_installs_and_says_3_20_where_saleor_does(saleor_3_20: FakeSaleor, probe: tuple[ProbeState, str]) -> None:
    state, base_url = probe
    app = saleor_3_20.install_app(f"{base_url}/api/manifest")
    assert state.register_headers["saleor-schema-version"] == "3.20"
    assert state.register_headers["user-agent"] == "Saleor/3.20"

    checkout = saleor_3_20.create_checkout()
    state.script("transaction_initialize_session", Reply(ACTION_REQUIRED))
    result = saleor_3_20.transaction_initialize(checkout.id, gateway=app.identifier)
    assert result.event is not None
    assert result.event.type == "CHARGE_ACTION_REQUIRED"
    received = state.of("transaction_initialize_session")[-1]
    assert received.verified
    assert received.headers["user-agent"] == "Saleor/3.20"
    assert "saleor-schema-version" not in received.headers
    assert parse_json(received.body)["version"] == SALEOR_3_20


def test_3_20_executes_against_the_3_20_schema(saleor_3_20: FakeSaleor) -> None:
    """`OrderDiscount.total` came in 3.21: the 3.20 fake refuses it as Saleor 3.20 does; `amount` works."""
    order = saleor_3_20.create_order(discount="4.50")
    status, body = saleor_3_20.execute_graphql(DISCOUNTS_NEWER_FORM, {"id": order.id})
    assert status == 400
    assert "Cannot query field 'total' on type 'OrderDiscount'" in body["errors"][0]["message"]
    answer = saleor_3_20.graphql(DISCOUNTS_BOTH_FORMS, {"id": order.id})
    assert answer["data"]["order"]["discounts"] == [{"amount": {"amount": Decimal("4.5"), "currency": "USD"}}]


def test_the_newest_line_gives_the_same_discount_through_amount() -> None:
    newest = FakeSaleor(version=SALEOR_VERSION)
    order = newest.create_order(discount="4.50")
    answer = newest.graphql(DISCOUNTS_BOTH_FORMS, {"id": order.id})
    assert answer["data"]["order"]["discounts"] == [{"amount": {"amount": Decimal("4.5"), "currency": "USD"}}]
    assert "errors" not in answer
    assert load_document("order_for_invoice").count("discounts { id type name valueType value amount {") == 1


def _manifest_app(required: str) -> FastAPI:
    api = FastAPI()

    @api.get("/manifest")
    async def manifest() -> dict[str, Any]:
        return {
            "id": "ranged.app",
            "version": "1",
            "name": "Ranged",
            "permissions": ["HANDLE_PAYMENTS"],
            "requiredSaleorVersion": required,
            "webhooks": [],
        }

    return api


@pytest.mark.parametrize(
    ("version", "required", "installs"),
    [
        (SALEOR_3_20, ">=3.21 <4", False),
        (SALEOR_3_20, ">=3.20 <4", True),
        (SALEOR_VERSION, ">=3.20 <4", True),
        (SALEOR_VERSION, "<3.21", False),
    ],
)
def test_required_saleor_version_is_checked_at_install(version: str, required: str, installs: bool) -> None:
    with FakeSaleor.serve(version=version) as saleor, serve_asgi(_manifest_app(required)) as base:
        if installs:
            assert saleor.install_app(f"{base}/manifest").identifier == "ranged.app"
        else:
            with pytest.raises(InstallError, match=f"Saleor version {version} is not supported by the app"):
                saleor.install_app(f"{base}/manifest")
            assert saleor.model.apps == []


def _extension_app(extensions: list[dict[str, Any]], webhook_identifiers: list[str] | None = None) -> FastAPI:
    api = FastAPI()

    @api.get("/manifest")
    async def manifest() -> dict[str, Any]:
        return {
            "id": "extended.app",
            "version": "1",
            "name": "Extended",
            "appUrl": "https://app.example.com/dashboard",
            "permissions": ["HANDLE_PAYMENTS"],
            "extensions": extensions,
            "webhooks": [
                {
                    "identifier": identifier,
                    "name": f"hook {n}",
                    "targetUrl": "https://app.example.com/hook",
                    "query": "subscription { event { ... on OrderCreated { version } } }",
                    "asyncEvents": ["ORDER_CREATED"],
                }
                for n, identifier in enumerate(webhook_identifiers or [])
            ],
        }

    return api


WIDGET = {"label": "Crypto", "mount": "ORDER_DETAILS_WIDGETS", "target": "WIDGET", "url": "/widget"}
POPUP = {"label": "Send a crypto invoice", "mount": "ORDER_DETAILS_MORE_ACTIONS", "target": "POPUP", "url": "/p"}


@pytest.mark.parametrize(
    ("version", "extension", "refusal"),
    [
        (SALEOR_3_20, WIDGET, "^Incorrect value for field: target; Incorrect value for field: mount$"),
        (SALEOR_3_20, {**WIDGET, "target": "POPUP"}, "^Incorrect value for field: mount$"),
        (SALEOR_3_20, {**POPUP, "target": "WIDGET"}, "Incorrect value for field: target"),
        (SALEOR_3_20, {**POPUP, "target": "NEW_TAB"}, "Incorrect value for field: target"),
        (SALEOR_3_20, {**POPUP, "permissions": ["MANAGE_ORDERS"]}, "Extension permission"),
        (SALEOR_3_20, POPUP, None),
        (SALEOR_3_20, {k: v for k, v in POPUP.items() if k != "target"}, None),
        (SALEOR_VERSION, WIDGET, None),
        (SALEOR_VERSION, {**POPUP, "url": ""}, "extension field 'url' is required"),
    ],
)
def test_each_line_refuses_the_extensions_its_core_refuses(
    version: str, extension: dict[str, Any], refusal: str | None
) -> None:
    """3.20 validates mount and target against fixed lists (saleor/app/types.py); 3.23 takes strings."""
    with FakeSaleor.serve(version=version) as saleor, serve_asgi(_extension_app([extension])) as base:
        if refusal is None:
            assert saleor.install_app(f"{base}/manifest").manifest["extensions"] == [extension]
        else:
            with pytest.raises(InstallError, match=refusal):
                saleor.install_app(f"{base}/manifest")
            assert saleor.model.apps == []


def test_the_newest_line_refuses_duplicate_webhook_identifiers_and_3_20_ignores_them() -> None:
    with serve_asgi(_extension_app([], ["same", " same "])) as base:
        with FakeSaleor.serve(version=SALEOR_VERSION) as newest:
            with pytest.raises(InstallError, match="Duplicate webhook identifier: same"):
                newest.install_app(f"{base}/manifest")
        with FakeSaleor.serve(version=SALEOR_3_20) as oldest:
            assert oldest.install_app(f"{base}/manifest").identifier == "extended.app"
    with serve_asgi(_extension_app([], ["one", "", "  ", "two"])) as base, FakeSaleor.serve() as newest:
        assert newest.install_app(f"{base}/manifest").identifier == "extended.app"


def test_the_manifest_request_names_the_line(saleor_3_20: FakeSaleor) -> None:
    seen: list[str | None] = []
    api = FastAPI()

    @api.get("/manifest")
    async def manifest(request: Request) -> dict[str, Any]:
        seen.append(request.headers.get("saleor-schema-version"))
        return {"id": "named.app", "version": "1", "name": "Named"}

    with serve_asgi(api) as base, FakeSaleor.serve(version=SALEOR_VERSION) as newest:
        saleor_3_20.install_app(f"{base}/manifest")
        newest.install_app(f"{base}/manifest")
    assert seen == ["3.20", "3.23"]

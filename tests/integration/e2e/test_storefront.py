"""What a storefront sees: gateway initialize, white-label pay data, refusals it can show."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.integration.e2e.world import GATEWAY, World, running_world


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    with running_world(database_url, tmp_path) as running:
        yield running


def test_gateway_initialize_tells_the_storefront_what_it_can_offer(world: World) -> None:
    checkout = world.checkout()
    [config] = world.saleor.payment_gateway_initialize(checkout.id, gateways=[GATEWAY])
    assert config.errors == []
    assert config.data["configured"] is True
    assert config.data["testMode"] is True
    symbols = {coin["symbol"] for coin in config.data["coins"]}
    assert {"BTC", "LTCT"} <= symbols
    assert all("USD" != coin["symbol"] for coin in config.data["coins"])


def test_an_unconfigured_channel_is_a_message_not_an_error(world: World) -> None:
    world.saleor.model.add_channel("eu-channel", "EUR")
    checkout = world.checkout(channel="eu-channel")
    [config] = world.saleor.payment_gateway_initialize(checkout.id, gateways=[GATEWAY])
    assert config.errors == []
    assert config.data["configured"] is False
    assert "not set up" in config.data["message"]
    started = world.initialize(checkout.id)
    assert started.event.type == "CHARGE_FAILURE"
    assert started.data["error"]["code"] == "NOT_CONFIGURED"


def test_white_label_data_has_address_amount_uri_and_qr(world: World) -> None:
    checkout = world.checkout("20.00")
    started = world.initialize(checkout.id, {"paymentCurrency": "LTCT"})
    assert started.event.type == "CHARGE_ACTION_REQUIRED", started.event.message
    payment = started.data["payment"]
    assert payment["currency"]["symbol"] == "LTCT"
    assert payment["address"]
    assert Decimal(payment["amount"]) > 0
    assert payment["address"] in payment["uri"]
    assert payment["qrCode"].startswith("data:image/svg+xml")
    assert "<svg" in unquote(payment["qrCode"])
    invoice = world.sim.invoice(started.event.psp_reference)
    wallet = invoice["payment"]["wallets"][0]
    assert wallet["address"] == payment["address"]


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ({"returnUrl": "https://shop.example.com"}, "INVALID_DATA"),
        ({"successUrl": "not a url"}, "INVALID_DATA"),
        ({"paymentCurrency": "DOGE"}, "INVALID_DATA"),
    ],
)
def test_storefront_mistakes_are_explained_and_make_no_invoice(world: World, data: object, code: str) -> None:
    checkout = world.checkout()
    started = world.initialize(checkout.id, data)
    assert started.event.type == "CHARGE_FAILURE"
    assert started.data["error"]["code"] == code
    assert world.sim.list_invoices() == []


def test_a_currency_coinpayments_does_not_price_is_refused(world: World) -> None:
    world.saleor.model.add_channel("xts-channel", "XTS")
    from tests.integration.e2e.world import configure

    configure(world.app.settings.database_url, world.saleor.api_url, world.sim, channel="xts-channel")
    checkout = world.checkout(channel="xts-channel")
    started = world.initialize(checkout.id)
    assert started.event.type == "CHARGE_FAILURE"
    assert started.data["error"]["code"] == "UNSUPPORTED_CURRENCY"
    assert world.sim.list_invoices() == []


def test_coinpayments_down_is_a_failure_inside_the_budget(world: World) -> None:
    world.sim.faults(failNext=100, failStatus=503, failPath="/merchant/invoices")
    checkout = world.checkout()
    started = world.initialize(checkout.id)
    # The fake Saleor gives up on a synchronous webhook after 18 s (Saleor itself after 20 s) and then
    # has no answer to read: the app's own answer below shows it came inside that budget.
    assert world.saleor.webhook_timeout <= 18
    assert started.event.type == "CHARGE_FAILURE"
    assert started.data["error"]["code"] == "PROVIDER_UNAVAILABLE"

"""Issue #9 "Done when": examples/storefront in headless Chromium against the fake Saleor, to an order.

The example is served as static files from its own loopback origin and talks to the fake Saleor's
public GraphQL API across origins (CORS), exactly as a storefront would: checkout, cheapest
shipping, gateway and coins, transactionInitialize, the app's pay page (`checkoutPage: app`),
paying through the simulator, back to the storefront, transactionProcess, checkoutComplete.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from tests.browser.chromium import chromium, screenshot, script_errors
from tests.fakes.saleor_storefront import SHIPPING
from tests.helpers.servers import serve_asgi
from tests.integration.e2e.world import World

pytestmark = pytest.mark.browser

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "storefront"


@pytest.fixture
def storefront(world: World) -> Iterator[str]:
    static = Starlette(routes=[Mount("/", app=StaticFiles(directory=EXAMPLE, html=True))])
    with serve_asgi(static) as base_url:
        yield base_url


@pytest.fixture
def browser(world: World, storefront: str) -> Iterator[Any]:
    with chromium() as started:
        yield started


def test_a_buyer_orders_through_the_storefront_example(world: World, storefront: str, browser: Any) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 390, "height": 844})
    errors = script_errors(page)
    page.goto(f"{storefront}/index.html?{urlencode({'api': world.saleor.api_url, 'channel': 'default-channel'})}")
    expect(page.locator("#product")).to_have_text("Buying: T-shirt (L)")
    page.locator("#start").click()

    # The cheapest shipping is chosen; the gateway and its coins are shown.
    cheapest = min(SHIPPING, key=lambda option: option.price)
    expect(page.locator("#log")).to_contain_text(f"Shipping: {cheapest.name}")
    expect(page.locator("#total")).to_have_text(f"Total: ${20 + cheapest.price:.2f}")
    expect(page.locator("#coins")).to_contain_text("Bitcoin (BTC)")
    screenshot(page, "storefront-1-gateway")

    # transactionInitialize, then the app's pay page.
    page.locator("#pay").click()
    page.wait_for_url(re.compile(re.escape(world.app.base_url) + r"/pay/"))
    expect(page.locator("#total")).to_have_text("$24.50")
    page.locator(".coin", has_text="LTCT").click()
    expect(page.locator("#pay-address")).not_to_be_empty()
    [checkout] = world.saleor.model.checkouts.values()
    [transaction] = checkout.transactions
    invoice_id = next(e.psp_reference for e in transaction.events if e.psp_reference)
    world.sim.pay(invoice_id, amount="full", confirmations=2, currency="1002")
    expect(page.locator("#state")).to_have_text("paid", timeout=20_000)
    screenshot(page, "storefront-2-pay-page-paid")

    # Back to the shop: transactionProcess, checkoutComplete, the order number.
    page.locator("#back").click()
    expect(page.locator("#result-title")).to_have_text(re.compile(r"Thank you! Order #\d+"), timeout=20_000)
    number = page.locator("#result-title").inner_text().rsplit("#", 1)[1]
    [order] = [o for o in world.saleor.model.orders.values() if o.number == number]
    assert order.user_email == "buyer@example.com"
    assert order.total.gross.amount == checkout.total == Decimal("24.50")
    screenshot(page, "storefront-3-order")
    assert errors == []


def test_saleor_errors_are_shown_as_text(world: World, storefront: str, browser: Any) -> None:
    from playwright.sync_api import expect

    page = browser.new_page()
    page.goto(f"{storefront}/index.html?{urlencode({'api': world.saleor.api_url, 'channel': 'no-such-channel'})}")
    expect(page.locator("#error")).to_contain_text("has no product")
    page.goto(f"{storefront}/index.html?{urlencode({'api': world.saleor.api_url, 'channel': 'default-channel'})}")
    page.locator("input[name=email]").fill("not-an-email")
    page.locator("input[name=email]").evaluate("e => e.type = 'text'")
    page.locator("#start").click()
    expect(page.locator("#error")).to_contain_text("email: Enter a valid email address.")
    page.goto(f"{storefront}/index.html")
    expect(page.locator("#error")).to_contain_text("Open this page with ?api=")
    screenshot(page, "storefront-4-error")


def test_a_buyer_back_before_paying_is_told_honestly(world: World, storefront: str, browser: Any) -> None:
    from playwright.sync_api import expect

    page = browser.new_page()
    page.goto(f"{storefront}/index.html?{urlencode({'api': world.saleor.api_url, 'channel': 'default-channel'})}")
    page.locator("#start").click()
    expect(page.locator("#pay")).to_be_visible()
    page.locator("#pay").click()
    page.wait_for_url(re.compile(re.escape(world.app.base_url) + r"/pay/"))
    page.go_back()
    page.goto(page.url + "&return=1")
    expect(page.locator("#result-title")).to_have_text("Still waiting for your payment", timeout=20_000)
    expect(page.locator("#again")).to_be_visible()


def test_the_storefront_example_passes_axe(world: World, storefront: str, browser: Any) -> None:
    """Issue #28: axe-core finds no violation on the example's states, at 390 px and 1280 px, light and dark."""
    from playwright.sync_api import expect

    from tests.browser.axe_core import axe_source, violations_everywhere

    axe = axe_source()
    found: list[str] = []
    page = browser.new_context(bypass_csp=True, viewport={"width": 390, "height": 844}).new_page()
    query = urlencode({"api": world.saleor.api_url, "channel": "default-channel"})
    page.goto(f"{storefront}/index.html?{query}")
    expect(page.locator("#start")).to_be_visible()
    found += violations_everywhere(page, axe, "details")

    page.locator("#start").click()
    expect(page.locator("#pay")).to_be_visible()
    found += violations_everywhere(page, axe, "payment")

    page.locator("#pay").click()
    page.wait_for_url(re.compile(re.escape(world.app.base_url) + r"/pay/"))
    page.locator(".coin", has_text="LTCT").click()
    expect(page.locator("#pay-address")).not_to_be_empty()
    [checkout] = world.saleor.model.checkouts.values()
    invoice_id = next(e.psp_reference for e in checkout.transactions[0].events if e.psp_reference)
    world.sim.pay(invoice_id, amount="full", confirmations=2, currency="1002")
    expect(page.locator("#state")).to_have_text("paid", timeout=20_000)
    page.locator("#back").click()
    expect(page.locator("#result-title")).to_have_text(re.compile(r"Thank you! Order #\d+"), timeout=20_000)
    found += violations_everywhere(page, axe, "order")

    page.goto(f"{storefront}/index.html")
    expect(page.locator("#error")).to_contain_text("Open this page with ?api=")
    found += violations_everywhere(page, axe, "error")
    assert found == []


def test_a_buyer_in_german_stays_in_german_to_the_pay_page(world: World, storefront: str, browser: Any) -> None:
    """Issue #28: the storefront speaks the buyer's language and creates the checkout in it
    (`languageCode: DE`); the app's pay page then opens in German with no `?lang` in its link."""
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 390, "height": 844}, locale="de-DE")
    errors = script_errors(page)
    page.goto(f"{storefront}/index.html?{urlencode({'api': world.saleor.api_url, 'channel': 'default-channel'})}")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.locator("#product")).to_have_text("Sie kaufen: T-shirt (L)")
    expect(page.locator("#start")).to_have_text("Weiter zur Zahlung")
    page.locator("#start").click()
    expect(page.locator("#total")).to_have_text(re.compile(r"Summe: 24,50\s\$"))
    [checkout] = world.saleor.model.checkouts.values()
    assert checkout.language_code == "DE"
    page.locator("#pay").click()
    page.wait_for_url(re.compile(re.escape(world.app.base_url) + r"/pay/[A-Za-z0-9_-]{43}$"))
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.locator("#state")).to_have_text("Warten auf Zahlung")
    screenshot(page, "storefront-5-pay-page-de")

    arabic = {"api": world.saleor.api_url, "channel": "default-channel", "lang": "ar"}
    page.goto(f"{storefront}/index.html?{urlencode(arabic)}")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("#start")).to_have_text("المتابعة إلى الدفع")
    assert errors == []

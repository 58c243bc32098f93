"""Issue #9 "Done when": the app's own pay page in headless Chromium, against the simulator.

A buyer opens `/pay/<token>` (the `externalUrl` of a `checkoutPage: app` configuration), picks a
coin, sees the address and the QR, switches coins, pays through the simulator's control API, and
watches "payment seen", then "paid", then the link back to the shop. Expiry and bad tokens too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import httpx
import pytest

from tests.browser.chromium import chromium, screenshot, script_errors
from tests.integration.e2e.world import World

pytestmark = pytest.mark.browser

SUCCESS_URL = "https://shop.example.com/thanks"
CANCEL_URL = "https://shop.example.com/cart"
T = TypeVar("T")
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def browser(world: World) -> Iterator[Any]:
    with chromium() as started:
        yield started


def _pay_link(world: World, total: str = "20.00") -> tuple[str, str]:
    checkout = world.checkout(total)
    started = world.initialize(checkout.id, {"successUrl": SUCCESS_URL, "cancelUrl": CANCEL_URL})
    assert started.event.type == "CHARGE_ACTION_REQUIRED", started.event.message
    link = started.event.external_url
    assert link == started.data["checkoutUrl"]
    assert re.fullmatch(re.escape(world.app.base_url) + r"/pay/[A-Za-z0-9_-]{43}", link), link
    return link, started.event.psp_reference


def _in_thread(work: Callable[[], T]) -> T:
    """Helpers that run their own event loop cannot run in Playwright's thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(work).result()


CONTRAST = """(selector) => {
  const rgb = (text) => text.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = (c) => {
    const [r, g, b] = c.map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  let element = document.querySelector(selector);
  const color = rgb(getComputedStyle(element).color);
  let background = "rgba(0, 0, 0, 0)";
  while (element && /rgba\\(0, 0, 0, 0\\)|transparent/.test(background)) {
    background = getComputedStyle(element).backgroundColor;
    element = element.parentElement;
  }
  const [a, b] = [lum(color), lum(rgb(background))].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}"""


def _contrast(page: Any, selector: str) -> float:
    """WCAG contrast ratio of an element's text against the first opaque background behind it."""
    return float(page.evaluate(CONTRAST, selector))


def test_a_buyer_pays_on_the_pay_page(world: World, browser: Any) -> None:
    from playwright.sync_api import expect

    link, invoice_id = _pay_link(world)
    page = browser.new_page(viewport=PHONE)
    errors = script_errors(page)
    page.goto(link)
    expect(page.locator("#shop")).to_have_text("Default Channel")  # Saleor's name, not the slug
    expect(page.locator("#total")).to_have_text("$20.00")
    expect(page.locator("#state")).to_have_text("waiting for payment")
    ltct = page.locator(".coin", has_text="LTCT")
    expect(ltct).to_be_visible()
    expect(ltct).to_contain_text(re.compile(r"\d+\.\d+ LTCT"))
    screenshot(page, "pay-1-coins")

    # Choose a coin from the keyboard: the address, the exact amount and the QR appear.
    ltct.focus()
    page.keyboard.press("Enter")
    sim_wallets = lambda: {w["currency"]: w for w in world.sim.invoice(invoice_id)["payment"]["wallets"]}  # noqa: E731
    expect(page.locator("#pay-address")).not_to_be_empty()
    first_address = page.locator("#pay-address").inner_text()
    assert first_address == sim_wallets()["1002"]["address"]
    assert page.locator("#pay-amount").inner_text() == sim_wallets()["1002"]["expected"]
    assert page.locator("#qr").get_attribute("src").startswith("data:image/svg+xml")
    expect(page.locator("#qr")).to_be_visible()
    expect(page.locator("#countdown")).to_contain_text("Time left to pay:")
    expect(page.locator("#copy-address")).to_be_focused()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scroll
    for selector in ("#state", "#pay-address", ".coin", "#countdown", "#progress", "#shop"):
        assert _contrast(page, selector) >= 4.5, selector
    screenshot(page, "pay-2-ltct")

    # Switch coins: another address on the same invoice.
    page.locator(".coin", has_text="BTC").first.click()
    expect(page.locator("#pay-address")).not_to_have_text(first_address)
    expect(page.locator("#chosen-title")).to_have_text("Send exactly (BTC)")
    assert page.locator("#pay-address").inner_text() == sim_wallets()["1"]["address"]
    assert _in_thread(world.sim.list_invoices) == [invoice_id]
    screenshot(page, "pay-3-btc")

    # The buyer pays; the chain confirms.
    world.sim.pay(invoice_id, amount="full", confirmations=1, currency="1")
    expect(page.locator("#state")).to_have_text("payment seen, 1 of 2 confirmations", timeout=20_000)
    screenshot(page, "pay-4-seen")
    world.sim.confirm(invoice_id, blocks=1)
    expect(page.locator("#state")).to_have_text("paid", timeout=20_000)
    expect(page.locator("#back")).to_have_attribute("href", SUCCESS_URL)
    expect(page.locator("#chosen")).to_be_hidden()
    screenshot(page, "pay-5-paid")
    assert errors == []


def test_a_page_open_at_expiry_says_so_and_links_to_the_cart(world: World, browser: Any) -> None:
    from playwright.sync_api import expect

    link, invoice_id = _pay_link(world)
    page = browser.new_page(viewport=PHONE)
    errors = script_errors(page)
    page.goto(link)
    page.locator(".coin", has_text="LTCT").click()
    expect(page.locator("#pay-address")).not_to_be_empty()
    world.sim.advance(3700)
    expect(page.locator("#state")).to_have_text("expired, nothing was taken", timeout=20_000)
    expect(page.locator("#back")).to_have_attribute("href", CANCEL_URL)
    expect(page.locator("#coins")).to_be_hidden()
    expect(page.locator("#chosen")).to_be_hidden()
    screenshot(page, "pay-6-expired")
    assert errors == []


def test_a_page_open_when_the_invoice_is_cancelled_says_so(world: World, browser: Any) -> None:
    from playwright.sync_api import expect

    link, invoice_id = _pay_link(world)
    page = browser.new_page(viewport=PHONE)
    page.goto(link)
    expect(page.locator("#state")).to_have_text("waiting for payment")
    world.sim.control("POST", f"/invoices/{invoice_id}/cancel")
    expect(page.locator("#state")).to_have_text("cancelled, nothing was taken", timeout=20_000)
    expect(page.locator("#back")).to_have_attribute("href", CANCEL_URL)


def test_a_bad_token_is_a_plain_404(world: World, browser: Any) -> None:
    link, _ = _pay_link(world)
    page = browser.new_page()
    real = link.rsplit("/", 1)[1]
    altered = real[:-1] + ("A" if real[-1] != "A" else "B")
    for token in ("nope", "A" * 43, altered, real + "A", real[:-1] + "="):
        response = page.goto(f"{world.app.base_url}/pay/{token}")
        assert response is not None
        assert response.status == 404, token
        assert page.locator("body").inner_text().strip() == "Not found."
    screenshot(page, "pay-7-not-found")
    for token in ("A" * 43, "nope"):
        answer = httpx.get(f"{world.app.base_url}/pay/{token}/status")
        assert answer.status_code == 404
        assert "payment" not in answer.text
        assert "invoice" not in answer.text.lower()


def test_the_page_waits_on_the_app_instead_of_polling(world: World, browser: Any) -> None:
    from playwright.sync_api import expect

    link, invoice_id = _pay_link(world)
    page = browser.new_page(viewport=PHONE)
    errors = script_errors(page)
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.goto(link)
    page.locator(".coin", has_text="LTCT").click()
    expect(page.locator("#pay-address")).not_to_be_empty()
    world.sim.pay(invoice_id, amount="full", confirmations=0, currency="1002")
    expect(page.locator("#state")).to_have_text(re.compile("payment seen|paid"), timeout=20_000)
    followed = [url for url in asked if url.startswith(link + "/")]
    assert any("/wait?version=" in url for url in followed)
    assert [url for url in followed if "/status?" in url] == [f"{link}/status?lang=en"], "one read, then waits"
    assert errors == []


def test_without_the_wait_the_page_polls_on_its_timer(world: World, browser: Any) -> None:
    from playwright.sync_api import expect

    link, invoice_id = _pay_link(world)
    page = browser.new_page(viewport=PHONE)
    errors = script_errors(page)
    refused: list[str] = []

    def unavailable(route: Any) -> None:  # as behind a proxy that cuts long requests
        refused.append(route.request.url)
        route.fulfill(status=502, body="Bad gateway")

    page.route(re.compile(r".*/wait\?version=.*"), unavailable)
    page.goto(link)
    page.locator(".coin", has_text="LTCT").click()
    expect(page.locator("#pay-address")).not_to_be_empty()
    world.sim.pay(invoice_id, amount="full", confirmations=0, currency="1002")
    expect(page.locator("#state")).to_have_text(re.compile("payment seen|paid"), timeout=20_000)
    assert refused, "the page tried to wait first"
    assert len(refused) == 1, "after a failed wait it polls on its timer, and waits again only later"
    assert [error for error in errors if "502" not in error] == [], "only the refused wait's own log line"

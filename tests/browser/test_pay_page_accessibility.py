"""Issue #28 "Done when": axe-core finds no violation on any state of the pay page (waiting, coin
chosen, seen, paid with its receipt, expired, cancelled) nor on the receipt's own page, at 390 px
and 1280 px, in light and dark; state changes are announced, motion follows the buyer's wish.

axe is injected into the page, so these pages run without their CSP (`bypass_csp`); the other
browser tests keep it and fail on any violation of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.axe_core import axe_source, violations_everywhere
from tests.browser.chromium import chromium
from tests.browser.test_pay_page import _pay_link
from tests.integration.e2e.world import World

pytestmark = pytest.mark.browser


@pytest.fixture(scope="session")
def axe() -> str:
    return axe_source()


@pytest.fixture
def browser(world: World) -> Iterator[Any]:
    with chromium() as started:
        yield started


def _page(browser: Any, **options: Any) -> Any:
    return browser.new_context(bypass_csp=True, viewport={"width": 390, "height": 844}, **options).new_page()


def test_every_state_of_the_pay_page_passes_axe(world: World, browser: Any, axe: str) -> None:
    from playwright.sync_api import expect

    found: list[str] = []
    link, invoice_id = _pay_link(world)
    page = _page(browser)
    page.goto(link)
    expect(page.locator("#state")).to_have_text("waiting for payment")
    expect(page.locator(".coin").first).to_be_visible()
    found += violations_everywhere(page, axe, "waiting")

    page.locator(".coin", has_text="LTCT").click()
    expect(page.locator("#pay-address")).not_to_be_empty()
    found += violations_everywhere(page, axe, "coin chosen")

    world.sim.pay(invoice_id, amount="full", confirmations=1, currency="1002")
    expect(page.locator("#state")).to_have_text("payment seen, 1 of 2 confirmations", timeout=20_000)
    found += violations_everywhere(page, axe, "seen")

    world.sim.confirm(invoice_id, blocks=1)
    expect(page.locator("#state")).to_have_text("paid", timeout=20_000)
    expect(page.locator("#receipt")).to_be_visible()
    found += violations_everywhere(page, axe, "paid")

    page.goto(f"{link}/receipt")
    expect(page.locator("#receipt-title")).to_have_text("Receipt", use_inner_text=True)
    found += violations_everywhere(page, axe, "the receipt's page")

    expired_link, expired_invoice = _pay_link(world)
    page.goto(expired_link)
    page.locator(".coin", has_text="LTCT").click()
    expect(page.locator("#pay-address")).not_to_be_empty()
    world.sim.advance(3700)
    expect(page.locator("#state")).to_have_text("expired, nothing was taken", timeout=20_000)
    found += violations_everywhere(page, axe, "expired")

    cancelled_link, cancelled_invoice = _pay_link(world)
    page.goto(cancelled_link)
    expect(page.locator("#state")).to_have_text("waiting for payment")
    world.sim.control("POST", f"/invoices/{cancelled_invoice}/cancel")
    expect(page.locator("#state")).to_have_text("cancelled, nothing was taken", timeout=20_000)
    found += violations_everywhere(page, axe, "cancelled")
    assert found == []


def test_state_changes_are_announced_and_motion_follows_the_buyer(world: World, browser: Any) -> None:
    from playwright.sync_api import expect

    link, invoice_id = _pay_link(world)
    transition = "(selector) => getComputedStyle(document.querySelector(selector)).transitionDuration"
    calm = _page(browser, reduced_motion="reduce")
    calm.goto(link)
    expect(calm.locator("#state")).to_have_text("waiting for payment")
    assert calm.locator("#state").get_attribute("aria-live") == "polite"
    assert calm.locator("#state").get_attribute("role") == "status"
    assert calm.locator("#error").get_attribute("role") == "alert"
    assert set(calm.evaluate(transition, "#state").split(", ")) == {"0s"}
    moving = _page(browser, reduced_motion="no-preference")
    moving.goto(link)
    expect(moving.locator("#state")).to_have_text("waiting for payment")
    assert set(moving.evaluate(transition, "#state").split(", ")) != {"0s"}

    # Dark styles follow the system's scheme.
    background = "() => getComputedStyle(document.body).backgroundColor"
    light = moving.evaluate(background)
    moving.emulate_media(color_scheme="dark")
    assert moving.evaluate(background) != light
    assert moving.evaluate(background) == "rgb(13, 17, 23)"

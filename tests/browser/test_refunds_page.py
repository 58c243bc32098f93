"""Issue #15 "Done when": the Refunds section in headless Chromium, framed like the Dashboard frames it.

A buyer pays through the simulator, staff ask two refunds in the fake Saleor; the admin completes
one and declines the other on the page; Saleor gets REFUND_SUCCESS and REFUND_FAILURE. The page
follows the Dashboard's theme (query parameter, then the app bridge's theme event), and a deep path
under the page's URL serves the page. Screenshots are kept in artifacts/screenshots/ (git-ignored; see
tests/browser/chromium.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.chromium import SCREENSHOT_DIR
from tests.browser.shop import ADMIN, app_events, configured_app, paid_checkout
from tests.browser.test_dashboard_page import (  # noqa: F401  (fixtures)
    DashboardHost,
    browser,
    host,
    simulator,
)
from tests.fakes.saleor_model import User
from tests.helpers.app_server import RunningApp, app_in_thread
from tests.helpers.waiting import eventually
from tests.integration.dashboard.conftest import Simulator

pytestmark = pytest.mark.browser

ARTIFACTS = SCREENSHOT_DIR


@pytest.fixture
def app(database_url: str, tmp_path: Path, simulator: Simulator) -> Iterator[RunningApp]:  # noqa: F811
    """With the outbox worker: the reports must reach the fake Saleor."""
    with app_in_thread(database_url, tmp_path, run_workers=True, coinpayments_api_url=simulator.base_url) as running:
        yield running


def test_admin_settles_refunds_on_the_page_in_both_themes(
    browser: Any,  # noqa: F811
    host: DashboardHost,  # noqa: F811
    app: RunningApp,
    simulator: Simulator,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    saleor_app, token = configured_app(host.saleor, app)

    # A buyer pays 20.00; staff ask two refunds in Saleor.
    _, transaction_id, invoice_id = paid_checkout(host.saleor, saleor_app, simulator)
    with host.saleor.lock:
        staff = User(host.saleor.model.next_pk(), "manager@shop.example")
    first = host.saleor.request_action(transaction_id, "REFUND", Decimal("5.00"), reason="Returned", staff=staff)
    second = host.saleor.request_action(transaction_id, "REFUND", Decimal("3.00"), reason="Damaged", staff=staff)
    assert first.event is None
    assert second.event is None

    # The page, in the Dashboard's light theme.
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    script_errors: list[str] = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    page.goto(host.url_for(saleor_app, token))
    frame = page.frame_locator("#app")
    expect(frame.locator("#whoami")).to_have_text(f"Signed in as {ADMIN}")
    rows = frame.locator("#refunds-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("requested")
    expect(frame.locator("#refunds-table")).to_contain_text("manager@shop.example")
    expect(frame.locator("#refunds-table")).to_contain_text("buyer@example.com")
    assert frame.locator("html").get_attribute("data-theme") == "light"
    light_bg = frame.locator("body").evaluate("b => getComputedStyle(b).backgroundColor")
    page.screenshot(path=str(ARTIFACTS / "refunds-light.png"), full_page=True)

    # Complete the 5.00 refund: a missing transaction id is refused next to its field first.
    five = frame.locator("#refunds-table tbody tr", has_text="5.00 USD")
    five.get_by_role("button", name="Settle").click()
    form = frame.locator("#settle-form")
    form.get_by_role("button", name="Complete refund").click()
    expect(form.locator('[data-error-for="tx"]')).to_contain_text("transaction id")
    form.locator('input[name="tx"]').fill("0xabc123")
    form.locator('input[name="coin"]').fill("ltct")
    form.locator('input[name="amount"]').fill("0.025")
    page.screenshot(path=str(ARTIFACTS / "refunds-settle-form.png"), full_page=True)
    form.get_by_role("button", name="Complete refund").click()
    expect(frame.locator("#banner")).to_contain_text("Refund completed.")
    expect(five).to_contain_text("sent")
    expect(five).to_contain_text(f"sent by {ADMIN}")
    success = eventually(lambda: app_events(host.saleor, transaction_id, "REFUND_SUCCESS"), what="REFUND_SUCCESS")
    assert success[0].amount_value == Decimal("5.00")
    assert success[0].psp_reference == first.request_event.psp_reference
    assert "0.025 LTCT" in success[0].message
    assert "0xabc123" in success[0].message

    # Decline the 3.00 refund with a reason.
    three = frame.locator("#refunds-table tbody tr", has_text="3.00 USD")
    three.get_by_role("button", name="Settle").click()
    form.locator('input[name="reason"]').fill("The parcel came back empty")
    form.get_by_role("button", name="Decline refund").click()
    expect(frame.locator("#banner")).to_contain_text("Refund declined.")
    expect(three).to_contain_text("declined")
    failure = eventually(lambda: app_events(host.saleor, transaction_id, "REFUND_FAILURE"), what="REFUND_FAILURE")
    assert failure[0].psp_reference == second.request_event.psp_reference
    assert "The parcel came back empty" in failure[0].message
    expect(frame.locator("#refunds-table tbody tr .button")).to_have_count(0)

    # The payment log shows the figures.
    log_row = frame.locator("#payments-table tbody tr", has_text=invoice_id)
    frame.get_by_role("button", name="Reload").click()
    expect(log_row).to_contain_text("refunded 5.00")
    expect(log_row).to_contain_text("refundable 15.00")

    # The Dashboard switches to dark: the app bridge's theme event.
    page.evaluate("() => window.sendToApp('theme', {theme: 'dark'})")
    expect(frame.locator("html")).to_have_attribute("data-theme", "dark")
    dark_bg = frame.locator("body").evaluate("b => getComputedStyle(b).backgroundColor")
    assert dark_bg != light_bg
    page.screenshot(path=str(ARTIFACTS / "refunds-dark.png"), full_page=True)
    assert script_errors == []

    # Opened dark from the start (the `theme` query parameter), under a deep path.
    dark_page = browser.new_page(viewport={"width": 1280, "height": 900})
    dark_page.goto(host.url_for(saleor_app, token))
    host.iframe_src = host.iframe_src.replace("/dashboard?", "/dashboard/orders/refunds?").replace(
        "theme=light", "theme=dark"
    )
    dark_page.goto(f"{host.saleor.base_url}/dashboard/apps/coinpayments")
    dark_frame = dark_page.frame_locator("#app")
    expect(dark_frame.locator("html")).to_have_attribute("data-theme", "dark")
    expect(dark_frame.locator("#refunds-table tbody tr")).to_have_count(2)
    dark_page.screenshot(path=str(ARTIFACTS / "refunds-dark-deep-path.png"), full_page=True)


def test_any_deep_path_under_the_page_serves_the_page(app: RunningApp) -> None:
    page = httpx.get(f"{app.base_url}/dashboard/some/deeper/path?theme=dark&saleorApiUrl=x", timeout=10)
    assert page.status_code == 200
    assert 'data-theme="dark"' in page.text
    assert "frame-ancestors" in page.headers["content-security-policy"]
    odd = httpx.get(f"{app.base_url}/dashboard/x?theme=<script>", timeout=10)
    assert 'data-theme="light"' in odd.text

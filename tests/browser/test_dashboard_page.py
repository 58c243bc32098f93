"""Issue #5 "Done when": the Dashboard page in headless Chromium, framed by a page playing the Dashboard.

The fake Saleor serves, on its own origin (the origin of its API URL), a host page that frames the
app's page and answers `notifyReady` with a `handshake` carrying a token signed by the fake Saleor's
key. The test then uses the page as an admin would: fills the form, saves, tests the connection
against the simulator (working and failing), maps a channel, and finds a payment in the log.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
import pytest
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select

from saleor_coinpayments.store.tables import Configuration
from tests.fakes.saleor import FakeSaleor
from tests.fakes.saleor_keys import SigningKey
from tests.fakes.saleor_model import App
from tests.helpers.app_server import RunningApp, app_in_thread
from tests.helpers.servers import serve_asgi
from tests.integration.dashboard.conftest import CLIENT_ID, SECRET, Simulator, with_session

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
_SHOTS = os.environ.get("DASHBOARD_SCREENSHOT_DIR")
SCREENSHOT_DIR = Path(_SHOTS) if _SHOTS else None
"""Where to keep the screenshots for a look (default: the test's tmp_path)."""

HOST_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Saleor Dashboard (test host)</title>
<style>body{{margin:0;font:14px system-ui,sans-serif;background:#fafafa}}
header{{padding:10px 16px;background:#25282c;color:#fff}}
iframe{{display:block;border:0;width:100%;height:1500px}}</style></head>
<body><header>Saleor Dashboard (test host) &rsaquo; Apps &rsaquo; CoinPayments</header>
<iframe id="app" src={iframe_src}></iframe>
<script>
  window.received = [];
  window.token = {token};
  const appOrigin = {app_origin};
  const frame = document.getElementById("app");
  window.sendToApp = (type, payload) => frame.contentWindow.postMessage({{type, payload}}, appOrigin);
  window.addEventListener("message", (event) => {{
    if (event.origin !== appOrigin || !event.data) return;
    window.received.push(event.data);
    const payload = event.data.payload || {{}};
    if (event.data.type === "notifyReady") {{
      window.sendToApp("handshake", {{token: window.token, version: 1, saleorVersion: "3.23"}});
    }}
    if (payload.actionId) window.sendToApp("response", {{actionId: payload.actionId, ok: true}});
  }});
</script></body></html>
"""


def _chromium_or_skip() -> None:
    if CHROMIUM.exists():
        return
    reason = f"Debian's Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


class DashboardHost:
    """The fake Saleor plus a host page on its origin that frames the app like the Dashboard does."""

    def __init__(self, saleor: FakeSaleor) -> None:
        self.saleor = saleor
        self.iframe_src = ""
        self.token = ""

    def page(self) -> HTMLResponse:
        app_origin = "/".join(self.iframe_src.split("/")[:3])
        html = HOST_PAGE.format(
            iframe_src=json.dumps(self.iframe_src),
            token=json.dumps(self.token),
            app_origin=json.dumps(app_origin),
        )
        return HTMLResponse(html)

    def url_for(self, app: App, token: str) -> str:
        """The host page, framing the app's `appUrl` with the parameters the Dashboard adds."""
        params = {
            "id": app.id,
            "domain": self.saleor.domain,
            "saleorApiUrl": self.saleor.api_url,
            "theme": "light",
            "locale": "en",
        }
        self.iframe_src = f"{app.manifest['appUrl']}?{urlencode(params)}"
        self.token = token
        return f"{self.saleor.base_url}/dashboard/apps/coinpayments"


@pytest.fixture
def simulator() -> Iterator[Simulator]:
    from saleor_coinpayments.simulator import create_simulator_app

    with serve_asgi(create_simulator_app({CLIENT_ID: SECRET}, tick_interval=None)) as base_url:
        yield Simulator(base_url)


@pytest.fixture
def host() -> Iterator[DashboardHost]:
    saleor = FakeSaleor()
    host = DashboardHost(saleor)
    saleor.asgi.add_api_route("/dashboard/apps/coinpayments", host.page, methods=["GET"])
    with serve_asgi(saleor.asgi) as base_url:
        saleor.base_url = base_url
        yield host


@pytest.fixture
def app(database_url: str, tmp_path: Path, simulator: Simulator) -> Iterator[RunningApp]:
    with app_in_thread(database_url, tmp_path, run_workers=False, coinpayments_api_url=simulator.base_url) as running:
        yield running


@pytest.fixture
def browser(app: RunningApp) -> Iterator[Any]:
    """Started after the servers and the database: Playwright's sync API keeps a loop in this thread."""
    _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def configuration_count(database_url: str) -> int:
    async def work(session: Any) -> int:
        return int((await session.execute(select(func.count()).select_from(Configuration))).scalar_one())

    return with_session(database_url, work)


def test_admin_configures_tests_maps_and_sees_a_payment(
    browser: Any, host: DashboardHost, app: RunningApp, simulator: Simulator, database_url: str, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    saleor_app = host.saleor.install_app(app.manifest_url)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    script_errors: list[str] = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    page.goto(host.url_for(saleor_app, host.saleor.issue_dashboard_token(saleor_app, email="admin@shop.example")))
    frame = page.frame_locator("#app")

    # Handshake done: the page asked for the token, got it, and shows who is signed in.
    expect(frame.locator("#whoami")).to_have_text("Signed in as admin@shop.example")
    expect(frame.locator("#no-configurations")).to_be_visible()
    assert any(m.get("type") == "notifyReady" for m in page.evaluate("window.received"))

    # A malformed client id is shown next to its field, and nothing is saved.
    frame.get_by_role("button", name="New configuration").click()
    form = frame.locator("#configuration-form")
    form.locator('input[name="name"]').fill("Main shop")
    form.locator('input[name="client_id"]').fill("not-a-client-id")
    form.locator('input[name="client_secret"]').fill(SECRET)
    form.get_by_role("button", name="Save").click()
    expect(form.locator('[data-error-for="client_id"]')).to_contain_text("32 hexadecimal characters")
    expect(form.locator('input[name="client_id"]')).to_have_attribute("aria-invalid", "true")
    assert configuration_count(database_url) == 0
    shots = SCREENSHOT_DIR or tmp_path
    page.screenshot(path=str(shots / "dashboard-form.png"), full_page=True)

    # Fixed: saved, tested by the save itself, the notification webhook registered at the simulator.
    form.locator('input[name="client_id"]').fill(CLIENT_ID.upper())
    form.get_by_role("button", name="Save").click()
    expect(frame.locator("#banner")).to_contain_text("Saved Main shop.")
    card = frame.locator("article.card", has_text="Main shop")
    expect(card).to_contain_text(CLIENT_ID)
    expect(card).to_contain_text("••••" + SECRET[-4:])
    expect(card).to_contain_text("Registered at CoinPayments")
    assert SECRET not in frame.locator("body").inner_text()
    assert len(simulator.webhooks()) == 1

    # Test connection: it works.
    card.get_by_role("button", name="Test connection").click()
    expect(frame.locator("#banner")).to_contain_text("Main shop: the connection works.")
    expect(card.locator(".badge")).to_have_text("Connected")

    # A wrong secret: saved with a warning, and "Test connection" says what is wrong.
    card.get_by_role("button", name="Edit").click()
    expect(form.locator('input[name="client_secret"]')).to_have_value("")
    form.locator('input[name="client_secret"]').fill("wrong-secret-0000")
    form.get_by_role("button", name="Save").click()
    expect(frame.locator("#banner")).to_contain_text("does not accept it yet")
    card.get_by_role("button", name="Test connection").click()
    expect(frame.locator("#banner")).to_contain_text("Main shop: the connection does not work.")
    expect(frame.locator("#banner")).to_contain_text("CoinPayments refused these credentials")
    expect(card.locator(".badge")).to_have_text("Not working")

    # Back to the right secret, with sent-out invoices: new orders billed, reminders (a bad one first).
    card.get_by_role("button", name="Edit").click()
    form.locator('input[name="client_secret"]').fill(SECRET)
    form.locator('input[name="invoice_new_orders"]').check()
    form.locator('input[name="invoice_reminders"]').fill("soon")
    form.get_by_role("button", name="Save").click()
    expect(form.locator('[data-error-for="invoice_reminders"]')).to_contain_text("not a day offset")
    form.locator('input[name="invoice_reminders"]').fill("-3, +3")
    form.get_by_role("button", name="Save").click()
    expect(frame.locator("#banner")).to_contain_text("Saved Main shop.")
    expect(card.locator(".badge")).to_have_text("Connected")
    expect(card).to_contain_text("new orders invoiced automatically; due after 7 days; reminders -3, +3")

    # Map a channel, picked from the Saleor's channels (not typed); none picked is refused next to the field.
    map_form = frame.locator("#map-form")
    map_form.get_by_role("button", name="Map channel").click()
    expect(map_form.locator('[data-error-for="channel"]')).to_contain_text("Choose a channel.")
    channel_select = map_form.locator('select[name="channel"]')
    assert channel_select.locator("option").all_inner_texts() == ["Choose a channel…", "default-channel (USD)"]
    channel_select.select_option("default-channel")
    map_form.get_by_role("button", name="Map channel").click()
    expect(frame.locator("#banner")).to_contain_text("Channel default-channel now pays with Main shop")
    expect(frame.locator("#banner")).not_to_contain_text("null")  # a banner without details shows none
    expect(frame.locator("#channels-table")).to_contain_text("default-channel")
    expect(card.locator(".chip")).to_have_text("default-channel")

    # A buyer pays a checkout in that channel; the payment shows in the log, and resync reads it.
    checkout = host.saleor.create_checkout(channel="default-channel")
    initialized = host.saleor.transaction_initialize(checkout.id, gateway=saleor_app.identifier)
    invoice_id = initialized.data["invoiceId"]
    frame.locator("#log-channel").select_option("default-channel")
    frame.get_by_role("button", name="Reload").click()
    row = frame.locator("#payments-table tbody tr", has_text=invoice_id)
    expect(row).to_contain_text("20.00 USD")
    expect(row).to_contain_text("unpaid")
    httpx.post(f"{simulator.base_url}/__sim/faults", json={"webhookDrop": 10}, timeout=10).raise_for_status()
    paid = httpx.post(
        f"{simulator.base_url}/__sim/invoices/{invoice_id}/pay",
        json={"currency": "1002", "amount": "full", "confirmations": 6},
        timeout=10,
    )
    assert paid.status_code == 200, paid.text
    row.get_by_role("button", name="Resync").click()
    expect(frame.locator("#banner")).to_contain_text(f"Invoice {invoice_id} read from CoinPayments.")
    expect(row.locator(".badge").first).to_have_text("paid")
    expect(row).to_contain_text("waiting")

    page.screenshot(path=str(shots / "dashboard.png"), full_page=True)
    assert any(m.get("type") == "notification" for m in page.evaluate("window.received"))
    assert script_errors == []

    # The Dashboard renews the token with an expired one: the page says the user is not authorised.
    before = configuration_count(database_url)
    expired = host.saleor.issue_dashboard_token(saleor_app, ttl_seconds=-30)
    page.evaluate("token => window.sendToApp('tokenRefresh', {token})", expired)
    expect(frame.locator("#banner")).to_contain_text("You are not authorised to configure this app.")
    expect(frame.locator("#banner")).to_contain_text("expired")
    expect(frame.locator("#content")).to_be_hidden()
    refused = httpx.post(
        f"{app.base_url}/api/dashboard/configurations",
        headers={"authorization-bearer": expired, "saleor-api-url": host.saleor.api_url},
        json={"name": "Sneaky", "client_id": CLIENT_ID, "client_secret": SECRET},
    )
    assert refused.status_code == 401
    assert configuration_count(database_url) == before

    # A fresh token brings the page back.
    page.evaluate("token => window.sendToApp('tokenRefresh', {token})", host.saleor.issue_dashboard_token(saleor_app))
    expect(frame.locator("#content")).to_be_visible()
    expect(frame.locator("#banner")).to_be_hidden()


def test_forged_token_is_not_authorised_and_messages_from_elsewhere_are_ignored(
    browser: Any, host: DashboardHost, app: RunningApp, database_url: str
) -> None:
    from playwright.sync_api import expect

    saleor_app = host.saleor.install_app(app.manifest_url)
    forger = SigningKey()
    forger.kid = host.saleor.key.kid
    genuine = host.saleor.issue_dashboard_token(saleor_app)
    claims = {
        k: v for k, v in jwt.decode(genuine, options={"verify_signature": False}).items() if k not in ("iat", "exp")
    }
    forged = forger.issue_jwt(claims)

    page = browser.new_page()
    page.goto(host.url_for(saleor_app, forged))
    frame = page.frame_locator("#app")
    expect(frame.locator("#banner")).to_contain_text("You are not authorised to configure this app.")
    expect(frame.locator("#content")).to_be_hidden()
    refused = httpx.get(
        f"{app.base_url}/api/dashboard/configurations",
        headers={"authorization-bearer": forged, "saleor-api-url": host.saleor.api_url},
    )
    assert refused.status_code == 401
    assert configuration_count(database_url) == 0

    # The app page opened on its own (not framed by the Dashboard) refuses to start.
    alone = browser.new_page()
    alone.goto(host.iframe_src)
    expect(alone.locator("#banner")).to_contain_text("Open this page from the Saleor Dashboard.")
    expect(alone.locator("#content")).to_be_hidden()

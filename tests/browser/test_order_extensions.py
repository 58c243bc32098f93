"""Issue #27 "Done when": the order's crypto card and the order's popups in headless Chromium, framed
the way Dashboard 3.23 frames them.

The fake Saleor serves, on its own origin, an order page that does what the Dashboard's
`AppWidgetExtensionItem` / `AppFrame` / `AppIFrame` do (saleor-dashboard 3.23.27): the widget's URL
gets `domain`, `saleorApiUrl`, `id` and `theme` twice (once from the widget, once from the frame),
with `orderId` the second time; the handshake goes out when the frame has loaded and again on
`notifyReady`; every action is answered with a `response`; a `widgetResize` sets the frame's height
(capped at 5000 px, 200 px before the first); `theme` events follow the handshake; `popupClose`
removes the popup. Screenshots go to artifacts/screenshots/ (see tests/browser/chromium.py); those in
docs/admin/order-page.md (docs/images/) are `order-card-dark.png`, `order-card-refund.png` and
`order-send-invoice.png`, copied from there.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from fastapi.responses import HTMLResponse
from sqlalchemy import select, update

from saleor_coinpayments.payments.delivery.outbox import EVENT_REPORT
from saleor_coinpayments.store.tables import OutboxMessage, OutboxStatus
from tests.browser.chromium import SCREENSHOT_DIR
from tests.browser.shop import ADMIN, app_events, configured_app, paid_checkout
from tests.browser.test_dashboard_page import (  # noqa: F401  (fixtures)
    browser,
    simulator,
)
from tests.fakes.saleor import FakeSaleor
from tests.fakes.saleor_model import App, User
from tests.helpers.app_server import RunningApp, app_in_thread
from tests.helpers.servers import serve_asgi
from tests.helpers.waiting import eventually
from tests.integration.dashboard.conftest import CLIENT_ID, SECRET, Simulator, with_session
from tests.integration.simulator.signer import Signer

pytestmark = pytest.mark.browser


CARD_MOUNT = "ORDER_DETAILS_WIDGETS"

ORDER_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Order (test Dashboard 3.23)</title>
<style>body{{margin:0;font:14px system-ui,sans-serif;background:{bg};color:{fg}}}
header{{padding:10px 16px;background:#25282c;color:#fff}}
aside{{width:380px;margin:16px;border:1px solid #8884;border-radius:8px;padding:8px}}
aside h2{{font-size:14px;margin:4px 8px}}
iframe{{display:block;border:0;width:100%}}
#card{{height:200px}}
dialog{{width:560px;padding:0}} #popup{{height:520px}}</style></head>
<body><header>Saleor Dashboard (test) &rsaquo; Orders &rsaquo; {order_id}</header>
<aside><h2>Crypto payment</h2><iframe id="card" src={card_src}></iframe></aside>
<dialog id="dialog"></dialog>
<script>
  window.received = [];
  window.token = {token};
  window.theme = {theme};
  const appOrigin = {app_origin};
  const versions = {{version: 1, saleorVersion: "3.23.28", dashboardVersion: "3.23.27"}};
  function post(frame, type, payload) {{ frame.contentWindow.postMessage({{type, payload}}, appOrigin); }}
  function handshake(frame) {{ post(frame, "handshake", {{token: window.token, ...versions}}); }}
  function mount(frame) {{
    frame.addEventListener("load", () => {{ handshake(frame); post(frame, "theme", {{theme: window.theme}}); }});
  }}
  mount(document.getElementById("card"));
  window.sendTheme = (theme) => {{
    window.theme = theme;
    for (const frame of document.querySelectorAll("iframe")) post(frame, "theme", {{theme}});
  }};
  window.openPopup = (src) => {{
    const dialog = document.getElementById("dialog");
    const frame = document.createElement("iframe");
    frame.id = "popup";
    mount(frame);
    frame.src = src;
    dialog.replaceChildren(frame);
    dialog.showModal();
  }};
  window.addEventListener("message", (event) => {{
    if (event.origin !== appOrigin || !event.data) return;
    const frame = [...document.querySelectorAll("iframe")].find((f) => f.contentWindow === event.source);
    if (!frame) return;
    window.received.push({{frame: frame.id, ...event.data}});
    const {{type, payload = {{}}}} = event.data;
    if (type === "notifyReady") handshake(frame);
    if (type === "widgetResize" && frame.id === "card" && Number.isFinite(payload.height) && payload.height > 0) {{
      frame.style.height = Math.min(Math.ceil(payload.height), 5000) + "px";
    }}
    if (type === "popupClose") document.getElementById("dialog").close();
    if (payload.actionId) post(frame, "response", {{actionId: payload.actionId, ok: true}});
  }});
</script></body></html>
"""


class OrderPageHost:
    """The fake Saleor plus an order page on its origin that frames the app like Dashboard 3.23 does."""

    def __init__(self, saleor: FakeSaleor) -> None:
        self.saleor = saleor
        self.pages: dict[str, str] = {}

    def page(self, order_id: str) -> HTMLResponse:
        return HTMLResponse(self.pages[order_id])

    def extension(self, app: App, mount: str, label: str | None = None) -> dict[str, Any]:
        return next(
            e for e in app.manifest["extensions"] if e["mount"] == mount and (label is None or e["label"] == label)
        )

    def frame_url(self, app: App, extension: dict[str, Any], order_id: str, theme: str) -> str:
        """`AppIFrame`: the URL, then `?domain&saleorApiUrl&id&<params>&theme` joined by url-join
        (a second `?` becomes `&`); a widget's URL already carries `domain&saleorApiUrl&id&theme`."""
        common = {"domain": self.saleor.domain, "saleorApiUrl": self.saleor.api_url, "id": app.id}
        url = extension["url"]
        if extension["target"] == "WIDGET":
            url = f"{url}?{urlencode({**common, 'theme': theme})}"
        joiner = "&" if "?" in url else "?"
        return f"{url}{joiner}{urlencode({**common, 'orderId': order_id, 'theme': theme})}"

    def open_order(self, app: App, order_id: str, token: str, theme: str = "light") -> str:
        card = self.frame_url(app, self.extension(app, CARD_MOUNT), order_id, theme)
        dark = theme == "dark"
        self.pages[order_id] = ORDER_PAGE.format(
            order_id=order_id,
            card_src=json.dumps(card),
            token=json.dumps(token),
            theme=json.dumps(theme),
            app_origin=json.dumps("/".join(card.split("/")[:3])),
            bg="#0f1012" if dark else "#fafafa",
            fg="#f2f2f2" if dark else "#111",
        )
        return f"{self.saleor.base_url}/dashboard/orders/{order_id}"


@pytest.fixture
def host() -> Iterator[OrderPageHost]:
    saleor = FakeSaleor()
    host = OrderPageHost(saleor)
    saleor.asgi.add_api_route("/dashboard/orders/{order_id}", host.page, methods=["GET"])
    with serve_asgi(saleor.asgi) as base_url:
        saleor.base_url = base_url
        yield host


@pytest.fixture
def app(database_url: str, tmp_path: Path, simulator: Simulator) -> Iterator[RunningApp]:  # noqa: F811
    """With the workers: reports must reach the fake Saleor."""
    with app_in_thread(database_url, tmp_path, run_workers=True, coinpayments_api_url=simulator.base_url) as running:
        yield running


def _installed(host: OrderPageHost, app: RunningApp) -> tuple[App, str]:
    return configured_app(host.saleor, app)


def _paid_order(host: OrderPageHost, saleor_app: App, simulator: Simulator) -> tuple[str, str, str]:  # noqa: F811
    """A checkout paid in LTCT through the simulator, then completed into an order."""
    checkout_id, transaction_id, invoice_id = paid_checkout(host.saleor, saleor_app, simulator)
    completed = host.saleor.checkout_complete(checkout_id)
    assert completed["errors"] == [], completed
    return completed["order"]["id"], transaction_id, invoice_id


def _frame_fits_its_content(page: Any) -> None:
    """The card's frame is as tall as the card: the last widgetResize was applied and is current."""

    def fits() -> bool:
        frame_height = page.evaluate("document.getElementById('card').getBoundingClientRect().height")
        body = page.frame_locator("#card").locator("body")
        content = body.evaluate("b => Math.ceil(b.getBoundingClientRect().height)")
        return abs(frame_height - content) <= 1

    eventually(fits, what="the card's frame follows its content")


def _resizes(page: Any) -> list[int]:
    return [m["payload"]["height"] for m in page.evaluate("window.received") if m.get("type") == "widgetResize"]


def test_paid_checkout_order_shows_coin_tx_and_credited_in_the_dark_theme(
    browser: Any,  # noqa: F811
    host: OrderPageHost,
    app: RunningApp,
    simulator: Simulator,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    saleor_app, token = _installed(host, app)
    order_id, _, invoice_id = _paid_order(host, saleor_app, simulator)
    sim_invoice = httpx.get(f"{simulator.base_url}/__sim/invoices/{invoice_id}", timeout=10).json()

    page = browser.new_page(viewport={"width": 1100, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(host.open_order(saleor_app, order_id, token, theme="dark"))
    card = page.frame_locator("#card")
    payment = card.locator("article.payment")
    expect(payment).to_have_count(1)
    expect(payment.locator(".badge")).to_have_text("paid")
    expect(payment.locator(".coin")).to_have_text("LTCT · 0.25000000 LTCT received")  # CoinPayments' page: symbol only
    expect(payment.locator(".credited")).to_have_text("20.00 USD")
    expect(payment).to_contain_text(invoice_id)
    expect(payment.locator("code.tx")).to_have_count(1)
    tx_id = payment.locator("code.tx").inner_text()
    assert len(tx_id) > 8
    assert f'"{tx_id}"' in json.dumps(sim_invoice)  # the buyer's transaction at CoinPayments
    expect(card.locator("#send-invoice")).to_be_hidden()  # paid: nothing to invoice

    # The Dashboard's theme from the query parameter; the frame follows the card's height.
    assert card.locator("html").get_attribute("data-theme") == "dark"
    received = page.evaluate("window.received")
    assert any(m["type"] == "notifyReady" for m in received)
    assert _resizes(page), "the card never sent widgetResize"
    _frame_fits_its_content(page)
    assert page.evaluate("document.getElementById('card').getBoundingClientRect().height") > 200
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.locator("aside").screenshot(path=str(SCREENSHOT_DIR / "order-card-dark.png"))

    # The Dashboard switches to light: the theme event, no reload.
    dark_bg = card.locator("body").evaluate("b => getComputedStyle(b).backgroundColor")
    page.evaluate("() => window.sendTheme('light')")
    expect(card.locator("html")).to_have_attribute("data-theme", "light")
    assert card.locator("body").evaluate("b => getComputedStyle(b).backgroundColor") != dark_bg
    page.locator("aside").screenshot(path=str(SCREENSHOT_DIR / "order-card-light.png"))
    assert errors == []


def test_a_pending_refund_is_completed_from_the_card(
    browser: Any,  # noqa: F811
    host: OrderPageHost,
    app: RunningApp,
    simulator: Simulator,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    saleor_app, token = _installed(host, app)
    order_id, transaction_id, _ = _paid_order(host, saleor_app, simulator)
    with host.saleor.lock:
        staff = User(host.saleor.model.next_pk(), "manager@shop.example")
    asked = host.saleor.request_action(transaction_id, "REFUND", Decimal("5.00"), reason="Returned", staff=staff)
    assert asked.event is None  # acknowledged; staff settle it

    page = browser.new_page(viewport={"width": 1100, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(host.open_order(saleor_app, order_id, token))
    card = page.frame_locator("#card")
    refund = card.locator("li.refund")
    expect(refund).to_contain_text("5.00 USD")
    expect(refund).to_contain_text("Returned")
    expect(refund.locator(".badge")).to_have_text("waiting for you")
    _frame_fits_its_content(page)
    page.locator("aside").screenshot(path=str(SCREENSHOT_DIR / "order-card-refund.png"))

    # Settling opens the form; the frame grows with the card.
    before = page.evaluate("document.getElementById('card').getBoundingClientRect().height")
    refund.get_by_role("button", name="Settle…").click()
    _frame_fits_its_content(page)
    assert page.evaluate("document.getElementById('card').getBoundingClientRect().height") > before

    # Without a transaction id nothing is recorded; the error shows next to the field.
    refund.get_by_role("button", name="Complete refund").click()
    expect(refund.locator('[data-error-for="tx"]')).to_contain_text("transaction id")
    _frame_fits_its_content(page)
    refund.locator('input[name="tx"]').fill("0xfeed42")
    refund.locator('input[name="coin"]').fill("ltct")
    refund.locator('input[name="amount"]').fill("0.025")
    refund.get_by_role("button", name="Complete refund").click()
    expect(card.locator("#banner")).to_contain_text("Refund completed.")
    expect(refund.locator(".badge")).to_have_text("sent")
    expect(refund).to_contain_text("0xfeed42")
    expect(card.locator("article.payment")).to_contain_text("refunded 5.00")
    success = eventually(lambda: app_events(host.saleor, transaction_id, "REFUND_SUCCESS"), what="REFUND_SUCCESS")
    assert success[0].amount_value == Decimal("5.00")
    assert success[0].psp_reference == asked.request_event.psp_reference
    assert "0xfeed42" in success[0].message
    _frame_fits_its_content(page)  # the form went away: the frame shrank with the card
    heights = _resizes(page)
    assert heights[-1] < max(heights)

    # The "…" menu's "Crypto refunds of this order" lists it, settled, and closes itself.
    popup = host.extension(saleor_app, "ORDER_DETAILS_MORE_ACTIONS", "Crypto refunds of this order")
    page.evaluate("src => window.openPopup(src)", host.frame_url(saleor_app, popup, order_id, "light"))
    frame = page.frame_locator("#popup")
    expect(frame.locator("li.refund")).to_contain_text("5.00 USD")
    expect(frame.locator("li.refund .badge")).to_have_text("sent")
    frame.get_by_role("button", name="Close").click()
    expect(page.locator("#dialog")).to_be_hidden()
    assert any(m["type"] == "popupClose" and m["frame"] == "popup" for m in page.evaluate("window.received"))
    assert errors == []


def test_an_unpaid_order_gets_an_invoice_from_the_popup(
    browser: Any,  # noqa: F811
    host: OrderPageHost,
    app: RunningApp,
    simulator: Simulator,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    saleor_app, token = _installed(host, app)
    order = host.saleor.create_order(email="buyer@example.com")

    page = browser.new_page(viewport={"width": 1100, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(host.open_order(saleor_app, order.id, token))
    card = page.frame_locator("#card")
    expect(card.locator("#no-payments")).to_have_text("No CoinPayments payment on this order.")
    expect(card.get_by_role("button", name="Send a crypto invoice")).to_be_visible()

    # The order's "…" menu: "Send a crypto invoice", with a due date and a note.
    popup = host.extension(saleor_app, "ORDER_DETAILS_MORE_ACTIONS", "Send a crypto invoice")
    assert popup["target"] == "POPUP"
    page.evaluate("() => window.sendTheme('dark')")  # the Dashboard went dark meanwhile
    expect(card.locator("html")).to_have_attribute("data-theme", "dark")
    page.evaluate("src => window.openPopup(src)", host.frame_url(saleor_app, popup, order.id, "dark"))
    frame = page.frame_locator("#popup")
    form = frame.locator("#invoice-form")
    expect(form).to_be_visible()
    assert frame.locator("html").get_attribute("data-theme") == "dark"
    form.locator('input[name="dueDate"]').fill("2000-01-01")
    form.get_by_role("button", name="Send invoice").click()
    expect(form.locator('[data-error-for="dueDate"]')).to_be_visible()
    form.locator('input[name="dueDate"]').fill("2099-12-31")
    form.locator('textarea[name="note"]').fill("Thank you for your order.")
    form.get_by_role("button", name="Send invoice").click()
    expect(frame.locator("#banner")).to_contain_text("sent to buyer@example.com")
    page.locator("#dialog").screenshot(path=str(SCREENSHOT_DIR / "order-send-invoice.png"))
    invoice_id = frame.locator("#banner").inner_text().split()[1]
    made = Signer(simulator.base_url, CLIENT_ID, SECRET).request(
        "GET", f"/api/v2/merchant/invoices/{invoice_id}?include_full_details=true"
    )
    assert made.status_code == 200, made.text
    assert made.json()["notesToRecipient"] == "Thank you for your order."
    assert made.json()["dueDate"].startswith("2099-12-31")
    assert any(m["type"] == "notification" for m in page.evaluate("window.received") if m["frame"] == "popup")
    frame.get_by_role("button", name="Close").click()
    expect(page.locator("#dialog")).to_be_hidden()

    # Opened again, the card shows the invoice and no longer offers one.
    page.reload()
    expect(card.locator("article.payment")).to_contain_text(invoice_id)
    expect(card.locator("article.payment .badge")).to_have_text("waiting for payment")
    expect(card.locator("#send-invoice")).to_be_hidden()
    assert errors == []


def test_the_card_checks_the_token_as_the_app_page_does(
    browser: Any,  # noqa: F811
    host: OrderPageHost,
    app: RunningApp,
) -> None:
    from playwright.sync_api import expect

    saleor_app = host.saleor.install_app(app.manifest_url)
    order = host.saleor.create_order()
    path = f"{app.base_url}/api/dashboard/orders/{order.id}/crypto"
    api = {"saleor-api-url": host.saleor.api_url}
    expired = host.saleor.issue_dashboard_token(saleor_app, ttl_seconds=-30)
    assert httpx.get(path, headers={**api, "authorization-bearer": expired}).status_code == 401
    no_manage_apps = host.saleor.issue_dashboard_token(saleor_app, user_permissions=["HANDLE_PAYMENTS"])
    assert httpx.get(path, headers={**api, "authorization-bearer": no_manage_apps}).status_code == 403
    assert httpx.get(path, headers=api).status_code == 401
    good = httpx.get(path, headers={**api, "authorization-bearer": host.saleor.issue_dashboard_token(saleor_app)})
    assert good.status_code == 200, good.text
    assert good.json()["payments"] == []

    # In the frame, a user without MANAGE_APPS is told so and sees nothing.
    page = browser.new_page()
    page.goto(host.open_order(saleor_app, order.id, no_manage_apps))
    card = page.frame_locator("#card")
    expect(card.locator("#banner")).to_contain_text("You are not authorised")
    expect(card.locator("#content")).to_be_hidden()

    # Opened on its own, not framed by the Dashboard, it does not start.
    alone = browser.new_page()
    alone.goto(host.frame_url(saleor_app, host.extension(saleor_app, CARD_MOUNT), order.id, "light"))
    expect(alone.locator("#banner")).to_contain_text("Open this from an order's page in the Saleor Dashboard")


def test_a_report_saleor_refused_is_retried_from_the_card(
    browser: Any,  # noqa: F811
    host: OrderPageHost,
    app: RunningApp,
    simulator: Simulator,  # noqa: F811
    database_url: str,
) -> None:
    from playwright.sync_api import expect

    saleor_app, token = _installed(host, app)
    order_id, transaction_id, _ = _paid_order(host, saleor_app, simulator)
    eventually(lambda: _report_statuses(database_url) == {OutboxStatus.DELIVERED.value}, what="reports delivered")
    refusal = "Saleor refused it: You do not have the HANDLE_PAYMENTS permission."
    _mark_charge_report(database_url, OutboxStatus.FAILED.value, refusal)

    page = browser.new_page(viewport={"width": 1100, "height": 1000})
    page.goto(host.open_order(saleor_app, order_id, token))
    problem = page.frame_locator("#card").locator(".problem")
    expect(problem).to_contain_text(f"Saleor refused 1 report(s): {refusal}")
    problem.get_by_role("button", name="Retry report").click()
    expect(page.frame_locator("#card").locator("#banner")).to_have_text("Reports queued again.")
    # The outbox looks in Saleor before sending again: the charge is there, so it is not sent twice.
    eventually(lambda: _report_statuses(database_url) == {OutboxStatus.DELIVERED.value}, what="retried report")
    assert len(app_events(host.saleor, transaction_id, "CHARGE_SUCCESS")) == 1
    page.reload()
    expect(page.frame_locator("#card").locator("article.payment .badge")).to_have_text("paid")
    expect(page.frame_locator("#card").locator(".problem")).to_have_count(0)


def _report_statuses(database_url: str) -> set[str]:
    async def work(session: Any) -> set[str]:
        rows = await session.execute(select(OutboxMessage.status).where(OutboxMessage.kind == EVENT_REPORT))
        return {str(status) for (status,) in rows.all()}

    return with_session(database_url, work)


def _mark_charge_report(database_url: str, status: str, error: str) -> None:
    """The charge report as the outbox leaves it when Saleor refuses it (GraphQL errors: failed at once)."""

    async def work(session: Any) -> None:
        await session.execute(
            update(OutboxMessage).where(OutboxMessage.kind == EVENT_REPORT).values(status=status, last_error=error)
        )

    with_session(database_url, work)


def test_an_invoice_paid_short_is_accepted_as_paid_from_the_card(
    browser: Any,  # noqa: F811
    host: OrderPageHost,
    app: RunningApp,
    simulator: Simulator,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    saleor_app, token = _installed(host, app)
    simulator.patch_client(CLIENT_ID, partialAcceptAvailable=True)
    order = host.saleor.create_order(email="buyer@example.com")
    sent = httpx.post(
        f"{app.base_url}/api/invoices/send",
        headers={"authorization-bearer": token, "saleor-api-url": host.saleor.api_url},
        json={"orderId": order.id},
        timeout=30,
    )
    assert sent.status_code == 201, sent.text
    invoice_id = sent.json()["invoiceId"]
    transaction = eventually(lambda: _order_transaction(host, order.id), what="the order's transaction")
    _sim(
        simulator,
        "POST",
        f"/invoices/{invoice_id}/pay",
        {"amount": "partial:0.5", "confirmations": 6, "currency": "1002"},
    )
    _sim(simulator, "POST", "/clock/advance", {"seconds": 2 * 3600})
    eventually(
        lambda: [e for e in app_events(host.saleor, transaction, "INFO") if "short" in e.message], what="ended short"
    )

    page = browser.new_page(viewport={"width": 1100, "height": 1000})
    page.goto(host.open_order(saleor_app, order.id, token))
    payment = page.frame_locator("#card").locator("article.payment")
    expect(payment.locator(".credited")).to_have_text("10.00 USD")
    expect(payment.get_by_role("button", name="Refund what came in")).to_be_visible()
    payment.get_by_role("button", name="Accept as paid").click()
    expect(page.frame_locator("#card").locator("#banner")).to_have_text("Accepted as paid.")
    expect(payment.get_by_role("button", name="Accept as paid")).to_have_count(0)
    charges = eventually(
        lambda: [
            e
            for e in app_events(host.saleor, transaction, "CHARGE_SUCCESS")
            if e.psp_reference == f"{invoice_id}:accepted"
        ],
        what="the accepted shortfall's CHARGE_SUCCESS",
    )
    assert charges[0].amount_value == Decimal("10.00")
    assert ADMIN in charges[0].message


def _sim(simulator: Simulator, method: str, path: str, body: dict[str, Any]) -> None:  # noqa: F811
    response = httpx.request(method, f"{simulator.base_url}/__sim{path}", json=body, timeout=10)
    assert response.status_code < 300, response.text


def _order_transaction(host: OrderPageHost, order_id: str) -> str | None:
    with host.saleor.lock:
        ours = [t for t in host.saleor.order(order_id).transactions if t.app is not None]
    return ours[0].id if ours else None

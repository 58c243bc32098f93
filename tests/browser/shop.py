"""What the browser tests of the staff pages do in the fake Saleor and the simulator before they
look at a page: the app installed and configured, a checkout paid through the simulator, and the
events the app reported."""

from __future__ import annotations

from typing import Any

import httpx

from tests.fakes.saleor import FakeSaleor
from tests.fakes.saleor_model import App
from tests.helpers.app_server import RunningApp
from tests.helpers.waiting import eventually
from tests.integration.dashboard.conftest import CLIENT_ID, SECRET, Simulator

ADMIN = "admin@shop.example"


def configured_app(saleor: FakeSaleor, app: RunningApp) -> tuple[App, str]:
    """The app installed in Saleor with one configuration for the default channel, and a Dashboard
    token of ADMIN's."""
    saleor_app = saleor.install_app(app.manifest_url)
    token = saleor.issue_dashboard_token(saleor_app, email=ADMIN)
    created = httpx.post(
        f"{app.base_url}/api/dashboard/configurations",
        headers={"authorization-bearer": token, "saleor-api-url": saleor.api_url},
        json={"name": "Main shop", "client_id": CLIENT_ID, "client_secret": SECRET, "channels": "default-channel"},
        timeout=30,
    )
    assert created.status_code == 201, created.text
    return saleor_app, token


def app_events(saleor: FakeSaleor, transaction_id: str, type_: str) -> list[Any]:
    """The transaction's events of that type that the app reported."""
    with saleor.lock:
        events = list(saleor.transaction(transaction_id).events)
    return [e for e in events if e.type == type_ and e.app is not None]


def paid_checkout(saleor: FakeSaleor, saleor_app: App, simulator: Simulator) -> tuple[str, str, str]:
    """A checkout of the default channel paid in full in LTCT through the simulator, once the app
    has reported the charge to Saleor: the checkout's, the transaction's and the invoice's ids."""
    checkout = saleor.create_checkout(channel="default-channel")
    started = saleor.transaction_initialize(checkout.id, gateway=saleor_app.identifier)
    transaction_id, invoice_id = started.transaction.id, started.data["invoiceId"]
    paid = httpx.post(
        f"{simulator.base_url}/__sim/invoices/{invoice_id}/pay",
        json={"currency": "1002", "amount": "full", "confirmations": 6},
        timeout=10,
    )
    assert paid.status_code == 200, paid.text
    eventually(lambda: app_events(saleor, transaction_id, "CHARGE_SUCCESS"), what="CHARGE_SUCCESS")
    return checkout.id, transaction_id, invoice_id

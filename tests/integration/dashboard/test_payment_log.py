"""The payment log and "Resync": a payment driven through the app by the fake Saleor and the simulator."""

from __future__ import annotations

from typing import Any

import httpx

from saleor_coinpayments.store.installations import InstallationRepository
from tests.integration.dashboard.conftest import Dashboard, Simulator, box, insert_payment, with_session


def installation_id(database_url: str, api_url: str) -> str:
    async def work(session: Any) -> str:
        installation = await InstallationRepository(session, box()).get(api_url)
        assert installation is not None
        return installation.id

    return with_session(database_url, work)


def sim(simulator: Simulator, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.request(method, f"{simulator.base_url}/__sim{path}", json=body, timeout=10)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_log_shows_a_checkout_payment_and_resync_reads_it_from_coinpayments(
    dashboard: Dashboard, simulator: Simulator
) -> None:
    dashboard.create(channels=["default-channel"])
    checkout = dashboard.saleor.create_checkout(channel="default-channel")
    initialized = dashboard.saleor.transaction_initialize(checkout.id, gateway=dashboard.saleor_app.identifier)
    invoice_id = initialized.data["invoiceId"]

    log = dashboard.call("GET", "/payments", params={"channel": "default-channel"})
    assert log.status_code == 200, log.text
    [payment] = log.json()["payments"]
    assert payment["invoice_id"] == invoice_id
    assert payment["channel"] == "default-channel"
    assert (payment["amount"], payment["currency"], payment["state"]) == ("20.00", "USD", "unpaid")
    assert dashboard.call("GET", "/payments", params={"channel": "other"}).json()["payments"] == []

    # The buyer pays, but CoinPayments' notification is lost: only a resync can tell.
    sim(simulator, "POST", "/faults", {"webhookDrop": 10})
    sim(simulator, "POST", f"/invoices/{invoice_id}/pay", {"currency": "1002", "amount": "full", "confirmations": 6})
    assert dashboard.call("GET", "/payments").json()["payments"][0]["state"] == "unpaid"

    resynced = dashboard.call("POST", f"/payments/{payment['id']}/resync")
    assert resynced.status_code == 200, resynced.text
    fresh = resynced.json()["payment"]
    assert fresh["state"] in ("paid", "completed")
    assert fresh["credited"] == "20.00"
    assert fresh["last_checked_at"] is not None
    # The outbox runs in `serve`'s workers, which this app runs without: the report waits.
    assert fresh["reports"]["waiting"] >= 1
    assert dashboard.call("GET", "/payments").json()["payments"][0]["state"] == fresh["state"]


def test_resync_when_coinpayments_fails_says_so(dashboard: Dashboard, simulator: Simulator) -> None:
    dashboard.create(channels=["default-channel"])
    checkout = dashboard.saleor.create_checkout(channel="default-channel")
    dashboard.saleor.transaction_initialize(checkout.id, gateway=dashboard.saleor_app.identifier)
    [payment] = dashboard.call("GET", "/payments").json()["payments"]

    sim(simulator, "POST", "/faults", {"failNext": 10, "failStatus": 503, "failPath": "/merchant/invoices/"})
    failed = dashboard.call("POST", f"/payments/{payment['id']}/resync")
    assert failed.status_code == 502
    assert "CoinPayments" in failed.json()["error"]["message"]
    assert dashboard.call("POST", "/payments/nope/resync").status_code == 404


def test_log_counts_reports_waiting_and_failed(dashboard: Dashboard, database_url: str) -> None:
    configuration = dashboard.create(channels=["web"])["configuration"]
    owner = installation_id(database_url, dashboard.saleor.api_url)
    insert_payment(
        database_url,
        installation_id=owner,
        configuration_id=configuration["id"],
        channel="web",
        invoice_id="INV-1",
        amount="12.5",
        state="pending",
        outbox=(("delivered", None), ("pending", "Saleor answered 503"), ("failed", "permission denied")),
    )
    insert_payment(
        database_url,
        installation_id=owner,
        configuration_id=configuration["id"],
        channel="pos",
        invoice_id=None,
    )
    web = dashboard.call("GET", "/payments", params={"channel": "web"}).json()["payments"]
    assert len(web) == 1
    assert web[0]["amount"] == "12.50"
    assert web[0]["reports"] == {"waiting": 1, "failed": 1, "delivered": 1, "last_error": "permission denied"}
    assert len(dashboard.call("GET", "/payments").json()["payments"]) == 2

    pos = dashboard.call("GET", "/payments", params={"channel": "pos"}).json()["payments"]
    no_invoice = dashboard.call("POST", f"/payments/{pos[0]['id']}/resync")
    assert no_invoice.status_code == 409
    assert dashboard.call("GET", "/payments", params={"channel": "a b"}).status_code == 400

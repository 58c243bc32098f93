"""Every invoice status of docs/reference/coinpayments.md#statuses is reachable through the control endpoints,
over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.integration.simulator.conftest import Sim
from tests.integration.simulator.signer import invoice_body, white_label


def test_unpaid_pending_paid_completed(sim: Sim) -> None:
    invoice = sim.create(white_label(coin="1"))["id"]
    assert sim.status(invoice) == "unpaid"
    sim.pay(invoice, amount="full", confirmations=1)
    assert sim.status(invoice) == "pending"
    sim.confirm(invoice)
    assert sim.status(invoice) == "paid"
    assert sim.control("POST", f"/invoices/{invoice}/complete").status_code == 200
    v2 = sim.signer.get(f"/api/v2/merchant/invoices/{invoice}").json()
    assert v2["status"] == "completed"
    assert v2["payments"][0]["state"] == "completed"
    assert v2["completed"] is not None


def test_completion_follows_after_the_delay(sim: Sim) -> None:
    invoice = sim.create(white_label(coin="1002"))["id"]
    sim.pay(invoice, amount="full", confirmations=2)
    assert sim.status(invoice) == "paid"
    sim.advance(9 * 60)
    assert sim.status(invoice) == "paid"
    sim.advance(60)
    assert sim.status(invoice) == "completed"


def test_draft_and_scheduled_then_published(sim: Sim) -> None:
    draft = sim.create(invoice_body(draft=True))["id"]
    assert sim.status(draft) == "draft"
    assert sim.control("POST", f"/invoices/{draft}/pay", {"currency": "1"}).status_code == 400
    sim.control("POST", f"/invoices/{draft}/publish")
    assert sim.status(draft) == "unpaid"

    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    scheduled = sim.create(invoice_body(invoiceDate=tomorrow))["id"]
    assert sim.status(scheduled) == "scheduled"
    sim.advance(25 * 3600)
    assert sim.status(scheduled) == "unpaid"


def test_cancelled(sim: Sim) -> None:
    invoice = sim.create(white_label())["id"]
    sim.signer.post(f"/api/v1/merchant/invoices/{invoice}/cancel")
    assert sim.status(invoice) == "cancelled"
    assert sim.signer.get(f"/api/v2/merchant/invoices/{invoice}").json()["cancelled"] is not None


def test_timed_out_when_the_payment_window_closes(sim: Sim) -> None:
    invoice = sim.create(white_label(coin="1"))["id"]
    sim.advance(59 * 60)
    assert sim.status(invoice) == "unpaid"
    sim.advance(2 * 60)
    assert sim.status(invoice) == "timedOut"
    url = f"{sim.base}/api/v1/invoices/{invoice}/payment-currencies/4"
    assert httpx.get(url).status_code == 400  # no new address after expiry


def test_link_invoice_times_out_at_invoice_expiry(sim: Sim) -> None:
    invoice = sim.create(invoice_body())["id"]
    sim.advance(364 * 86400)
    assert sim.status(invoice) == "unpaid"
    sim.advance(2 * 86400)
    assert sim.status(invoice) == "timedOut"


def test_deleted(sim: Sim) -> None:
    invoice = sim.create(invoice_body())["id"]
    assert sim.control("POST", f"/invoices/{invoice}/delete").status_code == 200
    assert sim.status(invoice) == "deleted"


def test_underpaid_stays_pending_then_times_out_with_refund(sim: Sim) -> None:
    invoice = sim.create(white_label(coin="1002"))["id"]
    sim.pay(invoice, amount="partial:0.4", confirmations=2)
    assert sim.status(invoice) == "pending"
    sim.advance(61 * 60)
    assert sim.status(invoice) == "timedOut"
    view = sim.control("GET", f"/invoices/{invoice}").json()
    assert view["payment"]["state"] == "timedOutWaitingRefund"
    assert view["payment"]["nativeConfirmed"] == "4.00"
    sim.control("POST", f"/invoices/{invoice}/refund")
    assert sim.control("GET", f"/invoices/{invoice}").json()["payment"]["state"] == "timedOutRefundProcessed"


def test_underpaid_accepted_partially(sim: Sim) -> None:
    from tests.integration.simulator.signer import CLIENT_ID

    sim.control("PATCH", f"/clients/{CLIENT_ID}", {"partialAcceptAvailable": True})
    invoice = sim.create(white_label("20.00", coin="1002"))["id"]
    sim.pay(invoice, amount="partial:0.5", confirmations=2)
    sim.advance(61 * 60)
    v2 = sim.signer.get(f"/api/v2/merchant/invoices/{invoice}").json()
    assert v2["status"] == "paid"
    assert v2["partialAcceptAvailable"] is True
    assert v2["payments"][0]["nativeActualAmount"] == "10.00"


def test_overpaid_is_paid_with_the_excess_recorded(sim: Sim) -> None:
    invoice = sim.create(white_label("10.00", coin="1"))["id"]
    sim.pay(invoice, amount="over:0.5", confirmations=2)
    v2 = sim.signer.get(f"/api/v2/merchant/invoices/{invoice}").json()
    assert v2["status"] == "paid"
    payment = v2["payments"][0]
    assert payment["expectedAmount"] == "0.00011418"
    assert payment["actualAmount"] == "0.00017127"  # 0.00011418 + floor(0.00011418 * 0.5)
    assert payment["nativeActualAmount"] == "15.00"
    assert sim.control("GET", f"/invoices/{invoice}").json()["payment"]["nativeExcess"] == "5.00"


def test_paid_late(sim: Sim) -> None:
    invoice = sim.create(white_label(coin="1"))["id"]
    sim.pay(invoice, amount="full", confirmations=1)
    sim.advance(2 * 3600)  # window closed while the full amount was waiting for a confirmation
    assert sim.status(invoice) == "pending"
    sim.confirm(invoice)
    v2 = sim.signer.get(f"/api/v2/merchant/invoices/{invoice}").json()
    assert v2["status"] == "paid"
    assert v2["confirmed"] > sim.control("GET", f"/invoices/{invoice}").json()["payment"]["expires"]


def test_payment_after_time_out_waits_for_refund(sim: Sim) -> None:
    invoice = sim.create(white_label(coin="1"))["id"]
    sim.advance(61 * 60)
    sim.pay(invoice, amount="full", confirmations=2)
    assert sim.status(invoice) == "timedOut"
    view = sim.control("GET", f"/invoices/{invoice}").json()
    assert view["payment"]["state"] == "timedOutWaitingRefund"
    assert view["payment"]["wallets"][0]["late"] == "0.00011418"


def test_history_lists_the_path(sim: Sim) -> None:
    invoice = sim.create(white_label(coin="1002"))["id"]
    sim.pay(invoice, amount="full", confirmations=2)
    sim.control("POST", f"/invoices/{invoice}/complete")
    history = sim.signer.get(f"/api/v2/merchant/invoices/{invoice}/history").json()["items"]
    assert [h["eventType"] for h in history] == ["created", "unpaid", "pending", "paid", "completed"]

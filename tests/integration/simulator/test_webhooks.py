"""Signed notifications reach a real receiver, with retries and injected faults
(docs/reference/coinpayments.md#webhook-body, #webhook-verification, #webhook-delivery)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from tests.helpers.servers import serve_asgi
from tests.helpers.waiting import eventually
from tests.integration.simulator.conftest import Received, Receiver, Sim, make_app
from tests.integration.simulator.signer import CLIENT_ID, SECRET, Signer, hmac_b64, white_label

ALL = ["invoiceCreated", "invoicePending", "invoicePaid", "invoiceCompleted", "invoiceCancelled", "invoiceTimedOut"]


def verify(received: Received, url: str) -> dict[str, Any]:
    """Recompute the signature test-side over the *registered* URL; return the parsed body."""
    headers = received.headers
    assert headers["x-coinpayments-client"] == CLIENT_ID
    stamp = headers["x-coinpayments-timestamp"]
    message = b"\xef\xbb\xbf" + ("POST" + url + CLIENT_ID + stamp).encode() + received.body
    assert headers["x-coinpayments-signature"] == hmac_b64(SECRET, message)
    return dict(json.loads(received.body))


def subscribe(sim: Sim, url: str, notifications: list[str] | None = None) -> None:
    path = f"/api/v1/merchant/clients/{CLIENT_ID}/webhooks"
    response = sim.signer.post(path, {"notificationsUrl": url, "notifications": notifications or ALL})
    assert response.status_code == 200, response.text


def types(receiver: Receiver) -> list[str]:
    return [json.loads(r.body)["type"] for r in receiver.requests]


def test_happy_path_notifications_are_signed_and_shaped(sim: Sim, receiver: Receiver) -> None:
    url = receiver.url("/coinpayments/webhook?src=cp")
    subscribe(sim, url)
    invoice = sim.create(white_label("44.88", coin="1", invoiceId="ORDER-1001", customData={"orderId": "1001"}))
    sim.pay(invoice["id"], amount="full", confirmations=2)
    sim.control("POST", f"/invoices/{invoice['id']}/complete")
    sim.wait_deliveries()
    assert types(receiver) == ["InvoiceCreated", "InvoicePending", "InvoicePaid", "InvoiceCompleted"]
    bodies = [verify(r, url) for r in receiver.requests]
    first = bodies[0]
    assert len(first["id"]) == 32
    assert first["timestamp"].endswith("+00:00")
    assert len(first["timestamp"].split(".")[1]) == len("1234567+00:00")
    inv = first["invoice"]
    assert inv["id"] == invoice["id"]
    assert inv["invoiceId"] == "ORDER-1001"
    assert inv["state"] == "Unpaid"
    assert inv["merchantClientId"] == "0a1b2c3d-4e5f-4071-8293-a4b5c6d7e8f9"
    assert inv["amount"]["total"] == 4488
    assert inv["amount"]["currency"] == {"id": 5057, "smartContract": None}
    assert isinstance(inv["createdAt"], int)
    assert inv["customData"] == {"orderId": "1001"}
    pending = bodies[1]["invoice"]
    wallet = pending["payments"][0]["hotWallet"]
    assert pending["state"] == "Pending"
    assert (wallet["confirmations"], wallet["requiredConfirmations"]) == (1, 2)
    assert wallet["unconfirmedAmount"] == 51243
    assert bodies[2]["invoice"]["state"] == "Paid"
    assert bodies[2]["invoice"]["payments"][0]["hotWallet"]["confirmedAmount"] == 51243
    assert len({b["id"] for b in bodies}) == 4


def test_pending_once_per_confirmation(sim: Sim, receiver: Receiver) -> None:
    subscribe(sim, receiver.url(), ["invoicePending", "invoicePaid"])
    invoice = sim.create(white_label(coin="4"))["id"]  # ETH: 12 confirmations
    sim.pay(invoice, amount="full", confirmations=1)
    sim.confirm(invoice, 4)
    sim.wait_deliveries()
    assert types(receiver) == ["InvoicePending"] * 5
    wallets = [json.loads(r.body)["invoice"]["payments"][0]["hotWallet"] for r in receiver.requests]
    confirmations = [w["confirmations"] for w in wallets]
    assert confirmations == [1, 2, 3, 4, 5]
    sim.confirm(invoice, 20)
    sim.wait_deliveries()
    assert types(receiver) == ["InvoicePending"] * 11 + ["InvoicePaid"]


def test_invoice_webhooks_and_client_webhooks_both_receive(sim: Sim, receiver: Receiver) -> None:
    subscribe(sim, receiver.url("/client"), ["invoicePaid"])
    own = {"notificationsUrl": receiver.url("/own?x=1"), "notifications": ["invoiceCreated", "invoicePaid"]}
    invoice = sim.create(white_label(coin="1002", webhooks=[own]))["id"]
    sim.pay(invoice, amount="full", confirmations=2)
    deliveries = sim.wait_deliveries()
    got = sorted((d["url"].split("/")[-1], d["type"], d["source"]) for d in deliveries)
    assert got == [("client", "InvoicePaid", "client"), ("own?x=1", "InvoiceCreated", "invoice"),
                   ("own?x=1", "InvoicePaid", "invoice")]  # fmt: skip
    for r in receiver.requests:
        registered = receiver.url("/own?x=1") if "/own" in r.url else receiver.url("/client")
        verify(r, registered)


def test_cancel_and_timeout_notifications(sim: Sim, receiver: Receiver) -> None:
    subscribe(sim, receiver.url(), ["invoiceCancelled", "invoiceTimedOut"])
    cancelled = sim.create(white_label())["id"]
    timed_out = sim.create(white_label(coin="1"))["id"]
    sim.signer.post(f"/api/v1/merchant/invoices/{cancelled}/cancel")
    sim.advance(3601)
    sim.wait_deliveries()
    states = {json.loads(r.body)["invoice"]["id"]: json.loads(r.body)["invoice"]["state"] for r in receiver.requests}
    assert states == {cancelled: "Cancelled", timed_out: "TimedOut"}


def test_retries_after_receiver_errors(sim: Sim, receiver: Receiver) -> None:
    subscribe(sim, receiver.url(), ["invoiceCreated"])
    receiver.statuses.extend([500, 502])
    sim.create(white_label())
    [delivery] = sim.wait_deliveries()
    assert [a["status"] for a in delivery["attempts"]] == [500, 502, 200]
    assert delivery["outcome"] == "delivered"
    assert len(receiver.requests) == 3
    assert receiver.requests[0].body == receiver.requests[2].body
    for r in receiver.requests:
        verify(r, receiver.url())


def test_gives_up_after_five_attempts(sim: Sim, receiver: Receiver) -> None:
    subscribe(sim, receiver.url(), ["invoiceCreated"])
    receiver.statuses.extend([500] * 10)
    sim.create(white_label())
    [delivery] = sim.wait_deliveries()
    assert len(delivery["attempts"]) == 5
    assert delivery["outcome"] == "failed"


def test_duplicate_drop_and_reorder_faults(sim: Sim, receiver: Receiver) -> None:
    subscribe(sim, receiver.url(), ALL)
    sim.control("POST", "/faults", {"webhookDuplicate": 1})
    invoice = sim.create(white_label(coin="1002"))["id"]
    sim.wait_deliveries()
    assert types(receiver) == ["InvoiceCreated", "InvoiceCreated"]
    assert receiver.requests[0].body == receiver.requests[1].body

    sim.control("POST", "/faults", {"webhookDrop": 1})
    sim.pay(invoice, amount="full", confirmations=1)  # the InvoicePending is lost
    sim.wait_deliveries()
    assert types(receiver) == ["InvoiceCreated", "InvoiceCreated"]
    assert [d["outcome"] for d in sim.control("GET", "/deliveries?outcome=dropped").json()] == ["dropped"]

    sim.control("POST", "/faults", {"webhookReorder": 2})
    sim.confirm(invoice)  # → InvoicePaid (held)
    sim.control("POST", f"/invoices/{invoice}/complete")  # → InvoiceCompleted (held, then both released)
    sim.wait_deliveries()
    assert types(receiver)[2:] == ["InvoiceCompleted", "InvoicePaid"]


def test_delivery_never_blocks_the_api_answer(receiver: Receiver) -> None:
    with serve_asgi(make_app(webhook_timeout=60.0)) as base:  # the held answer never times out
        sim = Sim(base, Signer(base))
        subscribe(sim, receiver.url(), ["invoiceCreated"])
        receiver.answering.clear()  # the receiver takes the webhook but holds its answer
        sim.create(white_label())  # answered while the delivery cannot have finished
        eventually(lambda: receiver.requests, what="the webhook reaching the receiver")
        [delivery] = sim.control("GET", "/deliveries").json()
        assert delivery["outcome"] == "queued"  # still waiting for the receiver's answer
        receiver.answering.set()
        sim.wait_deliveries()
        assert types(receiver) == ["InvoiceCreated"]


def test_camel_case_and_decimal_amounts_switch(sim: Sim, receiver: Receiver) -> None:
    sim.control("PUT", "/settings", {"webhookCasing": "camel", "webhookAmounts": "decimal"})
    subscribe(sim, receiver.url(), ["invoiceCreated"])
    sim.create(white_label("44.88"))
    sim.wait_deliveries()
    body = verify(receiver.requests[0], receiver.url())
    assert body["type"] == "invoiceCreated"
    assert body["invoice"]["state"] == "unpaid"
    assert body["invoice"]["amount"]["total"] == "44.88"


@pytest.fixture
def slow_retry_sim() -> Iterator[Sim]:
    with serve_asgi(make_app(webhook_retry_delay=0.2)) as base:
        yield Sim(base, Signer(base))


def test_unreachable_receiver_is_retried_with_a_delay(slow_retry_sim: Sim) -> None:
    sim = slow_retry_sim
    subscribe(sim, "http://127.0.0.1:9/unreachable", ["invoiceCreated"])
    sim.create(white_label())
    [delivery] = sim.wait_deliveries()
    assert delivery["outcome"] == "failed"
    attempts = delivery["attempts"]
    assert len(attempts) == 5
    assert all(a["status"] is None and a["error"] for a in attempts)


def test_expiry_noticed_by_a_read_is_notified(receiver: Receiver) -> None:
    """No background ticker: the GET that notices the timeout must still cause the notification."""
    with serve_asgi(make_app(tick_interval=None, payment_window=timedelta(seconds=1))) as base:
        sim = Sim(base, Signer(base))
        subscribe(sim, receiver.url(), ["invoiceTimedOut"])
        invoice = sim.create(white_label(coin="1"))["id"]
        # The payment window passes on the real clock; only reads (no ticker) can notice it.
        eventually(lambda: sim.status(invoice) == "timedOut", what="a read noticing the timeout")
        sim.wait_deliveries()
        assert types(receiver) == ["InvoiceTimedOut"]


def test_a_share_of_notifications_is_lost_by_chance(sim: Sim, receiver: Receiver) -> None:
    subscribe(sim, receiver.url(), ["invoiceCreated"])
    assert sim.control("POST", "/faults", {"webhookDropPercent": 101}).status_code == 400
    sim.control("POST", "/faults", {"webhookDropPercent": 100})
    sim.create(white_label())
    sim.control("POST", "/faults", {"webhookDropPercent": 0})
    sim.create(white_label())
    sim.wait_deliveries()
    assert types(receiver) == ["InvoiceCreated"], "the first was lost, the second sent"
    assert [d["outcome"] for d in sim.control("GET", "/deliveries?outcome=dropped").json()] == ["dropped"]

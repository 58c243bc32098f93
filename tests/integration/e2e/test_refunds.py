"""Issue #15 "Done when": refunds and staff decisions on odd payments, end to end on real servers
(fake Saleor, simulator, the app's own process and its CLI as another process)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes.saleor_model import User
from tests.helpers.app_server import start_app_process
from tests.integration.e2e.world import World, eventually, running_world

COIN = "1002"  # LTCT in the simulator
STAFF = "manager@shop.example"
ADMIN = "admin@shop.example"


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    with running_world(database_url, tmp_path) as running:
        yield running


def paid(world: World, total: str = "20.00", how: str = "full") -> tuple[str, str]:
    """A checkout paid through CoinPayments: (transaction id, invoice id), once Saleor has the charge."""
    checkout = world.checkout(total)
    started = world.initialize(checkout.id)
    transaction_id, invoice_id = started.transaction.id, started.event.psp_reference
    world.sim.pay(invoice_id, how, confirmations=6, currency=COIN)
    eventually(lambda: world.app_events(transaction_id, "CHARGE_SUCCESS"), what="CHARGE_SUCCESS")
    return transaction_id, invoice_id


def staff(world: World) -> User:
    with world.saleor.lock:
        return User(world.saleor.model.next_pk(), STAFF)


def dashboard(world: World, method: str, path: str, body: Any = None) -> httpx.Response:
    token = world.saleor.issue_dashboard_token(world.saleor_app, email=ADMIN)
    return httpx.request(
        method,
        f"{world.app.base_url}/api/dashboard{path}",
        headers={"authorization-bearer": token, "saleor-api-url": world.saleor.api_url},
        json=body,
        timeout=30,
    )


def refunds(world: World) -> list[dict[str, Any]]:
    response = dashboard(world, "GET", "/refunds")
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["refunds"]
    return found


def cli(world: World, *args: str) -> subprocess.CompletedProcess[str]:
    """`saleor-coinpayments refund …` as its own process on the app's database."""
    return world.cli("refund", *args)


def money(world: World, transaction_id: str, key: str) -> Decimal:
    with world.saleor.lock:
        return world.transaction(transaction_id).money(key).amount


def test_refund_request_is_acknowledged_and_completed_from_the_dashboard(world: World) -> None:
    transaction_id, invoice_id = paid(world)
    asked = world.saleor.request_action(
        transaction_id, "REFUND", Decimal("5.00"), reason="Customer returned the item", staff=staff(world)
    )
    # Acknowledged the asynchronous way: no result event, the request counted as pending.
    assert asked.event is None, asked.event and asked.event.message
    psp = asked.request_event.psp_reference
    assert psp.startswith(f"{invoice_id}:refund:")
    assert money(world, transaction_id, "refund_pending") == Decimal("5.00")
    assert money(world, transaction_id, "charged") == Decimal("15.00")

    [refund] = refunds(world)
    assert refund["state"] == "requested"
    assert (refund["amount"], refund["currency"], refund["pspReference"]) == ("5.00", "USD", psp)
    assert refund["saleorTransactionId"] == transaction_id
    assert refund["reason"] == "Customer returned the item"
    assert refund["requestedBy"] == STAFF
    assert refund["buyerEmail"] == "buyer@example.com"

    transfer = {"tx": "0xfeedbeef", "coin": "LTCT", "amount": "0.0251", "note": "sent from the hot wallet"}
    done = dashboard(world, "POST", f"/refunds/{refund['id']}/complete", transfer)
    assert done.status_code == 200, done.text
    assert done.json()["changed"] is True
    assert done.json()["refund"]["settledBy"] == ADMIN
    assert done.json()["refund"]["settledAt"]

    success = eventually(lambda: world.app_events(transaction_id, "REFUND_SUCCESS"), what="REFUND_SUCCESS")
    assert success[0].psp_reference == psp
    assert success[0].amount_value == Decimal("5.00")
    for part in ("0.0251 LTCT", "0xfeedbeef", ADMIN):
        assert part in success[0].message
    assert money(world, transaction_id, "refunded") == Decimal("5.00")
    assert money(world, transaction_id, "refund_pending") == Decimal("0")

    # Repeating changes nothing; a settled refund cannot be settled otherwise.
    again = dashboard(world, "POST", f"/refunds/{refund['id']}/complete", transfer)
    assert again.status_code == 200
    assert again.json()["changed"] is False
    other = dashboard(world, "POST", f"/refunds/{refund['id']}/complete", {**transfer, "tx": "0xother"})
    assert other.status_code == 409
    declined = dashboard(world, "POST", f"/refunds/{refund['id']}/decline", {"reason": "changed my mind"})
    assert declined.status_code == 409
    world.settled()
    assert len(world.app_events(transaction_id, "REFUND_SUCCESS")) == 1
    assert world.app_events(transaction_id, "REFUND_FAILURE") == []
    assert [r["state"] for r in refunds(world)] == ["sent"]


def test_bad_completion_input_is_refused_and_changes_nothing(world: World) -> None:
    transaction_id, _ = paid(world)
    world.saleor.request_action(transaction_id, "REFUND", Decimal("5.00"))
    [refund] = refunds(world)
    bad = dashboard(world, "POST", f"/refunds/{refund['id']}/complete", {"tx": "two words", "amount": "-1"})
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) == {"tx", "amount"}
    no_reason = dashboard(world, "POST", f"/refunds/{refund['id']}/decline", {"reason": "  "})
    assert no_reason.status_code == 400
    missing = dashboard(world, "POST", "/refunds/nope/complete", {"tx": "abc"})
    assert missing.status_code == 404
    assert [r["state"] for r in refunds(world)] == ["requested"]


def test_partial_refunds_add_up_and_the_cli_settles_them(world: World) -> None:
    transaction_id, invoice_id = paid(world)
    first = world.saleor.request_action(transaction_id, "REFUND", Decimal("8.00"))
    second = world.saleor.request_action(transaction_id, "REFUND", Decimal("7.00"))
    assert first.event is None
    assert second.event is None
    assert money(world, transaction_id, "refund_pending") == Decimal("15.00")

    listed = cli(world, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    fields = {"id", "state", "amount", "currency", "pspReference", "saleorTransactionId"}
    assert all(fields <= set(row) for row in rows)
    by_psp = {row["pspReference"]: row for row in rows}
    assert by_psp[first.request_event.psp_reference]["amount"] == "8.00"
    assert by_psp[second.request_event.psp_reference]["amount"] == "7.00"
    first_id = by_psp[first.request_event.psp_reference]["id"]
    second_id = by_psp[second.request_event.psp_reference]["id"]

    completed = cli(world, "complete", first_id, "--tx", "tx-1", "--coin", "LTCT", "--amount", "0.04", "--note", "ok")
    assert completed.returncode == 0, completed.stderr
    assert cli(world, "complete", first_id, "--tx", "tx-1").stdout.startswith("nothing changed")
    declined = cli(world, "decline", second_id, "--reason", "Item never came back")
    assert declined.returncode == 0, declined.stderr
    assert cli(world, "decline", second_id, "--reason", "Item never came back").stdout.startswith("nothing changed")
    assert cli(world, "complete", second_id, "--tx", "tx-2").returncode == 1
    assert cli(world, "complete", first_id, "--tx", "").returncode == 2

    success = eventually(lambda: world.app_events(transaction_id, "REFUND_SUCCESS"), what="REFUND_SUCCESS")
    failure = eventually(lambda: world.app_events(transaction_id, "REFUND_FAILURE"), what="REFUND_FAILURE")
    assert success[0].psp_reference == first.request_event.psp_reference
    assert success[0].amount_value == Decimal("8.00")
    assert "0.04 LTCT" in success[0].message
    assert "tx-1" in success[0].message
    assert failure[-1].psp_reference == second.request_event.psp_reference
    assert "Item never came back" in failure[-1].message
    world.settled()
    assert len(world.app_events(transaction_id, "REFUND_SUCCESS")) == 1
    assert money(world, transaction_id, "refunded") == Decimal("8.00")
    assert money(world, transaction_id, "refund_pending") == Decimal("0")
    assert cli(world, "list", "--pending", "--json").stdout.strip() == ""

    # The declined 7.00 is refundable again.
    assert world.saleor.request_action(transaction_id, "REFUND", Decimal("12.00")).event is None
    assert money(world, transaction_id, "refund_pending") == Decimal("12.00")
    assert invoice_id


def test_requests_that_cannot_be_met_say_why(world: World) -> None:
    checkout = world.checkout("20.00")
    started = world.initialize(checkout.id)
    nothing = world.saleor.request_action(started.transaction.id, "REFUND", Decimal("5.00"))
    assert nothing.event is not None
    assert nothing.event.type == "REFUND_FAILURE"
    assert "Nothing was credited" in nothing.event.message
    assert refunds(world) == []


def test_refunds_survive_a_restart_and_their_reports_wait_in_the_outbox(world: World) -> None:
    transaction_id, _ = paid(world)
    world.saleor.request_action(transaction_id, "REFUND", Decimal("4.00"))
    # Saleor has the charge once the app sent it, a moment before the app marks that report done; a
    # kill in between leaves it claimed until its lease lapses (OUTBOX_LEASE_SECONDS, 60 s), and this
    # transaction's later reports wait behind it, as they must. Not what this test is about.
    world.settled()
    world.app_process_kill()
    [row] = [json.loads(line) for line in cli(world, "list", "--json").stdout.splitlines()]
    assert row["state"] == "requested"
    assert cli(world, "complete", row["id"], "--tx", "tx-restart").returncode == 0
    assert world.app_events(transaction_id, "REFUND_SUCCESS") == []
    process = start_app_process(world.app.settings)
    try:
        success = eventually(lambda: world.app_events(transaction_id, "REFUND_SUCCESS"), what="REFUND_SUCCESS")
        assert success[0].amount_value == Decimal("4.00")
        assert success[0].psp_reference == row["pspReference"]
    finally:
        process.kill()
        process.wait(timeout=10)


def _payment_id(world: World, invoice_id: str) -> str:
    response = dashboard(world, "GET", "/payments")
    assert response.status_code == 200, response.text
    [payment] = [p for p in response.json()["payments"] if p["invoice_id"] == invoice_id]
    return str(payment["id"])


def underpaid(world: World) -> tuple[str, str, str]:
    """An invoice that ended with half paid: (checkout id, transaction id, invoice id)."""
    world.sim.control("PATCH", f"/clients/{world.sim.client_id}", {"partialAcceptAvailable": True})
    checkout = world.checkout("20.00")
    started = world.initialize(checkout.id)
    transaction_id, invoice_id = started.transaction.id, started.event.psp_reference
    world.sim.pay(invoice_id, "partial:0.5", confirmations=6, currency=COIN)
    world.sim.advance(2 * 3600)
    eventually(
        lambda: [e for e in world.app_events(transaction_id, "INFO") if "short" in e.message], what="underpaid INFO"
    )
    return checkout.id, transaction_id, invoice_id


def test_accept_as_paid_makes_the_transaction_fully_charged(world: World) -> None:
    checkout_id, transaction_id, invoice_id = underpaid(world)
    assert money(world, transaction_id, "charged") == Decimal("10.00")
    payment_id = _payment_id(world, invoice_id)

    accepted = dashboard(world, "POST", f"/payments/{payment_id}/accept-as-paid")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["changed"] is True
    charges = eventually(
        lambda: (lambda found: found if len(found) == 2 else None)(world.app_events(transaction_id, "CHARGE_SUCCESS")),
        what="second CHARGE_SUCCESS",
    )
    extra = charges[-1]
    assert extra.psp_reference == f"{invoice_id}:accepted"
    assert extra.amount_value == Decimal("10.00")
    assert "10.00 USD" in extra.message
    assert ADMIN in extra.message
    assert money(world, transaction_id, "charged") == Decimal("20.00")
    with world.saleor.lock:
        assert world.saleor.checkout(checkout_id).charge_status == "FULL"

    again = dashboard(world, "POST", f"/payments/{payment_id}/accept-as-paid")
    assert again.status_code == 200
    assert again.json()["changed"] is False
    refund_instead = dashboard(world, "POST", f"/payments/{payment_id}/refund-received")
    assert refund_instead.status_code == 409
    world.settled()
    assert len(world.app_events(transaction_id, "CHARGE_SUCCESS")) == 2
    assert refunds(world) == []

    # Saleor now counts 20.00 charged, but only 10.00 came in: partial refunds add up to that, no more.
    assert world.saleor.request_action(transaction_id, "REFUND", Decimal("6.00")).event is None
    assert world.saleor.request_action(transaction_id, "REFUND", Decimal("4.00")).event is None
    third = world.saleor.request_action(transaction_id, "REFUND", Decimal("1.00"))
    assert third.event is not None
    assert third.event.type == "REFUND_FAILURE"
    assert "more than can be refunded" in third.event.message
    assert "10.00 USD was credited" in third.event.message
    assert "at most 0.00 USD can still be refunded" in third.event.message
    assert sorted(r["amount"] for r in refunds(world)) == ["4.00", "6.00"]
    assert money(world, transaction_id, "refund_pending") == Decimal("10.00")


def test_refund_what_came_in_opens_a_refund_saleor_shows_pending(world: World) -> None:
    _, transaction_id, invoice_id = underpaid(world)
    payment_id = _payment_id(world, invoice_id)
    opened = dashboard(world, "POST", f"/payments/{payment_id}/refund-received", {})
    assert opened.status_code == 200, opened.text
    refund = opened.json()["refund"]
    assert (refund["amount"], refund["origin"], refund["state"]) == ("10.00", "staff", "requested")
    eventually(lambda: money(world, transaction_id, "refund_pending") == Decimal("10.00"), what="refund pending")
    again = dashboard(world, "POST", f"/payments/{payment_id}/refund-received", {})
    assert again.status_code == 200
    assert again.json()["changed"] is False
    assert dashboard(world, "POST", f"/payments/{payment_id}/accept-as-paid").status_code == 409

    assert dashboard(world, "POST", f"/refunds/{refund['id']}/complete", {"tx": "tx-back"}).status_code == 200
    success = eventually(lambda: world.app_events(transaction_id, "REFUND_SUCCESS"), what="REFUND_SUCCESS")
    assert success[0].psp_reference == refund["pspReference"]
    assert money(world, transaction_id, "refunded") == Decimal("10.00")
    assert money(world, transaction_id, "refund_pending") == Decimal("0")


def test_an_overpayment_yields_a_refund_suggestion(world: World) -> None:
    transaction_id, invoice_id = paid(world, how="over:0.25")
    suggestions = eventually(lambda: [r for r in refunds(world) if r["origin"] == "surplus"], what="suggestion")
    suggestion = suggestions[0]
    assert (suggestion["amount"], suggestion["state"]) == ("5.00", "requested")
    assert "Over-payment" in (suggestion["reason"] or "")
    world.settled()
    assert len(refunds(world)) == 1  # re-reads of the same invoice suggest nothing more

    # Saleor hears of it only once it is sent.
    assert world.app_events(transaction_id, "REFUND_REQUEST") == []
    done = dashboard(world, "POST", f"/refunds/{suggestion['id']}/complete", {"tx": "tx-surplus", "coin": "LTCT"})
    assert done.status_code == 200, done.text
    success = eventually(lambda: world.app_events(transaction_id, "REFUND_SUCCESS"), what="REFUND_SUCCESS")
    assert success[0].amount_value == Decimal("5.00")
    assert money(world, transaction_id, "charged") == Decimal("20.00")
    assert invoice_id


def _log_entry(world: World, invoice_id: str) -> dict[str, Any]:
    response = dashboard(world, "GET", "/payments")
    assert response.status_code == 200, response.text
    [payment] = [p for p in response.json()["payments"] if p["invoice_id"] == invoice_id]
    return dict(payment)


def test_payment_log_shows_credited_refunded_and_refundable(world: World) -> None:
    transaction_id, invoice_id = paid(world)
    world.saleor.request_action(transaction_id, "REFUND", Decimal("8.00"))
    world.saleor.request_action(transaction_id, "REFUND", Decimal("2.50"))
    first, second = sorted(refunds(world), key=lambda r: r["amount"], reverse=True)
    assert dashboard(world, "POST", f"/refunds/{first['id']}/complete", {"tx": "tx-8"}).status_code == 200
    entry = _log_entry(world, invoice_id)
    assert (entry["credited"], entry["refunded"], entry["refund_pending"], entry["refundable"]) == (
        "20.00",
        "8.00",
        "2.50",
        "9.50",
    )
    assert entry["can_accept_or_refund"] is False
    assert second["state"] == "requested"


def test_coinpayments_own_refunds_show_in_the_log_and_an_info_never_as_shop_refunds(world: World) -> None:
    checkout = world.checkout("20.00")
    started = world.initialize(checkout.id)
    transaction_id, invoice_id = started.transaction.id, started.event.psp_reference
    world.sim.pay(invoice_id, "partial:0.5", confirmations=6, currency=COIN)
    world.sim.advance(2 * 3600)
    info = eventually(
        lambda: [e for e in world.app_events(transaction_id, "INFO") if "CoinPayments refunds" in e.message],
        what="INFO about CoinPayments' refund",
    )
    assert len(info) == 1
    entry = eventually(
        lambda: (lambda e: e if e.get("coinpayments_refund") else None)(_log_entry(world, invoice_id)),
        what="CoinPayments' refund in the payment log",
    )
    assert entry["coinpayments_refund"]["state"] == "timedOutWaitingRefund"
    world.sim.control("POST", f"/invoices/{invoice_id}/refund")
    resynced = dashboard(world, "POST", f"/payments/{entry['id']}/resync")
    assert resynced.status_code == 200, resynced.text
    assert resynced.json()["payment"]["coinpayments_refund"]["state"] == "timedOutRefundProcessed"
    world.settled()
    assert refunds(world) == []
    assert world.app_events(transaction_id, "REFUND_SUCCESS") == []
    assert len([e for e in world.app_events(transaction_id, "INFO") if "CoinPayments refunds" in e.message]) == 1


def test_a_dismissed_suggestion_is_an_info_not_a_failed_refund(world: World) -> None:
    transaction_id, _ = paid(world, how="over:0.25")
    suggestions = eventually(lambda: [r for r in refunds(world) if r["origin"] == "surplus"], what="suggestion")
    dismissed = dashboard(world, "POST", f"/refunds/{suggestions[0]['id']}/decline", {"reason": "Buyer keeps credit"})
    assert dismissed.status_code == 200, dismissed.text
    info = eventually(
        lambda: [e for e in world.app_events(transaction_id, "INFO") if "dismissed" in e.message], what="INFO"
    )
    assert "Buyer keeps credit" in info[0].message
    world.settled()
    assert world.app_events(transaction_id, "REFUND_FAILURE") == []
    assert [r["state"] for r in refunds(world)] == ["declined"]

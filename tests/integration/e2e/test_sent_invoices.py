"""Issue #6 "Done when": sent-out invoices end to end on real servers.

The fake Saleor sends INVOICE_REQUESTED built from the app's own subscription and signed like
Saleor, and checks `invoiceUpdate`/`transactionCreate`/`orderNoteAdd` against the schema; the
simulator is CoinPayments; the app runs by its own command; the CLI runs as a child process.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from saleor_coinpayments.money import parse_json
from tests.fakes.saleor_model import Address, Line, Order, TransactionItem
from tests.integration.e2e.world import World, configure, eventually, running_world
from tests.integration.simulator.signer import Signer

OPERATOR_TOKEN = "operator-token-for-the-suite"
COIN = "1002"


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    with running_world(database_url, tmp_path, operator_token=OPERATOR_TOKEN) as running:
        yield running


# --- helpers ----------------------------------------------------------------------------------


def _order(world: World, **options: Any) -> Order:
    """70.00 USD: 2 × 30.00 hoodies (net 25.00 each), a 9.50 mug, 5.00 shipping, 4.50 discount."""
    lines = [
        Line("Hoodie", "M", "HOOD-M", 2, Decimal("30.00"), Decimal("25.00")),
        Line("Mug", "Blue", "MUG-B", 1, Decimal("9.50"), Decimal("9.50")),
    ]
    options.setdefault("email", "jan.kowalski@example.com")
    options.setdefault("billing_address", Address(first_name="Jan", last_name="Kowalski"))
    return world.saleor.create_order(lines, shipping="5.00", discount="4.50", **options)


def _raw_invoice(world: World, invoice_id: str) -> dict[str, Any]:
    """The invoice as CoinPayments' API returns it (full details), read with the shop's own key."""
    signer = Signer(world.sim.base_url, world.sim.client_id, world.sim.client_secret)
    response = signer.request("GET", f"/api/v2/merchant/invoices/{invoice_id}?include_full_details=true")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _ours(world: World, order_id: str) -> list[TransactionItem]:
    with world.saleor.lock:
        return [t for t in world.saleor.order(order_id).transactions if t.app is world.saleor_app]


def _transaction_for(world: World, order_id: str, invoice_id: str) -> TransactionItem:
    def find() -> TransactionItem | None:
        return next((t for t in _ours(world, order_id) if t.psp_reference == invoice_id), None)

    return eventually(find, what=f"transaction {invoice_id} on the order")


def _saleor_invoice(world: World, order_id: str, index: int) -> tuple[str | None, str | None, str]:
    with world.saleor.lock:
        invoice = world.saleor.order(order_id).invoices[index]
        return invoice.number, invoice.url, invoice.status


def _cli(world: World, *args: str) -> subprocess.CompletedProcess[str]:
    return world.cli("invoice", "send", *args, timeout=60)


def _send(world: World, order_id: str, **fields: Any) -> httpx.Response:
    return httpx.post(
        f"{world.app.base_url}/api/invoices/send",
        json={"saleorApiUrl": world.saleor.api_url, "orderId": order_id, **fields},
        headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"},
        timeout=30,
    )


def _invoice_requested(world: World) -> list[Any]:
    """INVOICE_REQUESTED deliveries to our app, in order."""
    return [d for d in world.saleor.deliveries if d.event == "invoice_requested"]


def _pay_in_full(world: World, invoice_id: str) -> None:
    world.sim.pay(invoice_id, "full", confirmations=0, currency=COIN)
    needed = world.sim.invoice(invoice_id)["payment"]["wallets"][0]["requiredConfirmations"]
    world.sim.confirm(invoice_id, needed)


def _total(raw: dict[str, Any]) -> Decimal:
    """CoinPayments' own arithmetic over the breakdown it stored."""
    parts = {key: Decimal(value) for key, value in raw["amount"]["breakdown"].items() if value is not None}
    return (
        parts.get("subtotal", Decimal(0))
        + parts.get("shipping", Decimal(0))
        + parts.get("handling", Decimal(0))
        + parts.get("taxTotal", Decimal(0))
        - parts.get("discount", Decimal(0))
    )


# --- INVOICE_REQUESTED --------------------------------------------------------------------------


def test_generate_invoice_bills_the_order_and_the_payment_lands_once(world: World) -> None:
    order = _order(world)
    world.saleor.request_invoice(order.id)
    [delivered] = _invoice_requested(world)
    assert delivered.status == 200, delivered.response_body
    assert delivered.json()["order"]["id"] == order.id

    [invoice_id] = world.sim.list_invoices()
    raw = _raw_invoice(world, invoice_id)
    assert raw["isEmailDelivery"] is True
    assert raw["emailDelivery"]["to"] == "jan.kowalski@example.com"
    assert raw["buyer"]["name"] == {"firstName": "Jan", "lastName": "Kowalski"}
    assert raw["buyer"]["emailAddress"] == "jan.kowalski@example.com"
    assert [(item["name"], item["quantity"]["value"]) for item in raw["items"]] == [
        ("Hoodie (M)", 2),
        ("Mug (Blue)", 1),
    ]
    assert Decimal(raw["amount"]["total"]) == Decimal("70.00")
    assert Decimal(raw["amount"]["breakdown"]["taxTotal"]) == Decimal("10.00")
    assert Decimal(raw["amount"]["breakdown"]["shipping"]) == Decimal("5.00")
    assert Decimal(raw["amount"]["breakdown"]["discount"]) == Decimal("4.50")
    assert _total(raw) == Decimal("70.00")
    assert raw["customData"]["saleorOrderNumber"] == order.number

    # Saleor's invoice now points at the CoinPayments invoice, and the order has our transaction.
    eventually(lambda: _saleor_invoice(world, order.id, 0)[0] == invoice_id, what="invoiceUpdate")
    number, url, status = _saleor_invoice(world, order.id, 0)
    assert (number, status) == (invoice_id, "SUCCESS")
    assert url
    assert url.startswith("http")
    assert invoice_id in url
    transaction = _transaction_for(world, order.id, invoice_id)
    assert transaction.name == "CoinPayments"
    assert transaction.external_url == url

    # Saleor retries the same webhook, and staff click "Generate invoice" again: still one invoice.
    again = world.saleor.send_webhook("invoice_requested", delivered.body, url=delivered.url)
    assert again.status == 200, again.response_body
    assert parse_json(again.response_body)["outcome"] == "existing"
    world.saleor.request_invoice(order.id)
    eventually(lambda: _saleor_invoice(world, order.id, 1)[0] == invoice_id, what="second invoiceUpdate")
    assert world.sim.list_invoices() == [invoice_id]
    assert len(_ours(world, order.id)) == 1

    _pay_in_full(world, invoice_id)
    success = eventually(lambda: world.app_events(transaction.id, "CHARGE_SUCCESS"), what="CHARGE_SUCCESS")
    assert success[0].amount_value == Decimal("70.00")
    assert success[0].psp_reference == invoice_id
    world.sim.control("POST", f"/invoices/{invoice_id}/complete")
    world.settled()
    assert len(world.events(transaction.id, "CHARGE_SUCCESS")) == 1
    with world.saleor.lock:
        assert world.saleor.order(order.id).charge_status == "FULL"
        assert world.saleor.order(order.id).is_paid


def test_paid_order_asking_again_is_refused_and_noted(world: World) -> None:
    order = _order(world)
    world.saleor.request_invoice(order.id)
    [invoice_id] = world.sim.list_invoices()
    transaction = _transaction_for(world, order.id, invoice_id)
    _pay_in_full(world, invoice_id)
    eventually(lambda: world.app_events(transaction.id, "CHARGE_SUCCESS"), what="CHARGE_SUCCESS")

    world.saleor.request_invoice(order.id)
    assert _invoice_requested(world)[-1].status == 200
    refusal = parse_json(_invoice_requested(world)[-1].response_body)
    assert refusal["error"]["code"] == "ALREADY_PAID"
    notes = eventually(lambda: list(world.saleor.order(order.id).notes), what="note on the order")
    assert "already fully paid" in notes[0]
    assert _saleor_invoice(world, order.id, 1) == (None, None, "PENDING")
    assert world.sim.list_invoices() == [invoice_id]


def test_saleor_down_when_the_invoice_is_made_is_told_afterwards(world: World) -> None:
    order = _order(world)
    world.saleor.api_down = True
    world.saleor.request_invoice(order.id)
    [invoice_id] = world.sim.list_invoices()
    eventually(world.refused_by_saleor, what="a report refused by the down Saleor")
    assert _saleor_invoice(world, order.id, 0)[0] is None
    assert _ours(world, order.id) == []
    world.saleor.api_down = False

    eventually(lambda: _saleor_invoice(world, order.id, 0)[0] == invoice_id, timeout=30, what="invoiceUpdate")
    transaction = _transaction_for(world, order.id, invoice_id)
    _pay_in_full(world, invoice_id)
    eventually(lambda: world.app_events(transaction.id, "CHARGE_SUCCESS"), what="CHARGE_SUCCESS")
    world.settled()
    assert len(_ours(world, order.id)) == 1
    assert len(world.events(transaction.id, "CHARGE_SUCCESS")) == 1


def test_a_transaction_made_before_a_crash_is_adopted_not_doubled(world: World) -> None:
    """transactionCreate reached Saleor but its answer was lost: the retry finds it by pspReference."""
    order = _order(world)
    world.saleor.api_down = True
    world.saleor.request_invoice(order.id)
    [invoice_id] = world.sim.list_invoices()
    created = world.saleor.graphql(
        "mutation($id: ID!, $psp: String!) { transactionCreate(id: $id, transaction: "
        '{name: "CoinPayments", pspReference: $psp}) { transaction { id } errors { code } } }',
        {"id": order.id, "psp": invoice_id},
        token=world.saleor_app.token,
    )
    lost_answer = created["data"]["transactionCreate"]["transaction"]["id"]
    world.saleor.api_down = False

    eventually(lambda: _saleor_invoice(world, order.id, 0)[0] == invoice_id, timeout=30, what="invoiceUpdate")
    _pay_in_full(world, invoice_id)
    eventually(lambda: world.app_events(lost_answer, "CHARGE_SUCCESS"), timeout=30, what="CHARGE_SUCCESS")
    world.settled()
    assert [t.id for t in _ours(world, order.id)] == [lost_answer]
    assert len(world.events(lost_answer, "CHARGE_SUCCESS")) == 1


def test_coinpayments_down_is_answered_so_that_saleor_retries(world: World) -> None:
    order = _order(world)
    world.sim.faults(failNext=10_000)
    world.saleor.request_invoice(order.id)
    [delivered] = _invoice_requested(world)
    assert delivered.status == 503, delivered.response_body
    cli = _cli(world, "--saleor-api-url", world.saleor.api_url, "--order", order.id)
    assert cli.returncode == 3, cli.stderr
    assert "PROVIDER_UNAVAILABLE" in cli.stderr
    world.sim.faults(failNext=0)
    assert _ours(world, order.id) == []
    assert _saleor_invoice(world, order.id, 0) == (None, None, "PENDING")

    retried = world.saleor.send_webhook("invoice_requested", delivered.body, url=delivered.url)
    assert retried.status == 200, retried.response_body
    assert parse_json(retried.response_body)["outcome"] == "created"
    [invoice_id] = world.sim.list_invoices()
    eventually(lambda: _saleor_invoice(world, order.id, 0)[0] == invoice_id, what="invoiceUpdate")
    _transaction_for(world, order.id, invoice_id)


# --- CLI and HTTP ----------------------------------------------------------------------------


def test_concurrent_requests_for_one_order_make_one_invoice(world: World) -> None:
    from concurrent.futures import ThreadPoolExecutor

    order = _order(world)
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: _send(world, order.id), range(4)))
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 201], [a.text for a in answers]
    invoice_ids = {a.json()["invoiceId"] for a in answers}
    assert world.sim.list_invoices() == list(invoice_ids)
    _transaction_for(world, order.id, invoice_ids.pop())
    world.settled()
    assert len(_ours(world, order.id)) == 1


def test_cli_is_idempotent_and_replaces_an_expired_invoice(world: World) -> None:
    order = _order(world)
    api = ["--saleor-api-url", world.saleor.api_url, "--order", order.id]
    first = _cli(world, *api, "--due-date", "2099-01-31", "--note", "Thank you for your order!")
    assert first.returncode == 0, first.stderr
    [invoice_id] = world.sim.list_invoices()
    assert f"created CoinPayments invoice {invoice_id}" in first.stdout
    raw = _raw_invoice(world, invoice_id)
    assert raw["isEmailDelivery"] is True
    assert raw["dueDate"].startswith("2099-01-31T23:59:59")
    assert raw["notesToRecipient"] == "Thank you for your order!"
    old_transaction = _transaction_for(world, order.id, invoice_id)

    second = _cli(world, *api)
    assert second.returncode == 0, second.stderr
    assert f"already has CoinPayments invoice {invoice_id}" in second.stdout
    assert world.sim.list_invoices() == [invoice_id]

    world.sim.advance(366 * 24 * 3600)
    eventually(lambda: world.app_events(old_transaction.id, "CHARGE_FAILURE"), timeout=30, what="expiry reported")
    third = _cli(world, *api)
    assert third.returncode == 0, third.stderr
    fresh = [i for i in world.sim.list_invoices() if i != invoice_id]
    assert len(fresh) == 1
    assert f"created CoinPayments invoice {fresh[0]}" in third.stdout
    assert f"previous invoice {invoice_id} had expired" in third.stdout

    new_transaction = _transaction_for(world, order.id, fresh[0])
    assert new_transaction.id != old_transaction.id
    _pay_in_full(world, fresh[0])
    eventually(lambda: world.app_events(new_transaction.id, "CHARGE_SUCCESS"), what="CHARGE_SUCCESS")
    world.settled()
    assert len(world.events(new_transaction.id, "CHARGE_SUCCESS")) == 1
    assert world.app_events(old_transaction.id, "CHARGE_SUCCESS") == []
    with world.saleor.lock:
        assert world.saleor.order(order.id).charge_status == "FULL"


def test_http_endpoint_is_idempotent_and_authenticated(world: World) -> None:
    order = _order(world)
    refused = httpx.post(
        f"{world.app.base_url}/api/invoices/send",
        json={"saleorApiUrl": world.saleor.api_url, "orderId": order.id},
        headers={"Authorization": "Bearer not-the-token"},
        timeout=30,
    )
    assert refused.status_code == 401
    anonymous = httpx.post(f"{world.app.base_url}/api/invoices/send", json={"orderId": order.id}, timeout=30)
    assert anonymous.status_code == 401
    assert world.sim.list_invoices() == []

    created = _send(world, order.id)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["outcome"] == "created"
    assert (body["amount"], body["currency"], body["email"]) == ("70.00", "USD", "jan.kowalski@example.com")
    invoice_id = body["invoiceId"]
    assert world.sim.list_invoices() == [invoice_id]
    _transaction_for(world, order.id, invoice_id)

    again = _send(world, order.id)
    assert again.status_code == 200
    assert again.json()["outcome"] == "existing"
    assert again.json()["invoiceId"] == invoice_id

    # A Dashboard staff token works too (same auth as the Dashboard page's API).
    token = world.saleor.issue_dashboard_token(world.saleor_app)
    staff = httpx.post(
        f"{world.app.base_url}/api/invoices/send",
        json={"orderId": order.id},
        headers={"saleor-api-url": world.saleor.api_url, "authorization-bearer": token},
        timeout=30,
    )
    assert staff.status_code == 200, staff.text
    assert staff.json()["invoiceId"] == invoice_id
    assert world.sim.list_invoices() == [invoice_id]
    assert len(_ours(world, order.id)) == 1


# --- bad input ------------------------------------------------------------------------------


def test_bad_orders_are_refused_with_nothing_made(world: World) -> None:
    world.saleor.model.add_channel("channel-pln", "PLN")
    configure(world.app.settings.database_url, world.saleor.api_url, world.sim, channel="channel-pln")

    no_email = _order(world, email=None)
    in_pln = _order(world, channel="channel-pln")
    cancelled = _order(world)
    cancelled.status = "CANCELED"
    paid = _order(world)
    manual = world.saleor.graphql(
        'mutation($id: ID!) { transactionCreate(id: $id, transaction: {name: "cash", '
        'amountCharged: {amount: 70, currency: "USD"}}) { errors { code } } }',
        {"id": paid.id},
        token=world.saleor_app.token,
    )
    assert manual["data"]["transactionCreate"]["errors"] == []
    expected = {
        no_email.id: (1, "NO_EMAIL", "no customer e-mail"),
        in_pln.id: (1, "UNSUPPORTED_CURRENCY", "PLN"),
        cancelled.id: (1, "ORDER_CANCELLED", "cancelled"),
        paid.id: (1, "ALREADY_PAID", "already fully paid"),
    }
    for order_id, (code, error, text) in expected.items():
        cli = _cli(world, "--saleor-api-url", world.saleor.api_url, "--order", order_id)
        assert cli.returncode == code, (error, cli.stdout, cli.stderr)
        assert error in cli.stderr
        assert text in cli.stderr
        http = _send(world, order_id)
        assert http.status_code == 422, http.text
        assert http.json()["error"]["code"] == error
        world.saleor.request_invoice(order_id)
        answer = _invoice_requested(world)[-1]
        assert answer.status == 200, answer.response_body
        assert parse_json(answer.response_body)["error"]["code"] == error
    unknown = _cli(world, "--saleor-api-url", world.saleor.api_url, "--order", "T3JkZXI6bm9wZQ==")
    assert unknown.returncode == 1
    assert "ORDER_NOT_FOUND" in unknown.stderr
    not_installed = _cli(world, "--saleor-api-url", "https://other.example.com/graphql/", "--order", paid.id)
    assert not_installed.returncode == 2

    for order_id, (_, _, text) in expected.items():
        notes = eventually(lambda oid=order_id: list(world.saleor.order(oid).notes), what="refusal note")
        assert text in notes[0]
        assert _saleor_invoice(world, order_id, 0) == (None, None, "PENDING")
    world.settled()
    assert world.sim.list_invoices() == []
    assert [t.name for t in _ours(world, paid.id)] == ["cash"]
    for order_id in (no_email.id, in_pln.id, cancelled.id):
        assert _ours(world, order_id) == []


# --- storefront pays an order (TRANSACTION_INITIALIZE_SESSION with an Order source) --------------


def test_storefront_pays_an_existing_order(world: World) -> None:
    order = _order(world)
    started = world.initialize(order.id)
    assert started.event.type == "CHARGE_ACTION_REQUIRED", started.event.message
    invoice_id = started.event.psp_reference
    assert started.transaction.order is not None
    assert started.transaction.order.id == order.id
    _pay_in_full(world, invoice_id)
    success = eventually(
        lambda: world.app_events(started.transaction.id, "CHARGE_SUCCESS"), what="CHARGE_SUCCESS on the order"
    )
    assert success[0].amount_value == Decimal("70.00")
    world.settled()
    assert len(world.events(started.transaction.id, "CHARGE_SUCCESS")) == 1
    with world.saleor.lock:
        assert world.saleor.order(order.id).charge_status == "FULL"

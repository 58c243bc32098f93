"""Issue #29 "Done when": a month of payments made through the simulator (paid, under-paid then
accepted, over-paid, late, refunded, paid out), exported by `saleor-coinpayments report ledger` as
its own process and by the Dashboard API; rows and totals match the expected ledger to the last
decimal.

The expected figures are worked out by hand from the simulator's published rules: LTCT at 80 USD,
CoinPayments keeps 0.5 % of what came in (8 decimals, half-even) plus the coin's network fee of
0.00001 LTCT, amounts in USD are the coin amounts at the invoice's own quote, rounded to cents.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from saleor_coinpayments.payments.books.export import COLUMNS
from tests.integration.e2e.world import World, eventually, running_world

COIN = "1002"  # LTCT, 80 USD in the simulator
ADMIN = "admin@shop.example"
DAY = 24 * 3600


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    with running_world(database_url, tmp_path) as running:
        yield running


def dashboard(world: World, method: str, path: str, body: Any = None, **params: str) -> httpx.Response:
    token = world.saleor.issue_dashboard_token(world.saleor_app, email=ADMIN)
    return httpx.request(
        method,
        f"{world.app.base_url}/api/dashboard{path}",
        headers={"authorization-bearer": token, "saleor-api-url": world.saleor.api_url},
        json=body,
        params=params,
        timeout=60,
    )


def payment_id(world: World, invoice_id: str) -> str:
    response = dashboard(world, "GET", "/payments")
    assert response.status_code == 200, response.text
    [entry] = [p for p in response.json()["payments"] if p["invoice_id"] == invoice_id]
    return str(entry["id"])


def resync(world: World, invoice_id: str) -> dict[str, Any]:
    """Have the app read the invoice now (what a notification or the reconciler would do)."""
    response = dashboard(world, "POST", f"/payments/{payment_id(world, invoice_id)}/resync")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()["payment"]
    return found


def start(world: World, total: str = "20.00") -> tuple[str, str]:
    started = world.initialize(world.checkout(total).id)
    return started.transaction.id, started.event.psp_reference


def paid_out(world: World, invoice_id: str) -> str:
    """Let CoinPayments complete the invoice (it pays out with the completion); the payout's tx."""
    world.sim.advance(11 * 60)
    resync(world, invoice_id)
    [wallet] = world.sim.invoice(invoice_id)["payment"]["wallets"]
    tx: str = wallet["payoutTx"]
    assert tx
    return tx


def build_month(world: World) -> dict[str, Any]:
    refs: dict[str, Any] = {}
    # 1. Paid in full, paid out, then part of it refunded by staff.
    transaction_id, invoice = start(world)
    world.sim.pay(invoice, "full", confirmations=6, currency=COIN)
    eventually(lambda: world.app_events(transaction_id, "CHARGE_SUCCESS"), what="CHARGE_SUCCESS")
    refs["paid"] = (transaction_id, invoice, paid_out(world, invoice))
    world.saleor.request_action(transaction_id, "REFUND", Decimal("8.00"))
    [refund] = eventually(lambda: dashboard(world, "GET", "/refunds").json()["refunds"], what="refund request")
    done = dashboard(
        world, "POST", f"/refunds/{refund['id']}/complete", {"tx": "ltct-refund-1", "coin": "LTCT", "amount": "0.1"}
    )
    assert done.status_code == 200, done.text
    world.sim.advance(7 * DAY)

    # 2. Under-paid; CoinPayments accepts the part (merchant setting), staff accept it as paid.
    world.sim.control("PATCH", f"/clients/{world.sim.client_id}", {"partialAcceptAvailable": True})
    transaction_id, invoice = start(world)
    world.sim.control("PATCH", f"/clients/{world.sim.client_id}", {"partialAcceptAvailable": False})
    world.sim.pay(invoice, "partial:0.5", confirmations=6, currency=COIN)
    world.sim.advance(61 * 60)
    entry = resync(world, invoice)
    accepted = dashboard(world, "POST", f"/payments/{entry['id']}/accept-as-paid")
    assert accepted.status_code == 200, accepted.text
    refs["underpaid"] = (transaction_id, invoice, paid_out(world, invoice))
    world.sim.advance(7 * DAY)

    # 3. Over-paid by a quarter.
    transaction_id, invoice = start(world)
    world.sim.pay(invoice, "over:0.25", confirmations=6, currency=COIN)
    eventually(lambda: world.app_events(transaction_id, "CHARGE_SUCCESS"), what="CHARGE_SUCCESS")
    refs["overpaid"] = (transaction_id, invoice, paid_out(world, invoice))
    world.sim.advance(7 * DAY)

    # 4. Late: the coin address is asked for, the window closes unpaid, then the money comes;
    # CoinPayments holds it and gives it back to the buyer.
    transaction_id, invoice = start(world)
    address = httpx.get(f"{world.sim.base_url}/api/v1/invoices/{invoice}/payment-currencies/{COIN}", timeout=10)
    assert address.status_code == 200, address.text
    world.sim.advance(61 * 60)
    resync(world, invoice)
    world.sim.pay(invoice, "0.25", currency=COIN)
    resync(world, invoice)
    world.sim.control("POST", f"/invoices/{invoice}/refund")
    resync(world, invoice)
    refs["late"] = (transaction_id, invoice, None)
    return refs


def expected_rows(refs: dict[str, Any]) -> list[dict[str, str]]:
    def row(case: str, kind: str, fiat: str, coin: str, **more: str) -> dict[str, str]:
        transaction_id, invoice, payout_tx = refs[case]
        values = {name: "" for name in COLUMNS}
        values.update(
            kind=kind,
            channel="default-channel",
            saleor_transaction_id=transaction_id,
            coinpayments_invoice_id=invoice,
            fiat_currency="USD",
            fiat_amount=fiat,
            coin="LTCT",
            coin_amount=coin,
        )
        if kind == "payout":
            values["blockchain_tx"] = payout_tx
        values.update(more)
        return values

    fees = {"rate": "80.0000000000", "fee_network": "0.00001000", "fee_conversion": "0.00000000"}
    none = {"fee_transaction": "0.00000000", "fee_network": "0.00000000", "fee_conversion": "0.00000000"}
    return [
        row("paid", "paid", "20.00", "0.25000000", fee_transaction="0.00125000", fee_total_coin="0.00126000",
            fee_total_fiat="0.10", **fees),
        row("paid", "payout", "19.90", "0.24874000", rate="80.0000000000"),
        row("paid", "refund", "8.00", "0.1", blockchain_tx="ltct-refund-1"),
        row("underpaid", "underpaid_accepted", "10.00", "0.12500000", fee_transaction="0.00062500",
            fee_total_coin="0.00063500", fee_total_fiat="0.05", **fees),
        row("underpaid", "payout", "9.95", "0.12436500", rate="80.0000000000"),
        row("overpaid", "overpaid", "25.00", "0.31250000", fee_transaction="0.00156250",
            fee_total_coin="0.00157250", fee_total_fiat="0.12", **fees),
        row("overpaid", "payout", "24.88", "0.31092750", rate="80.0000000000"),
        row("late", "held_for_return", "20.00", "0.25000000", rate="80.0000000000", fee_total_coin="0.00000000",
            fee_total_fiat="0.00", **none),
        row("late", "coinpayments_refund", "20.00", "0.25000000", rate="80.0000000000"),
    ]  # fmt: skip


EXPECTED_TOTALS = {
    ("total:paid", "USD"): ("20.00", "0.10"),
    ("total:underpaid_accepted", "USD"): ("10.00", "0.05"),
    ("total:overpaid", "USD"): ("25.00", "0.12"),
    ("total:held_for_return", "USD"): ("20.00", "0.00"),
    ("total:payout", "USD"): ("54.73", "0"),
    ("total:refund", "USD"): ("8.00", "0"),
    ("total:coinpayments_refund", "USD"): ("20.00", "0"),
    ("total:net", "USD"): ("47.00", ""),
    ("total:paid", "LTCT"): ("0.25000000", "0.00126000"),
    ("total:underpaid_accepted", "LTCT"): ("0.12500000", "0.00063500"),
    ("total:overpaid", "LTCT"): ("0.31250000", "0.00157250"),
    ("total:held_for_return", "LTCT"): ("0.25000000", "0.00000000"),
    ("total:payout", "LTCT"): ("0.68403250", "0"),
    ("total:refund", "LTCT"): ("0.1", "0"),
    ("total:coinpayments_refund", "LTCT"): ("0.25000000", "0"),
    ("total:net", "LTCT"): ("0.58403250", ""),
}


def _comparable(row: dict[str, str]) -> dict[str, str]:
    """Everything but what only the moment or the buyer's wallet decide (checked separately)."""
    return {k: v for k, v in row.items() if k not in ("time", "buyer_tx_ids", "buyer_email", "saleor_source")}


def cli_export(world: World, tmp_path: Path, *args: str) -> str:
    """`saleor-coinpayments report ledger …` as its own process, read back byte for byte."""
    out = tmp_path / "ledger.out"
    done = world.cli("report", "ledger", *args, "--output", str(out))
    assert done.returncode == 0, done.stderr
    return out.read_bytes().decode("utf-8")


def test_a_month_of_payments_exports_to_the_expected_ledger(world: World, tmp_path: Path) -> None:
    refs = build_month(world)
    today = datetime.now(UTC).date()
    period = ("--from", today.isoformat(), "--to", (today + timedelta(days=31)).isoformat())
    text = cli_export(world, tmp_path, *period)
    assert text.startswith(",".join(COLUMNS) + "\r\n")
    parsed = list(csv.DictReader(io.StringIO(text, newline="")))
    movements = [r for r in parsed if not r["kind"].startswith("total:")]
    totals = [r for r in parsed if r["kind"].startswith("total:")]

    times = [r["time"] for r in movements]
    assert times == sorted(times)
    assert all(t.endswith("Z") for t in times)

    def key(row: dict[str, str]) -> tuple[str, str]:
        return row["coinpayments_invoice_id"], row["kind"]

    assert sorted(map(_comparable, movements), key=key) == sorted(map(_comparable, expected_rows(refs)), key=key)
    receipts = [r for r in movements if r["kind"] in ("paid", "underpaid_accepted", "overpaid")]
    assert all(len(r["buyer_tx_ids"]) == 64 for r in receipts)
    assert all(r["buyer_email"] for r in receipts)

    found = {
        (r["kind"], r["fiat_currency"] or r["coin"]): (
            r["fiat_amount"] or r["coin_amount"],
            r["fee_total_fiat"] or r["fee_total_coin"],
        )
        for r in totals
    }
    assert found == EXPECTED_TOTALS

    # The Dashboard API gives the same bytes for the same period, and JSON Lines with the same totals.
    params = {"from": period[1], "to": period[3]}
    api = dashboard(world, "GET", "/ledger", **params)
    assert api.status_code == 200, api.text
    assert api.headers["content-type"].startswith("text/csv")
    assert api.text == text
    lines = [json.loads(line) for line in dashboard(world, "GET", "/ledger", format="json", **params).text.splitlines()]
    assert [line["type"] for line in lines] == ["movement"] * len(movements) + ["totals"]
    summary = dashboard(world, "GET", "/ledger/totals", **params).json()
    assert summary == {k: v for k, v in lines[-1].items() if k != "type"}

    # Nothing of it falls into the month before.
    before = ("--from", (today - timedelta(days=30)).isoformat(), "--to", (today - timedelta(days=1)).isoformat())
    assert cli_export(world, tmp_path, *before) == ",".join(COLUMNS) + "\r\n"

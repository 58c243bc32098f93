"""The invoice state machine and exact amounts, driven directly (no HTTP)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from saleor_coinpayments.simulator.clock import SimClock
from saleor_coinpayments.simulator.currencies import CurrencyBook
from saleor_coinpayments.simulator.engine import Engine, SimSettings
from saleor_coinpayments.simulator.problems import Problem
from saleor_coinpayments.simulator.render import invoice_v2, payment_currencies
from saleor_coinpayments.simulator.validation import validate_create_v2

CLIENT = "0a1b2c3d4e5f40718293a4b5c6d7e8f9"
T0 = datetime(2025, 3, 1, 2, 30, tzinfo=UTC)


def make_engine(**settings: Any) -> Engine:
    engine = Engine(CurrencyBook.create(), SimClock(lambda: T0), SimSettings(**settings))
    engine.add_client(CLIENT, "secret")
    return engine


def create(engine: Engine, total: str = "10.00", currency: str = "5057", coin: str | None = None) -> Any:
    payment: dict[str, Any] = {"refundEmail": "buyer@example.com"}
    if coin:
        payment["paymentCurrency"] = coin
    body = {
        "currency": currency,
        "items": [{"name": "W", "quantity": {"value": 1, "type": "quantity"}, "amount": total}],
        "amount": {"breakdown": {"subtotal": total}, "total": total},
        "payment": payment,
    }
    req = validate_create_v2(body, engine.book, CLIENT)
    return engine.create_invoice(engine.clients[CLIENT], req, "http://sim.test")


def events(engine: Engine) -> list[str]:
    return [n.event for n in engine.drain()]


def test_coin_amounts_are_exact_and_rounded_up() -> None:
    engine = make_engine()
    invoice = create(engine, "44.88")
    amounts = {pc["currency"]["symbol"]: pc["amount"] for pc in payment_currencies(invoice, engine.book)}
    # 44.88/87584.12 = 0.000512421658… and 44.88/2231.54 = 0.0201116717603090242… round *up*
    assert amounts["BTC"] == "0.00051243"
    assert amounts["ETH"] == "0.020111671760309025"
    assert amounts["LTCT"] == "0.56100000"
    assert amounts["USDT.ERC20"] == "44.880000"


def test_full_payment_native_amount_is_exactly_the_total() -> None:
    engine = make_engine()
    invoice = create(engine, "19.99", coin="1")
    engine.pay(invoice, "1", "full", 2)
    payment = invoice_v2(invoice, False)["payments"][0]
    assert payment["nativeActualAmount"] == "19.99"
    assert payment["nativeExpectedAmount"] == "19.99"
    assert payment["actualAmount"] == payment["expectedAmount"]
    assert invoice.status == "paid"


def test_happy_path_events_and_pending_once_per_confirmation() -> None:
    engine = make_engine()
    invoice = create(engine, coin="4")  # ETH needs 12 confirmations
    assert events(engine) == []  # no subscribers yet: nothing is queued
    engine.clients[CLIENT].webhooks["w"] = _hook()
    engine.pay(invoice, "4", "full", 1)
    assert events(engine) == ["invoicePending"]
    engine.confirm(invoice, 10)
    assert events(engine) == ["invoicePending"] * 10
    engine.confirm(invoice, 5)  # only one more is needed; extra blocks change nothing
    assert events(engine) == ["invoicePaid"]
    assert invoice.status == "paid"
    engine.advance(timedelta(minutes=10))
    assert events(engine) == ["invoiceCompleted"]
    assert invoice.status == "completed"


def _hook() -> Any:
    from saleor_coinpayments.simulator.domain import ClientWebhook

    names = ("invoiceCreated", "invoicePending", "invoicePaid", "invoiceCompleted", "invoiceCancelled",
             "invoiceTimedOut")  # fmt: skip
    return ClientWebhook("w", "http://receiver.test/hook", names)


def test_underpaid_times_out_waiting_refund() -> None:
    engine = make_engine()
    invoice = create(engine, coin="1002")
    engine.pay(invoice, None, "partial:0.5", 2)
    assert invoice.status == "pending"
    engine.advance(timedelta(minutes=61))
    assert invoice.status == "timedOut"
    assert invoice.payment.state == "timedOutWaitingRefund"
    assert engine.refund(invoice) == "timedOutRefundProcessed"


def test_underpaid_is_accepted_when_partial_accept_is_on() -> None:
    engine = make_engine()
    engine.clients[CLIENT].partial_accept_available = True
    invoice = create(engine, "10.00", coin="1002")
    engine.pay(invoice, None, "partial:0.25", 2)
    engine.advance(timedelta(minutes=61))
    assert invoice.status == "paid"
    assert invoice_v2(invoice, False)["payments"][0]["nativeActualAmount"] == "2.50"


def test_overpaid_records_the_excess() -> None:
    engine = make_engine()
    invoice = create(engine, "10.00", coin="1002")  # 0.125 LTCT
    engine.pay(invoice, None, "over:0.1", 2)
    wallet = invoice.payment.wallets["1002"]
    assert wallet.seen == Decimal("0.13750000")
    assert invoice.status == "paid"
    assert invoice_v2(invoice, False)["payments"][0]["nativeActualAmount"] == "11.00"


def test_full_amount_seen_before_expiry_is_paid_late() -> None:
    engine = make_engine()
    invoice = create(engine, coin="1")
    engine.pay(invoice, None, "full", 1)
    engine.advance(timedelta(hours=2))
    assert invoice.status == "pending"
    engine.confirm(invoice)
    assert invoice.status == "paid"
    assert invoice.confirmed_at > invoice.payment.expires_at


def test_funds_after_timeout_wait_for_refund_and_do_not_revive_the_invoice() -> None:
    engine = make_engine()
    invoice = create(engine, coin="1")
    engine.advance(timedelta(minutes=61))
    assert invoice.status == "timedOut"
    engine.pay(invoice, None, "full", 3)
    assert invoice.status == "timedOut"
    assert invoice.payment.state == "timedOutWaitingRefund"


def test_cancel_rules() -> None:
    engine = make_engine()
    invoice = create(engine, coin="1")
    engine.pay(invoice, None, "partial:0.1", 0)  # in the mempool: detected, nothing confirmed
    with pytest.raises(Problem) as caught:
        engine.cancel(invoice)
    assert caught.value.status == 400
    other = create(engine)
    engine.cancel(other)
    assert other.status == "cancelled"
    with pytest.raises(Problem):
        engine.cancel(other)


def test_jpy_invoice_native_amounts_have_no_decimals() -> None:
    engine = make_engine()
    invoice = create(engine, "1500", currency="5060", coin="1")
    engine.pay(invoice, None, "full", 2)
    payment = invoice_v2(invoice, False)["payments"][0]
    assert payment["nativeActualAmount"] == "1500"
    assert invoice_v2(invoice, False)["amount"]["total"] == "1500"


def test_po_number_unique_per_merchant() -> None:
    engine = make_engine()
    body = {"currency": "5057", "description": "x", "amount": {"total": "1.00"}, "poNumber": "PO-1"}
    account = engine.clients[CLIENT]
    engine.create_invoice(account, validate_create_v2(body, engine.book, CLIENT), "http://sim.test")
    with pytest.raises(Problem) as caught:
        engine.create_invoice(account, validate_create_v2(body, engine.book, CLIENT), "http://sim.test")
    assert caught.value.errors == {"PoNumber": ["PO number 'PO-1' is already used by another invoice."]}

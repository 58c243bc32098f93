"""Sent-out invoices: which orders can be billed and for how much, and due dates (pure parts)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from saleor_coinpayments.money import Money, parse_json
from saleor_coinpayments.payments.invoicing.sent_invoices import (
    BillableOrder,
    InvoiceSent,
    SendRefused,
    billable_order,
    parse_due_date,
)
from tests import shared_refs


def _order(**changes: Any) -> dict[str, Any]:
    """An order as INVOICE_REQUESTED / `order(id)` carry it (amounts already Decimal)."""
    order: dict[str, Any] = parse_json(
        b"""{
        "id": "T3JkZXI6MQ==", "number": "41", "status": "UNFULFILLED", "chargeStatus": "NONE",
        "userEmail": "buyer@example.com",
        "channel": {"id": "Q2hhbm5lbDox", "slug": "default-channel", "currencyCode": "USD"},
        "billingAddress": {"firstName": "Jan", "lastName": "Kowalski"},
        "total": {"currency": "USD", "gross": {"amount": 30.0, "currency": "USD"},
                  "net": {"amount": 25.0, "currency": "USD"}, "tax": {"amount": 5.0, "currency": "USD"}},
        "shippingPrice": {"currency": "USD", "gross": {"amount": 0.0, "currency": "USD"},
                          "net": {"amount": 0.0, "currency": "USD"}, "tax": {"amount": 0.0, "currency": "USD"}},
        "totalCharged": {"amount": 0.0, "currency": "USD"},
        "lines": [{"quantity": 1, "productName": "Hoodie", "variantName": "M", "productSku": "H-M",
                   "totalPrice": {"currency": "USD", "gross": {"amount": 30.0, "currency": "USD"},
                                  "net": {"amount": 25.0, "currency": "USD"},
                                  "tax": {"amount": 5.0, "currency": "USD"}}}]
    }"""
    )
    order.update(changes)
    return order


def test_an_unpaid_order_is_billed_for_its_total() -> None:
    checked = billable_order(_order())
    assert isinstance(checked, BillableOrder)
    assert checked.amount == Money.of("30.00", "USD")
    assert checked.email == "buyer@example.com"
    assert checked.channel_slug == "default-channel"
    assert checked.summary.number == "41"


def test_a_partly_paid_order_is_billed_for_what_is_left() -> None:
    checked = billable_order(
        _order(chargeStatus="PARTIAL", totalCharged={"amount": Decimal("12.5"), "currency": "USD"})
    )
    assert isinstance(checked, BillableOrder)
    assert checked.amount == Money.of("17.50", "USD")


@pytest.mark.parametrize(
    ("changes", "code", "text"),
    [
        ({"status": "CANCELED"}, "ORDER_CANCELLED", "Order 41 is cancelled"),
        ({"status": "EXPIRED"}, "ORDER_EXPIRED", "expired"),
        ({"status": "DRAFT"}, "ORDER_DRAFT", "still a draft"),
        ({"userEmail": None}, "NO_EMAIL", "no customer e-mail"),
        ({"userEmail": "  "}, "NO_EMAIL", "no customer e-mail"),
        ({"userEmail": "buyer@localhost"}, "INVALID_EMAIL", "'buyer@localhost'"),
        ({"chargeStatus": "FULL"}, "ALREADY_PAID", "already fully paid"),
        ({"chargeStatus": "OVERCHARGED"}, "ALREADY_PAID", "already fully paid"),
        ({"totalCharged": {"amount": Decimal("30.0"), "currency": "USD"}}, "ALREADY_PAID", "fully paid"),
        ({"total": None}, "INVALID_ORDER", "no total.gross.amount"),
        ({"channel": None}, "INVALID_ORDER", "no channel"),
        # What Saleor says was charged must be read, never taken as 0: a paid order would look unpaid.
        ({"totalCharged": {"amount": "thirty", "currency": "USD"}}, "INVALID_ORDER", "'thirty'"),
        ({"totalCharged": {"amount": 30.0, "currency": "USD"}}, "INVALID_ORDER", "refusing a float"),
    ],
)
def test_orders_that_cannot_be_billed_are_refused(changes: dict[str, Any], code: str, text: str) -> None:
    refused = billable_order(_order(**changes))
    assert isinstance(refused, SendRefused)
    assert refused.code == code
    assert text in refused.message
    assert not refused.temporary


def test_the_buyer_comes_from_the_user_when_the_order_has_no_email() -> None:
    checked = billable_order(_order(userEmail=None, user={"id": "VXNlcjox", "email": "account@example.com"}))
    assert isinstance(checked, BillableOrder)
    assert checked.email == "account@example.com"


def test_the_captured_invoice_requested_order_is_billable() -> None:
    capture = shared_refs.load_capture("036-POST-invoice_requested")
    order = copy.deepcopy(parse_json(capture["body_raw"].encode())["order"])
    checked = billable_order(order)
    assert isinstance(checked, BillableOrder)
    assert (checked.amount, checked.email) == (Money.of("20.00", "USD"), "invoice.buyer@example.com")
    order["status"] = "CANCELED"
    assert isinstance(billable_order(order), SendRefused)


def test_due_dates() -> None:
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    assert parse_due_date("2026-12-31", now) == datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert parse_due_date("2026-12-01T10:00:00+02:00", now) == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    assert parse_due_date("2026-12-01T10:00:00Z", now) == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    for bad, text in [
        ("2026-11-25", "in the past"),
        ("31/12/2026", "not YYYY-MM-DD"),
        ("2026-12-01T10:00:00", "time zone"),
    ]:
        with pytest.raises(ValueError, match=text):
            parse_due_date(bad, now)


def test_the_answer_says_whether_an_invoice_was_made() -> None:
    made = InvoiceSent(
        outcome="replaced",
        order_id="T3JkZXI6MQ==",
        order_number="41",
        invoice_id="INV-2",
        invoice_url="https://checkout.example.com/invoices/INV-2",
        amount=Money.of("30", "USD"),
        email="buyer@example.com",
        state="unpaid",
        previous_invoice_id="INV-1",
    )
    assert made.describe() == (
        "created CoinPayments invoice INV-2 for order 41: 30.00 USD, e-mailed to buyer@example.com "
        "(the previous invoice INV-1 had expired or was cancelled): https://checkout.example.com/invoices/INV-2"
    )
    assert made.to_json()["created"] is True
    assert made.to_json()["amount"] == "30.00"
    found = InvoiceSent(**{**made.__dict__, "outcome": "existing", "previous_invoice_id": None})
    assert found.describe().startswith("order 41 already has CoinPayments invoice INV-2 (unpaid")
    assert found.to_json()["created"] is False

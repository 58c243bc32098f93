"""The create-invoice body: both flows, sums that always hold, the limits of
docs/reference/coinpayments.md#create-invoice."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from saleor_coinpayments.coinpayments.models import (
    INVOICE_EVENTS,
    Buyer,
    CreateInvoiceRequest,
    EmailDelivery,
    InvoiceWebhook,
    Line,
    PaymentRequest,
    PersonName,
    build_lines,
)
from saleor_coinpayments.money import MoneyError


def test_builder_computes_example_3b_sums() -> None:
    items, amount = build_lines(
        [Line(name="T-shirt", amount=Decimal("36.00"), quantity=2, tax=Decimal("2.88"), sku="TS-01")],
        decimals=2,
        shipping=Decimal("5"),
        handling=Decimal("1.00"),
        discount=Decimal("0"),
    )
    assert amount.breakdown.subtotal == Decimal("36.00")
    assert amount.breakdown.tax_total == Decimal("2.88")
    assert amount.total == Decimal("44.88")
    request = CreateInvoiceRequest(
        currency="5057",
        invoice_id="ORDER-1001",
        items=items,
        amount=amount,
        custom_data={"orderId": "1001"},
        payment=PaymentRequest(refund_email="buyer@example.com"),
        hide_shopping_cart=True,
        success_url="https://shop.example.com/orders/1001/thanks",
        cancel_url="https://shop.example.com/orders/1001/cancelled",
        webhooks=[InvoiceWebhook.for_events("https://app.example.com/coinpayments/webhook", INVOICE_EVENTS)],
    )
    wire = json.loads(request.to_json_bytes())
    assert wire["amount"] == {
        "total": "44.88",
        "breakdown": {"subtotal": "36.00", "shipping": "5.00", "handling": "1.00", "taxTotal": "2.88",
                      "discount": "0.00"},
    }  # fmt: skip
    assert wire["items"] == [
        {"name": "T-shirt", "amount": "36.00", "quantity": {"value": 2, "type": "quantity"}, "tax": "2.88",
         "sku": "TS-01"}
    ]  # fmt: skip
    assert wire["payment"] == {"refundEmail": "buyer@example.com"}
    assert wire["successUrl"].endswith("/thanks")
    assert wire["hideShoppingCart"] is True
    assert wire["webhooks"][0]["notifications"][-1] == "invoiceTimedOut"
    assert "isEmailDelivery" not in wire  # no nulls, no defaults sent


def test_body_is_compact_and_serialised_the_same_every_time() -> None:
    items, amount = build_lines([Line(name="Widget", amount=Decimal("10"))], decimals=2)
    request = CreateInvoiceRequest(currency="5057", items=items, amount=amount)
    body = request.to_json_bytes()
    assert body == (
        b'{"currency":"5057","amount":{"total":"10.00","breakdown":{"subtotal":"10.00"}},'
        b'"items":[{"name":"Widget","amount":"10.00","quantity":{"value":1,"type":"quantity"}}]}'
    )
    assert request.to_json_bytes() == body


def test_sent_out_invoice_flow() -> None:
    items, amount = build_lines([Line(name="Pro plan", amount=Decimal("49.00"))], decimals=2)
    request = CreateInvoiceRequest(
        currency="5057",
        invoice_id="INV-2025-0001",
        items=items,
        amount=amount,
        buyer=Buyer(name=PersonName(first_name="Ada", last_name="Lovelace"), email_address="ada@example.com"),
        is_email_delivery=True,
        email_delivery=EmailDelivery(to="ada@example.com", cc="billing@example.com"),
        due_date=datetime(2025, 3, 15, tzinfo=UTC),
        notes_to_recipient="Thank you for subscribing.",
    )
    wire = json.loads(request.to_json_bytes())
    assert wire["isEmailDelivery"] is True
    assert wire["emailDelivery"] == {"to": "ada@example.com", "cc": "billing@example.com"}
    assert wire["buyer"] == {"name": {"firstName": "Ada", "lastName": "Lovelace"}, "emailAddress": "ada@example.com"}
    assert wire["dueDate"].startswith("2025-03-15T00:00:00")
    assert "payment" not in wire


def test_eight_decimal_pricing_currency() -> None:
    items, amount = build_lines(
        [Line(name="a", amount=Decimal("0.00000001")), Line(name="b", amount=Decimal("0.1"))], decimals=8
    )
    request = CreateInvoiceRequest(currency="1", items=items, amount=amount)
    wire = json.loads(request.to_json_bytes())
    assert [item["amount"] for item in wire["items"]] == ["0.00000001", "0.10000000"]
    assert wire["amount"]["total"] == "0.10000001"


def test_builder_refuses_amounts_that_would_need_rounding() -> None:
    with pytest.raises(MoneyError, match="more than 2 decimal places"):
        build_lines([Line(name="x", amount=Decimal("1.005"))], decimals=2)
    with pytest.raises(MoneyError, match="float"):
        build_lines([Line(name="x", amount=1.5)], decimals=2)  # type: ignore[arg-type]


def _base(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "currency": "5057",
        "items": [{"name": "A", "amount": "30.00", "tax": "1.00"}, {"name": "B", "amount": "6.00", "tax": "1.88"}],
        "amount": {
            "breakdown": {"subtotal": "36.00", "shipping": "5.00", "handling": "1.00", "taxTotal": "2.88",
                          "discount": "0.00"},
            "total": "44.88",
        },
    }  # fmt: skip
    data.update(overrides)
    return data


def test_consistent_hand_written_body_is_accepted() -> None:
    assert CreateInvoiceRequest.model_validate(_base()).amount.total == Decimal("44.88")


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("amount", "breakdown", "subtotal"), "35.99", "subtotal"),
        (("amount", "breakdown", "taxTotal"), "2.87", "taxTotal"),
        (("amount", "breakdown", "taxTotal"), None, "taxTotal"),
        (("amount", "total"), "44.89", "total"),
        (("amount", "breakdown", "discount"), "1.00", "total"),
        (("amount", "breakdown", "shipping"), "-5.00", "negative"),
    ],
)
def test_inconsistent_sums_are_refused(path: tuple[str, ...], value: str | None, message: str) -> None:
    data = _base()
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ValidationError, match=message):
        CreateInvoiceRequest.model_validate(data)


def test_total_must_be_positive() -> None:
    data = _base(items=[{"name": "A", "amount": "0.00"}], amount={"breakdown": {"subtotal": "0.00"}, "total": "0"})
    with pytest.raises(ValidationError, match="positive"):
        CreateInvoiceRequest.model_validate(data)


@pytest.mark.parametrize(
    "overrides",
    [
        {"invoiceId": "x" * 128},
        {"description": "x" * 201},
        {"poNumber": "x" * 17},
        {"notes": "x" * 501},
        {"notesToRecipient": "x" * 2001},
        {"items": [{"name": "x" * 128, "amount": "36.00"}]},
        {"items": [{"name": "A", "amount": "36.00", "quantity": {"value": 0}}]},
        {"items": [{"name": "A", "amount": "36.00", "quantity": {"value": 1_000_000_000}}]},
        {"buyer": {"address": {"countryCode": "usa"}}},
        {"currency": "USD"},
        {"payment": {}},
        {"payment": {"refundEmail": "not-an-email"}},
        {"payment": {"refundEmail": "buyer@localhost"}},
        {"isEmailDelivery": True},
        {"emailDelivery": {"to": "a@example.com"}},
        {"webhooks": [{"notificationsUrl": "https://x.example/hook", "notifications": []}]},
        {"unknownField": 1},
    ],
)
def test_limits_and_flow_rules(overrides: dict[str, Any]) -> None:
    data = _base(items=[{"name": "A", "amount": "36.00"}])
    data["amount"]["breakdown"]["taxTotal"] = None
    data["amount"]["total"] = "42.00"
    CreateInvoiceRequest.model_validate(data)  # the base itself is valid
    with pytest.raises(ValidationError):
        CreateInvoiceRequest.model_validate({**data, **overrides})


def test_description_alone_is_enough() -> None:
    request = CreateInvoiceRequest.model_validate(
        {"currency": "5057", "description": "Order 7", "amount": {"total": "12.50"}}
    )
    assert json.loads(request.to_json_bytes())["amount"] == {"total": "12.50"}

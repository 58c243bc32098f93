"""Every create-v2 rule (docs/reference/coinpayments.md#create-invoice, #simulator) rejects with a field-keyed error;
valid bodies pass."""

from __future__ import annotations

import copy
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from saleor_coinpayments.simulator.currencies import CurrencyBook
from saleor_coinpayments.simulator.problems import Problem
from saleor_coinpayments.simulator.validation import validate_create_v2

CALLER = "0a1b2c3d4e5f40718293a4b5c6d7e8f9"
BOOK = CurrencyBook.create()

EXAMPLE_3B: dict[str, Any] = {
    "currency": "5057",
    "invoiceId": "ORDER-1001",
    "description": "Order 1001",
    "items": [
        {
            "customId": "sku-ts-01", "sku": "TS-01", "name": "T-shirt",
            "quantity": {"value": 2, "type": "quantity"},
            "originalAmount": "40.00", "amount": "36.00", "tax": "2.88",
        }
    ],
    "amount": {
        "breakdown": {
            "subtotal": "36.00", "shipping": "5.00", "handling": "1.00", "taxTotal": "2.88", "discount": "0.00",
        },
        "total": "44.88",
    },
    "customData": {"orderId": "1001", "cartHash": "9f2c"},
    "metadata": {"integration": "acme-shop/1.4.0", "hostname": "shop.example.com"},
    "payment": {"refundEmail": "buyer@example.com"},
    "hideShoppingCart": True,
    "successUrl": "https://shop.example.com/orders/1001/thanks",
    "cancelUrl": "https://shop.example.com/orders/1001/cancelled",
}  # fmt: skip


def errors_of(body: Any) -> dict[str, list[str]]:
    with pytest.raises(Problem) as caught:
        validate_create_v2(body, BOOK, CALLER)
    assert caught.value.status == 400
    assert caught.value.errors
    return caught.value.errors


def test_example_3b_is_accepted_with_exact_amounts() -> None:
    req = validate_create_v2(copy.deepcopy(EXAMPLE_3B), BOOK, CALLER)
    assert req.total == Decimal("44.88")
    assert req.breakdown.tax_total == Decimal("2.88")
    assert req.items[0].quantity == 2
    assert req.payment is not None
    assert req.payment.refund_email == "buyer@example.com"


def test_numeric_quantity_type_and_description_only_invoice() -> None:
    body = {"currency": "5057", "description": "Consulting", "amount": {"total": "100"}}
    assert validate_create_v2(body, BOOK, CALLER).total == Decimal(100)
    body = copy.deepcopy(EXAMPLE_3B)
    body["items"][0]["quantity"]["type"] = 1
    assert validate_create_v2(body, BOOK, CALLER).items[0].quantity_type == "hours"


def test_zero_decimal_currency() -> None:
    item = {"name": "x", "quantity": {"value": 1, "type": "quantity"}, "amount": "1500"}
    body = {"currency": "5060", "items": [item], "amount": {"breakdown": {"subtotal": "1500"}, "total": "1500"}}
    assert validate_create_v2(body, BOOK, CALLER).total == Decimal(1500)
    body["amount"]["total"] = "1500.0"
    assert "Amount.Total" in errors_of(body)


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(body: dict[str, Any]) -> None:
        keys = path.split(".")
        target: Any = body
        for key in keys[:-1]:
            target = target[int(key)] if key.isdigit() else target[key]
        last = keys[-1]
        if value is _DELETE:
            del target[last]
        else:
            target[int(last) if last.isdigit() else last] = value

    return apply


_DELETE = object()

CASES = [
    ("currency missing", _set("currency", _DELETE), "Currency"),
    ("currency unknown", _set("currency", "999999"), "Currency"),
    ("currency is a symbol", _set("currency", "USD"), "Currency"),
    ("currency is crypto", _set("currency", "1"), "Currency"),
    ("currency as number", _set("currency", 5057), "Currency"),
    ("no items nor description", lambda b: (b.pop("items"), b.pop("description")), "Items"),
    ("item name missing", _set("items.0.name", _DELETE), "Items[0].Name"),
    ("item name too long", _set("items.0.name", "x" * 128), "Items[0].Name"),
    ("quantity zero", _set("items.0.quantity.value", 0), "Items[0].Quantity.Value"),
    ("quantity too big", _set("items.0.quantity.value", 1_000_000_000), "Items[0].Quantity.Value"),
    ("quantity fractional", _set("items.0.quantity.value", Decimal("1.5")), "Items[0].Quantity.Value"),
    ("quantity type unknown", _set("items.0.quantity.type", "boxes"), "Items[0].Quantity.Type"),
    ("quantity type 3", _set("items.0.quantity.type", 3), "Items[0].Quantity.Type"),
    ("quantity missing", _set("items.0.quantity", _DELETE), "Items[0].Quantity"),
    ("amount as JSON number", _set("items.0.amount", Decimal("36.00")), "Items[0].Amount"),
    ("amount with exponent", _set("items.0.amount", "3.6e1"), "Items[0].Amount"),
    ("amount three places", _set("items.0.amount", "36.001"), "Items[0].Amount"),
    ("amount negative", _set("items.0.amount", "-36.00"), "Items[0].Amount"),
    ("subtotal mismatch", _set("amount.breakdown.subtotal", "35.99"), "Amount.Breakdown.Subtotal"),
    ("subtotal missing with items", _set("amount.breakdown.subtotal", _DELETE), "Amount.Breakdown.Subtotal"),
    ("taxTotal mismatch", _set("amount.breakdown.taxTotal", "2.87"), "Amount.Breakdown.TaxTotal"),
    ("taxTotal missing with item tax", _set("amount.breakdown.taxTotal", _DELETE), "Amount.Breakdown.TaxTotal"),
    ("total mismatch", _set("amount.total", "44.89"), "Amount.Total"),
    ("total missing", _set("amount.total", _DELETE), "Amount.Total"),
    ("amount missing", _set("amount", _DELETE), "Amount"),
    ("description too long", _set("description", "d" * 201), "Description"),
    ("invoiceId too long", _set("invoiceId", "i" * 128), "InvoiceId"),
    ("poNumber too long", _set("poNumber", "p" * 17), "PoNumber"),
    ("notes too long", _set("notes", "n" * 501), "Notes"),
    ("sku too long", _set("items.0.sku", "s" * 128), "Items[0].Sku"),
    ("item description too long", _set("items.0.description", "d" * 1001), "Items[0].Description"),
    ("empty payment", _set("payment", {}), "Payment"),
    ("payment without refundEmail", _set("payment", {"paymentCurrency": "1"}), "Payment.RefundEmail"),
    ("bad refundEmail", _set("payment.refundEmail", "not-an-email"), "Payment.RefundEmail"),
    ("unknown paymentCurrency", _set("payment.paymentCurrency", "12345"), "Payment.PaymentCurrency"),
    ("fiat paymentCurrency", _set("payment.paymentCurrency", "5057"), "Payment.PaymentCurrency"),
    ("coin under maintenance", _set("payment.paymentCurrency", "2"), "Payment.PaymentCurrency"),
    ("email delivery without to", _set("isEmailDelivery", True), "EmailDelivery"),
    ("email delivery bad cc", _set("emailDelivery", {"to": "a@b.co", "cc": "a@b.co;nope"}), "EmailDelivery.Cc"),
    ("webhook without notifications", _set("webhooks", [{"notificationsUrl": "https://x.example/h"}]),
     "Webhooks[0].Notifications"),
    ("webhook empty notifications",
     _set("webhooks", [{"notificationsUrl": "https://x.example/h", "notifications": []}]),
     "Webhooks[0].Notifications"),
    ("webhook unknown event", _set("webhooks", [{"notificationsUrl": "https://x.example/h", "notifications": ["x"]}]),
     "Webhooks[0].Notifications[0]"),
    ("webhook relative url", _set("webhooks", [{"notificationsUrl": "/hook", "notifications": ["invoicePaid"]}]),
     "Webhooks[0].NotificationsUrl"),
    ("customData non-string", _set("customData", {"orderId": 1001}), "CustomData.OrderId"),
    ("clientId of someone else", _set("clientId", "ffffffffffffffffffffffffffffffff"), "ClientId"),
    ("boolean as string", _set("hideShoppingCart", "true"), "HideShoppingCart"),
    ("successUrl not absolute", _set("successUrl", "thanks"), "SuccessUrl"),
    ("buyer email invalid", _set("buyer", {"emailAddress": "x@"}), "Buyer.EmailAddress"),
    ("buyer phone invalid", _set("buyer", {"phoneNumber": "call me"}), "Buyer.PhoneNumber"),
    ("country code lower", _set("buyer", {"address": {"countryCode": "us"}}), "Buyer.Address.CountryCode"),
    ("invoiceDate not a date", _set("invoiceDate", "tomorrow"), "InvoiceDate"),
    ("zero total", lambda b: b.update(items=[{"name": "x", "quantity": {"value": 1, "type": 2}, "amount": "0.00"}],
                                      amount={"breakdown": {"subtotal": "0.00"}, "total": "0.00"}), "Amount.Total"),
]  # fmt: skip


@pytest.mark.parametrize(("mutate", "field"), [pytest.param(m, f, id=name) for name, m, f in CASES])
def test_rule_rejects(mutate: Callable[[dict[str, Any]], Any], field: str) -> None:
    body = copy.deepcopy(EXAMPLE_3B)
    validate_create_v2(copy.deepcopy(body), BOOK, CALLER)  # the base body is valid
    mutate(body)
    assert field in errors_of(body)


def test_non_object_body() -> None:
    assert errors_of(["currency"]) == {"$": ["Expected a JSON object."]}


def test_every_error_is_reported_at_once() -> None:
    body = copy.deepcopy(EXAMPLE_3B)
    body["items"][0]["name"] = ""
    body["amount"]["total"] = "1.00"
    body["payment"] = {}
    assert {"Items[0].Name", "Amount.Total", "Payment"} <= set(errors_of(body))

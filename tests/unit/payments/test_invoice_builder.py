"""The create-invoice body: the sums CoinPayments checks hold for every mix of lines, shipping,
taxes, discounts and partial amounts, in 0-, 2- and 3-decimal currencies."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from saleor_coinpayments.coinpayments.models.common import INVOICE_EVENTS as MODEL_INVOICE_EVENTS
from saleor_coinpayments.coinpayments.models.invoice_request import CreateInvoiceRequest
from saleor_coinpayments.money import Money, parse_json
from saleor_coinpayments.payments.invoice_builder import (
    INVOICE_EVENTS,
    EmailDelivery,
    InvoiceBuildError,
    SourceLine,
    SourceSummary,
    build_invoice_request,
    clip,
    make_invoice_ref,
    readable_id,
    summary_from_payload,
    utf16_length,
)
from tests import shared_refs

D = Decimal
NOTIFY = "https://app.example.com/api/coinpayments/notifications/cfg1"
REF = "scp-0123abcd-0123456789abcdef01234567"


def summary(
    total: str,
    lines: list[tuple[str, int, str] | tuple[str, int, str, str]] | None = None,
    *,
    shipping: str = "0",
    currency: str = "USD",
    kind: str = "checkout",
    number: str | None = None,
    email: str | None = "buyer@example.com",
) -> SourceSummary:
    parsed = tuple(
        SourceLine(
            name=line[0],
            sku=f"SKU-{index}",
            quantity=line[1],
            total_gross=D(line[2]),
            total_net=D(line[3]) if len(line) > 3 else None,
        )
        for index, line in enumerate(lines or [])
    )
    return SourceSummary(
        kind=kind,  # type: ignore[arg-type]
        id="Q2hlY2tvdXQ6MzNlNDc4MzgtMzM0MS00OWFlLTgwNTQtYjk0MWY5ZDJiMGJm",
        number=number,
        currency=currency,
        total_gross=D(total),
        shipping_gross=D(shipping),
        lines=parsed,
        email=email,
        first_name="Jan",
        last_name="Kowalski",
        channel_slug="default-channel",
    )


def build(source: SourceSummary, amount: str | Money | None = None, **kwargs: Any) -> dict[str, Any]:
    money = amount if isinstance(amount, Money) else Money.of(amount or source.total_gross, source.currency)
    args: dict[str, Any] = {
        "amount": money,
        "invoice_ref": REF,
        "fiat_currency_id": "5057",
        "notification_url": NOTIFY,
        "refund_email": source.email,
        "success_url": None,
        "cancel_url": None,
        "payment_currency": None,
        "description": None,
    }
    args.update(kwargs)
    return build_invoice_request(source, **args)


def places(text: str) -> int:
    return len(text.partition(".")[2])


def assert_valid(body: dict[str, Any], amount: Money) -> None:
    """Every rule of docs/reference/coinpayments.md#create-invoice that CoinPayments checks, recomputed
    independently."""
    decimals = amount.decimals
    items = body["items"]
    assert items, "an invoice needs items"
    breakdown = body["amount"]["breakdown"]
    money_strings = [item["amount"] for item in items] + [v for v in breakdown.values()] + [body["amount"]["total"]]
    money_strings += [item["tax"] for item in items if "tax" in item]
    for text in money_strings:
        assert isinstance(text, str), text
        assert re.fullmatch(r"\d+(\.\d+)?", text), f"not a plain non-negative decimal: {text!r}"
        assert places(text) == decimals, f"{text!r} should have {decimals} places"
    for item in items:
        assert 1 <= item["quantity"]["value"] <= 999_999_999
        assert item["quantity"]["type"] == "quantity"
        assert 1 <= utf16_length(item["name"]) <= 127
        assert "sku" not in item or 1 <= len(item["sku"]) <= 127
    subtotal = sum((D(item["amount"]) for item in items), D(0))
    assert D(breakdown["subtotal"]) == subtotal
    if any("tax" in item for item in items):
        assert D(breakdown["taxTotal"]) == sum((D(item.get("tax", "0")) for item in items), D(0))
    else:
        assert "taxTotal" not in breakdown
    total = (
        subtotal
        + D(breakdown.get("shipping", "0"))
        + D(breakdown.get("handling", "0"))
        + D(breakdown.get("taxTotal", "0"))
        - D(breakdown.get("discount", "0"))
    )
    assert D(body["amount"]["total"]) == total == amount.rounded().amount
    assert not ("handling" in breakdown and "discount" in breakdown), "a gap is one or the other"
    for key in ("shipping", "handling", "discount"):
        assert key not in breakdown or D(breakdown[key]) > 0, f"{key} is only sent when positive"
    assert body.get("payment") != {}, "payment: {} is an error at CoinPayments"
    assert utf16_length(body["description"]) <= 200
    # The project's own wire model (the one the client sends) accepts it too.
    CreateInvoiceRequest.model_validate(body)


# --------------------------------------------------------------------------------------------
# The exact body for the captured checkout (004) and order (039)
# --------------------------------------------------------------------------------------------


def _capture_source(name: str, key: str = "sourceObject") -> dict[str, Any]:
    capture = shared_refs.load_capture(name)
    body = parse_json(capture["body_raw"])
    source: dict[str, Any] = body[key]
    return source


def test_summary_of_captured_checkout() -> None:
    s = summary_from_payload(_capture_source("004-POST-transaction_initialize_session"))
    assert s == SourceSummary(
        kind="checkout",
        id="Q2hlY2tvdXQ6MzNlNDc4MzgtMzM0MS00OWFlLTgwNTQtYjk0MWY5ZDJiMGJm",
        number=None,
        currency="USD",
        total_gross=D("20.0"),
        shipping_gross=D("0.0"),
        lines=(SourceLine(name="Monospace Tee (S)", sku="328223580", quantity=1, total_gross=D("20.0")),),
        email="buyer@example.com",
        first_name="Jan",
        last_name="Kowalski",
        channel_slug="default-channel",
    )
    assert s.display_ref == "33e47838-3341-49ae-8054-b941f9d2b0bf"


def test_body_for_captured_checkout_is_exact() -> None:
    s = summary_from_payload(_capture_source("004-POST-transaction_initialize_session"))
    body = build_invoice_request(
        s,
        amount=Money.of(D("20.0"), "USD"),
        invoice_ref=REF,
        fiat_currency_id="5057",
        notification_url=NOTIFY,
        refund_email="buyer@example.com",
        success_url="https://shop.example.com/thanks",
        cancel_url="https://shop.example.com/cart",
        payment_currency="1002",
        description=None,
    )
    assert body == {
        "currency": "5057",
        "invoiceId": REF,
        "items": [
            {
                "name": "Monospace Tee (S)",
                "quantity": {"value": 1, "type": "quantity"},
                "amount": "20.00",
                "sku": "328223580",
            }
        ],
        "amount": {"breakdown": {"subtotal": "20.00"}, "total": "20.00"},
        "description": "Checkout 33e47838-3341-49ae-8054-b941f9d2b0bf",
        "customData": {
            "saleorSourceType": "checkout",
            "saleorSourceId": "Q2hlY2tvdXQ6MzNlNDc4MzgtMzM0MS00OWFlLTgwNTQtYjk0MWY5ZDJiMGJm",
            "invoiceRef": REF,
            "saleorChannel": "default-channel",
        },
        "webhooks": [
            {
                "notificationsUrl": NOTIFY,
                "notifications": [
                    "invoiceCreated",
                    "invoicePending",
                    "invoicePaid",
                    "invoiceCompleted",
                    "invoiceCancelled",
                    "invoiceTimedOut",
                ],
            }
        ],
        "buyer": {"name": {"firstName": "Jan", "lastName": "Kowalski"}, "emailAddress": "buyer@example.com"},
        "payment": {"refundEmail": "buyer@example.com", "paymentCurrency": "1002"},
        "hideShoppingCart": True,
        "successUrl": "https://shop.example.com/thanks",
        "cancelUrl": "https://shop.example.com/cart",
    }
    assert_valid(body, Money.of("20", "USD"))


@pytest.mark.parametrize(
    ("name", "key"),
    [("039-POST-transaction_initialize_session", "sourceObject"), ("036-POST-invoice_requested", "order")],
)
def test_summary_of_captured_orders(name: str, key: str) -> None:
    s = summary_from_payload(_capture_source(name, key))
    assert s.kind == "order"
    assert s.number in {"33", "32"}
    assert s.currency == "USD"
    assert s.total_gross == D("20.0")
    assert s.shipping_gross == D("0.0")
    assert s.email in {"order.payer@example.com", "invoice.buyer@example.com"}
    assert (s.first_name, s.last_name, s.channel_slug) == ("Jan", "Kowalski", "default-channel")
    assert s.lines == (
        SourceLine(name="Monospace Tee (S)", sku="328223580", quantity=1, total_gross=D("20.0"), total_net=D("20.0")),
    )


def test_sent_out_invoice_for_captured_order() -> None:
    s = summary_from_payload(_capture_source("036-POST-invoice_requested", "order"))
    body = build(
        s,
        refund_email="invoice.buyer@example.com",
        payment_currency="1002",
        email_delivery=EmailDelivery(to="invoice.buyer@example.com", cc="shop@example.com"),
        due_date=datetime(2026, 12, 1, 12, 0, tzinfo=timezone(timedelta(hours=2))),
        note="Thank you!\nPay within 7 days.",
    )
    assert "payment" not in body, "the sent-out flow must not open a payment"
    assert "hideShoppingCart" not in body
    assert body["isEmailDelivery"] is True
    assert body["emailDelivery"] == {"to": "invoice.buyer@example.com", "cc": "shop@example.com"}
    assert body["buyer"] == {
        "name": {"firstName": "Jan", "lastName": "Kowalski"},
        "emailAddress": "invoice.buyer@example.com",
    }
    assert body["dueDate"] == "2026-12-01T10:00:00+00:00"
    assert body["notesToRecipient"] == "Thank you!\nPay within 7 days."
    assert body["description"] == "Order 32"
    assert body["customData"]["saleorOrderNumber"] == "32"
    assert body["items"][0]["name"] == "Monospace Tee (S)"
    assert_valid(body, Money.of("20", "USD"))


def test_every_captured_source_object_is_read() -> None:
    seen = 0
    for path in shared_refs.capture_paths():
        if "initialize_session" not in path.name and "process_session" not in path.name:
            continue
        body = parse_json(path.read_text(encoding="utf-8"))
        payload = parse_json(body["body_raw"]) if body.get("body_raw") else None
        if not isinstance(payload, dict) or not isinstance(payload.get("sourceObject"), dict):
            continue
        s = summary_from_payload(payload["sourceObject"])
        seen += 1
        assert s.total_gross >= 0
        assert s.currency == "USD"
        assert sum((line.total_gross for line in s.lines), D(0)) + s.shipping_gross >= 0
        if s.total_gross > 0:
            assert_valid(build(s), Money.of(s.total_gross, "USD"))
    assert seen >= 5


# --------------------------------------------------------------------------------------------
# Sums
# --------------------------------------------------------------------------------------------


def test_lines_and_shipping_itemised() -> None:
    s = summary("47.50", [("Tee", 2, "30.00"), ("Mug", 1, "12.50")], shipping="5.00")
    body = build(s)
    assert [(i["name"], i["quantity"]["value"], i["amount"]) for i in body["items"]] == [
        ("Tee", 2, "30.00"),
        ("Mug", 1, "12.50"),
    ]
    assert body["amount"] == {"breakdown": {"subtotal": "42.50", "shipping": "5.00"}, "total": "47.50"}
    assert_valid(body, Money.of("47.50", "USD"))


def test_voucher_becomes_discount() -> None:
    s = summary("40.00", [("Tee", 2, "30.00"), ("Mug", 1, "12.50")], shipping="5.00")
    body = build(s)
    assert body["amount"] == {
        "breakdown": {"subtotal": "42.50", "shipping": "5.00", "discount": "7.50"},
        "total": "40.00",
    }
    assert_valid(body, Money.of("40", "USD"))


def test_unitemised_rest_becomes_handling() -> None:
    s = summary("50.00", [("Tee", 1, "40.00")], shipping="5.00")
    body = build(s)
    assert body["amount"] == {
        "breakdown": {"subtotal": "40.00", "shipping": "5.00", "handling": "5.00"},
        "total": "50.00",
    }
    assert_valid(body, Money.of("50", "USD"))


def test_net_and_tax_itemised_when_lines_carry_tax() -> None:
    s = summary("29.52", [("Tee", 2, "24.60", "20.00"), ("Sticker", 1, "0.00", "0.00")], shipping="4.92")
    body = build(s)
    assert body["items"] == [
        {
            "name": "Tee",
            "quantity": {"value": 2, "type": "quantity"},
            "amount": "20.00",
            "sku": "SKU-0",
            "tax": "4.60",
        }
    ], "the free sticker is dropped, the tee carries its tax"
    assert body["amount"] == {
        "breakdown": {"subtotal": "20.00", "shipping": "4.92", "taxTotal": "4.60"},
        "total": "29.52",
    }
    assert_valid(body, Money.of("29.52", "USD"))


def test_tax_ignored_when_a_net_is_missing_or_odd() -> None:
    for lines in (
        [("Tee", 1, "12.30", "10.00"), ("Mug", 1, "5.00")],  # one net missing
        [("Tee", 1, "12.30", "10.00"), ("Mug", 1, "5.00", "6.00")],  # net above gross
        [("Tee", 1, "12.30", "12.30")],  # no tax at all
    ):
        s = summary(str(sum(D(line[2]) for line in lines)), lines)  # type: ignore[arg-type]
        body = build(s)
        assert all("tax" not in item for item in body["items"]), lines
        assert [item["amount"] for item in body["items"]] == [f"{D(line[2]):.2f}" for line in lines]
        assert_valid(body, Money.of(s.total_gross, "USD"))


def test_partial_amount_is_one_item() -> None:
    s = summary("47.50", [("Tee", 2, "30.00"), ("Mug", 1, "12.50")], shipping="5.00", kind="order", number="1042")
    body = build(s, "17.50")
    assert body["items"] == [
        {"name": "Payment towards order 1042", "quantity": {"value": 1, "type": "quantity"}, "amount": "17.50"}
    ]
    assert body["amount"] == {"breakdown": {"subtotal": "17.50"}, "total": "17.50"}
    assert_valid(body, Money.of("17.50", "USD"))


def test_partial_amount_for_a_checkout_names_the_checkout() -> None:
    body = build(summary("47.50", [("Tee", 1, "47.50")]), "47.49")
    assert body["items"][0]["name"] == "Payment towards checkout 33e47838-3341-49ae-8054-b941f9d2b0bf"
    assert_valid(body, Money.of("47.49", "USD"))


def test_more_than_the_total_is_one_item_too() -> None:
    body = build(summary("10.00", [("Tee", 1, "10.00")]), "12.00")
    assert [i["amount"] for i in body["items"]] == ["12.00"]
    assert_valid(body, Money.of("12", "USD"))


def test_no_priced_lines_is_one_item() -> None:
    for lines in ([], [("Gift", 1, "0.00")], [("Gift", 3, "0.004")]):
        s = summary("5.00", lines, shipping="5.00")  # type: ignore[arg-type]
        body = build(s)
        assert [i["amount"] for i in body["items"]] == ["5.00"]
        assert body["amount"]["breakdown"] == {"subtotal": "5.00"}, "no shipping without itemised lines"
        assert_valid(body, Money.of("5", "USD"))


@pytest.mark.parametrize(
    ("currency", "total", "lines", "shipping", "expected_total", "expected_lines"),
    [
        ("JPY", "1500", [("Tea", 3, "1200")], "300", "1500", ["1200"]),
        ("JPY", "1500.0", [("Tea", 3, "1200.0")], "0", "1500", ["1200"]),
        ("KWD", "12.345", [("Dates", 1, "10.1"), ("Figs", 2, "2.245")], "0", "12.345", ["10.100", "2.245"]),
        ("BHD", "0.005", [("Pin", 1, "0.005")], "0", "0.005", ["0.005"]),
        ("USD", "0.01", [("Pin", 1, "0.01")], "0", "0.01", ["0.01"]),
    ],
)
def test_currency_places(
    currency: str, total: str, lines: list[Any], shipping: str, expected_total: str, expected_lines: list[str]
) -> None:
    body = build(summary(total, lines, shipping=shipping, currency=currency))
    assert body["amount"]["total"] == expected_total
    assert [item["amount"] for item in body["items"]] == expected_lines
    assert_valid(body, Money.of(total, currency))


def test_amounts_with_extra_places_are_rounded_half_even_and_still_add_up() -> None:
    # Saleor rounds to cents; should anything arrive with more places, every part is rounded alike.
    s = summary("10.005", [("A", 1, "3.335"), ("B", 1, "3.335"), ("C", 1, "3.335")])
    body = build(s, "10.005")
    assert body["amount"]["total"] == "10.00"
    assert_valid(body, Money.of("10.005", "USD"))


@pytest.mark.parametrize("seed", range(40))
def test_random_carts_always_add_up(seed: int) -> None:
    """Property-style: many random carts; every invariant of assert_valid holds."""
    rng = random.Random(seed)
    for _ in range(25):
        currency = rng.choice(["USD", "EUR", "JPY", "KWD"])
        decimals = Money.of(0, currency).decimals
        unit = D(1).scaleb(-decimals)
        lines: list[tuple[str, int, str] | tuple[str, int, str, str]] = []
        for index in range(rng.randint(0, 7)):
            quantity = rng.randint(1, 12)
            gross = unit * rng.choice([0, 0, rng.randint(1, 10 ** (decimals + 3))])
            name = rng.choice(["Tee", "Mug", "Ünïcödé ☕", "🚀" * rng.randint(1, 90), "x" * rng.randint(1, 300), ""])
            if rng.random() < 0.5:
                net = (gross * D(rng.choice(["1", "0.8", "0.77", "1.1"]))).quantize(unit)
                lines.append((f"{name}{index}", quantity, str(gross), str(net)))
            else:
                lines.append((f"{name}{index}", quantity, str(gross)))
        shipping = unit * rng.choice([0, rng.randint(1, 10 ** (decimals + 2))])
        items_total = sum((D(line[2]) for line in lines), D(0)) + shipping
        adjustment = unit * rng.choice([0, 0, rng.randint(-(10 ** (decimals + 2)), 10 ** (decimals + 2))])
        total = max(items_total + adjustment, unit)
        s = summary(
            str(total), lines, shipping=str(shipping), currency=currency, kind=rng.choice(["order", "checkout"])
        )
        for amount in (total, max(total - unit * rng.randint(1, 50), unit), total + unit * rng.randint(1, 50)):
            body = build(s, str(amount))
            assert_valid(body, Money.of(amount, currency))
            if amount != total:
                assert len(body["items"]) == 1
                assert body["items"][0]["name"].startswith("Payment towards ")


# --------------------------------------------------------------------------------------------
# Flows and fields
# --------------------------------------------------------------------------------------------


def test_checkout_flow_without_refund_email_has_no_payment_object() -> None:
    for email in (None, "", "not-an-address", "a@b", "two@example.com;three@example.com"):
        body = build(summary("5.00", [("Tee", 1, "5.00")], email=email), refund_email=email, payment_currency="1002")
        assert "payment" not in body, email
        assert body["hideShoppingCart"] is True
        assert_valid(body, Money.of("5", "USD"))


def test_checkout_flow_payment_currency_is_optional() -> None:
    body = build(summary("5.00", [("Tee", 1, "5.00")]))
    assert body["payment"] == {"refundEmail": "buyer@example.com"}
    body = build(summary("5.00", [("Tee", 1, "5.00")]), payment_currency="4:0xdac17f958d2ee523a2206206994597c13d831ec7")
    assert body["payment"]["paymentCurrency"] == "4:0xdac17f958d2ee523a2206206994597c13d831ec7"
    for key in ("isEmailDelivery", "emailDelivery", "dueDate", "notesToRecipient", "successUrl", "cancelUrl"):
        assert key not in body


def test_buyer_left_out_without_data() -> None:
    bare = SourceSummary(
        kind="checkout",
        id="c1",
        number=None,
        currency="USD",
        total_gross=D(5),
        shipping_gross=D(0),
        lines=(),
        email=None,
        first_name=None,
        last_name=None,
        channel_slug=None,
    )
    body = build(bare)
    assert "buyer" not in body
    assert body["customData"] == {"saleorSourceType": "checkout", "saleorSourceId": "c1", "invoiceRef": REF}
    assert body["items"][0]["name"] == "Payment towards checkout c1"
    assert_valid(body, Money.of("5", "USD"))


def test_description_given_is_clipped_to_200() -> None:
    body = build(summary("5.00", [("Tee", 1, "5.00")]), description="Order at Shop — " + "ü" * 400)
    assert utf16_length(body["description"]) == 200
    assert body["description"].endswith("…")
    assert body["description"].startswith("Order at Shop — üü")


def test_names_and_skus_clipped_safely() -> None:
    long_name = "🚀" * 100  # 200 UTF-16 units
    line = SourceLine(name=long_name, sku="S" * 300, quantity=1, total_gross=D("5.00"))
    s = SourceSummary(
        kind="order",
        id="o1",
        number="7",
        currency="USD",
        total_gross=D(5),
        shipping_gross=D(0),
        lines=(line,),
        email=None,
        first_name="F" * 200,
        last_name=None,
        channel_slug=None,
    )
    body = build(s)
    item = body["items"][0]
    assert utf16_length(item["name"]) <= 127
    assert item["name"] == "🚀" * 63 + "…", "never half a surrogate pair"
    assert item["sku"] == "S" * 127
    assert len(body["buyer"]["name"]["firstName"]) == 140
    assert_valid(body, Money.of("5", "USD"))


def test_clip() -> None:
    assert clip("  a\tb\n\x00c  ", 10) == "a b c"
    assert clip("abcdef", 4) == "abc…"
    assert clip("abcdef", 4, ellipsis=False) == "abcd"
    assert clip("abc" + "e\u0301" * 3, 5) == "abc…", "a combining accent stays with its letter"
    assert clip("line 1\r\nline 2\n\n  line 3 ", 100, multiline=True) == "line 1\nline 2\n\nline 3"
    assert clip("x", 1) == "x"
    assert utf16_length("a🚀") == 3


def test_quantity_out_of_range_is_folded_into_the_name() -> None:
    line = SourceLine(name="Screw", sku=None, quantity=2_000_000_000, total_gross=D("20.00"))
    s = SourceSummary(
        kind="order",
        id="o1",
        number="7",
        currency="USD",
        total_gross=D(20),
        shipping_gross=D(0),
        lines=(line,),
        email=None,
        first_name=None,
        last_name=None,
        channel_slug=None,
    )
    body = build(s)
    assert body["items"][0]["quantity"]["value"] == 1
    assert body["items"][0]["name"] == "2000000000 × Screw"
    assert_valid(body, Money.of("20", "USD"))


def test_sent_out_flow_without_optional_fields() -> None:
    body = build(summary("5.00", [("Tee", 1, "5.00")]), email_delivery=EmailDelivery(to="  a@example.com "))
    assert body["emailDelivery"] == {"to": "a@example.com"}
    for key in ("dueDate", "notesToRecipient", "payment"):
        assert key not in body
    assert_valid(body, Money.of("5", "USD"))


def test_webhooks_subscribe_to_all_six_invoice_events() -> None:
    body = build(summary("5.00", [("Tee", 1, "5.00")]))
    assert body["webhooks"] == [{"notificationsUrl": NOTIFY, "notifications": list(INVOICE_EVENTS)}]
    assert len(set(INVOICE_EVENTS)) == 6
    assert list(INVOICE_EVENTS) == [event.value for event in MODEL_INVOICE_EVENTS]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"amount": Money.of("5", "EUR")}, "EUR"),
        ({"amount": Money.of("0", "USD")}, "nothing to invoice"),
        ({"amount": Money.of("0.004", "USD")}, "nothing to invoice"),
        ({"fiat_currency_id": "USD"}, "currency id"),
        ({"notification_url": "ftp://x"}, "notification URL"),
        ({"notification_url": ""}, "notification URL"),
        ({"invoice_ref": ""}, "reference"),
        ({"invoice_ref": "x" * 128}, "reference"),
        ({"success_url": "javascript:alert(1)"}, "success URL"),
        ({"cancel_url": "/relative"}, "cancel URL"),
        ({"payment_currency": "BTC"}, "currency id"),
        ({"email_delivery": EmailDelivery(to=" ")}, "emailDelivery"),
        ({"email_delivery": EmailDelivery(to="a@example.com"), "due_date": datetime(2026, 1, 1)}, "aware"),
    ],
)
def test_impossible_arguments_are_refused(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(InvoiceBuildError, match=match):
        build(summary("5.00", [("Tee", 1, "5.00")]), **kwargs)


# --------------------------------------------------------------------------------------------
# Reading sources
# --------------------------------------------------------------------------------------------


def _checkout(**overrides: Any) -> dict[str, Any]:
    source: dict[str, Any] = {
        "__typename": "Checkout",
        "id": "Q2hlY2tvdXQ6YWJj",
        "email": "buyer@example.com",
        "channel": {"slug": "eu", "currencyCode": "EUR"},
        "totalPrice": {"gross": {"amount": D("30.5"), "currency": "EUR"}},
        "shippingPrice": {"gross": {"amount": D("4.5"), "currency": "EUR"}},
        "lines": [
            {
                "quantity": 2,
                "variant": {"name": "Red", "sku": None, "product": {"name": "Cap"}},
                "unitPrice": {"gross": {"amount": D("13")}, "net": {"amount": D("10")}},
            }
        ],
    }
    source.update(overrides)
    return source


def test_summary_tolerates_missing_optional_fields() -> None:
    s = summary_from_payload(_checkout())
    assert (s.kind, s.currency, s.channel_slug) == ("checkout", "EUR", "eu")
    assert s.lines == (SourceLine(name="Cap (Red)", sku=None, quantity=2, total_gross=D(26), total_net=D(20)),)
    assert (s.first_name, s.last_name, s.number) == (None, None, None)
    bare = summary_from_payload(
        {
            "__typename": "Checkout",
            "id": "c",
            "totalPrice": {"gross": {"amount": 7}},
            "channel": {"currencyCode": "usd"},
        }
    )
    assert (bare.currency, bare.total_gross, bare.shipping_gross, bare.lines, bare.email) == (
        "USD",
        D(7),
        D(0),
        (),
        None,
    )


def test_summary_unpriced_line_means_no_itemisation() -> None:
    s = summary_from_payload(_checkout(lines=[{"quantity": 1, "variant": {"name": "X"}}]))
    assert s.lines == ()


def test_summary_email_fallbacks_and_names() -> None:
    order = {
        "id": "o",
        "number": 12,
        "userEmail": None,
        "user": {"email": "user@example.com"},
        "total": {"gross": {"amount": D("1.00"), "currency": "USD"}},
        "billingAddress": {"firstName": " Ada ", "lastName": ""},
        "lines": [
            {
                "quantity": 1,
                "productName": "Tee",
                "variantName": "tee",
                "productSku": "",
                "totalPrice": {"gross": {"amount": D(1)}},
            }
        ],
    }
    s = summary_from_payload(order)
    assert (s.kind, s.number, s.email, s.first_name, s.last_name) == ("order", "12", "user@example.com", "Ada", None)
    assert (s.lines[0].name, s.lines[0].sku) == ("Tee", None)


@pytest.mark.parametrize(
    ("source", "match"),
    [
        ({"__typename": "Order", "total": {"gross": {"amount": D(1), "currency": "USD"}}}, "no id"),
        ({"__typename": "Order", "id": "o", "total": {"gross": {"currency": "USD"}}}, "no total"),
        ({"__typename": "Checkout", "id": "c", "totalPrice": {"gross": {"amount": 1.5, "currency": "USD"}}}, "float"),
        (
            {"__typename": "Checkout", "id": "c", "totalPrice": {"gross": {"amount": D(-1), "currency": "USD"}}},
            "negative",
        ),
        ({"__typename": "Checkout", "id": "c", "totalPrice": {"gross": {"amount": D(1)}}}, "no currency"),
        ({"__typename": "User", "id": "u"}, "User"),
        ({"id": "x"}, "neither"),
        (_checkout(lines=[{"quantity": 1.5}]), "quantity"),
        (_checkout(lines=[{"quantity": -1}]), "quantity"),
        (_checkout(lines=["nope"]), "not an object"),
        (_checkout(shippingPrice={"gross": {"amount": D("-2")}}), "negative"),
    ],
)
def test_summary_refuses_impossible_input(source: dict[str, Any], match: str) -> None:
    with pytest.raises(InvoiceBuildError, match=match):
        summary_from_payload(source)


def test_summary_refuses_non_objects() -> None:
    with pytest.raises(InvoiceBuildError):
        summary_from_payload(None)  # type: ignore[arg-type]


def test_readable_id() -> None:
    assert readable_id("Q2hlY2tvdXQ6MzNlNDc4MzgtMzM0MS00OWFlLTgwNTQtYjk0MWY5ZDJiMGJm") == (
        "33e47838-3341-49ae-8054-b941f9d2b0bf"
    )
    assert readable_id("T3JkZXI6NjhiNDY5Y2Q") == "68b469cd"
    assert readable_id("plain-id") == "plain-id"
    assert readable_id("") == ""


# --------------------------------------------------------------------------------------------
# Invoice references
# --------------------------------------------------------------------------------------------


def test_invoice_ref_is_deterministic_short_and_unique() -> None:
    ref = make_invoice_ref("inst-1", "VHJhbnNhY3Rpb25JdGVtOmY3NDU=")
    assert ref == make_invoice_ref("inst-1", "VHJhbnNhY3Rpb25JdGVtOmY3NDU=")
    assert re.fullmatch(r"scp-[0-9a-f]{8}-[0-9a-f]{24}", ref)
    assert len(ref) <= 127
    refs = {make_invoice_ref(f"inst-{i % 3}", f"tx-{i // 3}") for i in range(3000)}
    assert len(refs) == 3000
    # The same transaction id in two installations gives two references.
    assert make_invoice_ref("a", "tx") != make_invoice_ref("b", "tx")
    assert make_invoice_ref("a", "tx").split("-")[1] == make_invoice_ref("a", "other").split("-")[1]
    with pytest.raises(InvoiceBuildError):
        make_invoice_ref("", "tx")


def test_due_date_in_utc() -> None:
    body = build(
        summary("5.00", [("Tee", 1, "5.00")]),
        email_delivery=EmailDelivery(to="a@example.com"),
        due_date=datetime(2026, 5, 1, tzinfo=UTC),
    )
    assert body["dueDate"] == "2026-05-01T00:00:00+00:00"

"""Parsing CoinPayments answers: strict where docs/reference/coinpayments.md says Sure, tolerant where it says
Unsure; no float."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from saleor_coinpayments.coinpayments.models import (
    ClientWebhookList,
    CreateInvoiceResponse,
    Currency,
    CurrencyList,
    Invoice,
    InvoiceList,
    InvoiceStatus,
    PaymentAddress,
    PaymentState,
    PaymentStatus,
    V1Money,
    WebhookEnvelope,
    WebhookEventType,
    wire_amount_to_decimal,
)
from saleor_coinpayments.money import parse_json

from . import samples


def test_create_response_white_label_without_preset_coin() -> None:
    created = CreateInvoiceResponse.model_validate(parse_json(samples.CREATE_3B)).invoices[0]
    assert created.id == "7c9e6679-7425-40de-944b-e07fc1f90ae7"
    assert created.checkout_link is not None
    assert created.checkout_link.endswith("invoice-id=7c9e6679-7425-40de-944b-e07fc1f90ae7")
    assert created.hot_wallet is None
    assert created.payment is not None
    assert created.payment.refund_email == "buyer@example.com"
    btc, usdt = created.payment.payment_currencies
    assert (btc.currency.symbol, btc.currency.decimal_places, btc.amount) == ("BTC", 8, Decimal("0.00051240"))
    assert usdt.currency.id == "4:0xdac17f958d2ee523a2206206994597c13d831ec7"
    assert usdt.amount == Decimal("45.012345")
    assert isinstance(usdt.approximate_network_amount, Decimal)
    assert created.payment.expires is not None
    assert created.payment.expires.utcoffset() is not None


def test_create_response_with_hot_wallet_reads_bip21_casing() -> None:
    created = CreateInvoiceResponse.model_validate(parse_json(samples.CREATE_3C)).invoices[0]
    assert created.hot_wallet is not None
    assert created.hot_wallet.addresses.address == "mkT3yFq1e7xQ9pBn8J2vYkLh4gP5sW6dZr"
    assert created.hot_wallet.addresses.bip21 == "litecoin:mkT3yFq1e7xQ9pBn8J2vYkLh4gP5sW6dZr?amount=0.018125"
    assert created.hot_wallet.amount == Decimal("0.01812500")


def test_create_response_needs_at_least_one_invoice_with_id_and_link() -> None:
    with pytest.raises(ValidationError):
        CreateInvoiceResponse.model_validate({"invoices": []})
    with pytest.raises(ValidationError):
        CreateInvoiceResponse.model_validate({"invoices": [{"id": "x"}]})


def test_v2_invoice_reads_amounts_payments_and_custom_data() -> None:
    invoice = Invoice.model_validate(parse_json(samples.INVOICE_6A))
    assert invoice.status is InvoiceStatus.COMPLETED
    assert invoice.invoice_id == "ORDER-1001"
    assert invoice.amount.total == Decimal("44.88")
    assert invoice.amount.breakdown.tax_total == Decimal("2.88")
    assert invoice.currency.decimal_places == 2
    assert invoice.custom_data == {"orderId": "1001", "cartHash": "9f2c"}
    (payment,) = invoice.payments
    assert payment.state is PaymentState.COMPLETED
    assert payment.native_actual_amount == Decimal("44.88")
    assert payment.actual_amount == Decimal("0.00051240")
    assert invoice.native_amount_received() == Decimal("44.88")
    assert invoice.expires is not None
    assert invoice.expires.year == 2026


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("timedOut", InvoiceStatus.TIMED_OUT),
        ("TimedOut", InvoiceStatus.TIMED_OUT),
        ("TIMEDOUT", InvoiceStatus.TIMED_OUT),
        ("Paid", InvoiceStatus.PAID),
        ("scheduledForPayout", InvoiceStatus.SCHEDULED_FOR_PAYOUT),
        ("Cancelled", InvoiceStatus.CANCELLED),
    ],
)
def test_status_casing_is_normalised(raw: str, expected: InvoiceStatus) -> None:
    data = parse_json(samples.INVOICE_6A)
    data["status"] = raw
    assert Invoice.model_validate(data).status is expected


def test_state_is_read_when_status_is_absent() -> None:
    data = parse_json(samples.INVOICE_6A)
    del data["status"]
    data["state"] = "Pending"
    assert Invoice.model_validate(data).status is InvoiceStatus.PENDING


def test_unknown_invoice_status_is_refused() -> None:
    data = parse_json(samples.INVOICE_6A)
    data["status"] = "halfPaid"
    with pytest.raises(ValidationError, match="unknown InvoiceStatus"):
        Invoice.model_validate(data)


def test_unknown_payment_state_is_tolerated_as_unknown() -> None:
    data = parse_json(samples.INVOICE_6A)
    data["payments"][0]["state"] = "SomethingNew"
    assert Invoice.model_validate(data).payments[0].state is PaymentState.UNKNOWN


def test_float_amount_is_refused() -> None:
    data = parse_json(samples.INVOICE_6A)
    data["amount"]["total"] = 44.88  # what httpx's response.json() would give for a JSON number
    with pytest.raises(ValidationError, match="float"):
        Invoice.model_validate(data)


def test_json_number_amount_becomes_exact_decimal() -> None:
    raw = samples.INVOICE_6A.replace('"total": "44.88"', '"total": 44.88')
    assert Invoice.model_validate(parse_json(raw)).amount.total == Decimal("44.88")


def test_unknown_fields_are_ignored() -> None:
    data = parse_json(samples.INVOICE_6A)
    data["somethingAddedIn2027"] = {"x": 1}
    assert Invoice.model_validate(data).id == "7c9e6679-7425-40de-944b-e07fc1f90ae7"


def test_list_with_items_and_paging() -> None:
    page = InvoiceList.model_validate(parse_json(samples.LIST_6B))
    assert [i.invoice_id for i in page.items] == ["ORDER-1001"]
    assert page.items[0].status is InvoiceStatus.PAID
    assert page.paging.after == "7c9e6679-7425-40de-944b-e07fc1f90ae7"


def test_list_as_bare_array_from_older_docs() -> None:
    data = parse_json(samples.LIST_6B)["items"]
    page = InvoiceList.model_validate(data)
    assert len(page.items) == 1
    assert page.paging.after is None


def test_payment_address_converts_smallest_units_with_coin_decimals() -> None:
    btc = PaymentAddress.model_validate(parse_json(samples.ADDRESS_4A))
    assert btc.amount_due == Decimal("0.00051240")
    assert btc.remaining == Decimal("0.00051240")
    assert btc.amount.rate == Decimal("0.000011417")
    assert [(b.name, b.value) for b in btc.amount.breakdown] == [("subtotal", 46790), ("networkFee", 4450)]
    usdt = PaymentAddress.model_validate(parse_json(samples.ADDRESS_4B))
    assert usdt.amount_due == Decimal("45.012345")
    assert usdt.addresses.bip21 is None


def test_payment_status_reads_confirmations_and_amounts() -> None:
    status = PaymentStatus.model_validate(parse_json(samples.STATUS_5B))
    assert status.status is InvoiceStatus.PENDING
    assert status.payment is not None
    assert status.payment.currency_id == "1"
    assert (status.payment.confirmations, status.payment.required_confirmations) == (1, 2)
    assert status.payment.unconfirmed_amount.to_decimal(8) == Decimal("0.00051240")
    assert status.payment.confirmed_amount.to_decimal(8) == Decimal("0")


def test_v1_money_refuses_fractional_smallest_units_and_needs_decimals() -> None:
    with pytest.raises(ValidationError, match="whole"):
        V1Money.model_validate({"value": "12.5"})
    with pytest.raises(ValueError, match="decimal places"):
        V1Money.model_validate({"value": "1250"}).to_decimal()
    assert V1Money.model_validate({"value": 1250, "decimalPlaces": 2}).to_decimal() == Decimal("12.50")


@pytest.mark.parametrize(
    ("amount", "decimals", "units"),
    [("44.88", 2, 4488), ("0.00051240", 8, 51240), ("0.00000001", 8, 1), ("123456.78", 2, 12345678)],
)
def test_decimal_round_trip_two_and_eight_places(amount: str, decimals: int, units: int) -> None:
    money = V1Money.model_validate({"value": str(units), "decimalPlaces": decimals})
    assert money.to_decimal() == Decimal(amount)
    assert int(Decimal(amount).scaleb(decimals)) == units
    option = CreateInvoiceResponse.model_validate(
        parse_json(samples.CREATE_3B.replace('"amount": "0.00051240"', f'"amount": "{amount}"', 1))
    ).invoices[0]
    assert option.payment is not None
    read = option.payment.payment_currencies[0].amount
    assert read == Decimal(amount)
    assert format(read, "f") == amount  # the scale survives: "0.00051240" stays 8 places
    dumped = option.payment.payment_currencies[0].model_dump(mode="json", by_alias=True)
    assert dumped["amount"] == amount  # and goes out as a plain string, never 1E-8


def test_currencies_as_bare_array_or_items() -> None:
    array = "[" + ",".join([samples.CURRENCY_USD, samples.CURRENCY_BTC]) + "]"
    wrapped = '{"items": ' + array + "}"
    for raw in (array, wrapped):
        listed = CurrencyList.model_validate(parse_json(raw)).items
        assert [(c.symbol, c.is_fiat, c.decimal_places) for c in listed] == [("USD", True, 2), ("BTC", False, 8)]


def test_currency_type_casing_and_numeric_id() -> None:
    currency = Currency.model_validate({"id": 5057, "type": "Fiat", "symbol": "USD", "decimalPlaces": 2})
    assert currency.id == "5057"
    assert currency.is_fiat


def test_client_webhook_list() -> None:
    hooks = ClientWebhookList.model_validate(parse_json(samples.WEBHOOK_LIST)).items
    assert hooks[0].notifications_url == "https://merchant.example.com/coinpayments/webhook"
    assert "invoiceTimedOut" in hooks[0].notifications


def test_webhook_envelope_pascal_case_and_smallest_unit_amounts() -> None:
    envelope = WebhookEnvelope.model_validate(parse_json(samples.DELIVERY_7B))
    assert envelope.type is WebhookEventType.INVOICE_PENDING
    assert envelope.raw_type == "InvoicePending"
    assert envelope.invoice.state is InvoiceStatus.PENDING
    assert envelope.invoice.raw_state == "Pending"
    assert envelope.invoice.invoice_id == "ORDER-1001"
    assert envelope.timestamp is not None
    assert envelope.invoice.amount is not None
    assert envelope.invoice.amount.total_decimal(2) == Decimal("44.88")


def test_webhook_amounts_as_decimal_strings() -> None:
    data = parse_json(samples.DELIVERY_7B)
    data["invoice"]["amount"]["total"] = "44.88"
    envelope = WebhookEnvelope.model_validate(data)
    assert envelope.invoice.amount is not None
    assert envelope.invoice.amount.total_decimal(2) == Decimal("44.88")
    assert wire_amount_to_decimal(51240, 8) == Decimal("0.00051240")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("invoiceCompleted", WebhookEventType.INVOICE_COMPLETED),
        ("InvoiceCompleted", WebhookEventType.INVOICE_COMPLETED),
        ("InvoiceTimedOut", WebhookEventType.INVOICE_TIMED_OUT),
        ("InvoicePaymentCreated", WebhookEventType.PAYMENT_CREATED),
        ("paymentTimedOut", WebhookEventType.PAYMENT_TIMED_OUT),
        ("SomethingElse", WebhookEventType.UNKNOWN),
    ],
)
def test_webhook_type_casing(raw: str, expected: WebhookEventType) -> None:
    data = parse_json(samples.DELIVERY_7B)
    data["type"] = raw
    assert WebhookEnvelope.model_validate(data).type is expected


def test_webhook_envelope_tolerates_status_key_and_odd_amounts_but_needs_ids() -> None:
    data = parse_json(samples.DELIVERY_7B)
    del data["invoice"]["state"]
    data["invoice"]["status"] = "paid"
    data["invoice"]["amount"] = "garbage"
    envelope = WebhookEnvelope.model_validate(data)
    assert envelope.invoice.state is InvoiceStatus.PAID
    assert envelope.invoice.amount is None
    del data["invoice"]["id"]
    with pytest.raises(ValidationError):
        WebhookEnvelope.model_validate(data)

"""Parsing Saleor's payment webhook bodies and shaping our answers the way Saleor validates them."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from saleor_coinpayments.money import parse_json
from saleor_coinpayments.payments.checkout.responses import ActionResult, SessionResult, charge_failure
from saleor_coinpayments.payments.checkout.storefront_data import StorefrontDataError, parse_storefront_data
from saleor_coinpayments.payments.payloads import (
    PayloadError,
    parse_action_request,
    parse_gateway_initialize,
    parse_transaction_session,
)


def _body(capture: Callable[[str], dict[str, Any]], name: str) -> dict[str, Any]:
    payload = parse_json(capture(name)["body_raw"])
    assert isinstance(payload, dict)
    return payload


def test_captured_initialize_parses_with_decimal_money(capture: Callable[[str], dict[str, Any]]) -> None:
    session = parse_transaction_session(_body(capture, "004-POST-transaction_initialize_session"))
    assert session.amount.amount == Decimal("20.0")
    assert isinstance(session.amount.amount, Decimal)
    assert session.amount.currency == "USD"
    assert session.source_type == "checkout"
    assert session.transaction_id
    assert session.channel_slug


def test_captured_order_initialize_and_zero_amount(capture: Callable[[str], dict[str, Any]]) -> None:
    order = parse_transaction_session(_body(capture, "039-POST-transaction_initialize_session"))
    assert order.source_type == "order"
    paid = parse_transaction_session(_body(capture, "041-POST-transaction_initialize_session"))
    assert paid.amount.is_zero()


def test_captured_process_and_actions_parse(capture: Callable[[str], dict[str, Any]]) -> None:
    process = parse_transaction_session(_body(capture, "005-POST-transaction_process_session"))
    assert process.psp_reference
    refund = parse_action_request(_body(capture, "006-POST-transaction_refund_requested"))
    assert refund.amount == Decimal("5.0")
    assert refund.action_type == "REFUND"
    gateway = parse_gateway_initialize(_body(capture, "003-POST-payment_gateway_initialize_session"))
    assert gateway.channel_slug


def test_an_action_request_without_an_amount_parses(capture: Callable[[str], dict[str, Any]]) -> None:
    """Saleor 3.20's TransactionAction.amount is nullable (required from 3.21)."""
    body = _body(capture, "011-POST-transaction_cancelation_requested")
    body["action"]["amount"] = None
    request = parse_action_request(body)
    assert request.amount is None
    assert request.action_type == "CANCEL"
    assert request.transaction_id


@pytest.mark.parametrize(
    "broken",
    [
        {},
        {"transaction": {"id": "t"}, "action": {"amount": 1.5, "currency": "USD"}},
        {
            "transaction": {"id": "t"},
            "action": {"amount": "abc", "currency": "USD"},
            "sourceObject": {"__typename": "Checkout", "id": "c", "channel": {"slug": "x"}},
        },
        {
            "transaction": {"id": "t"},
            "action": {"amount": Decimal("-1"), "currency": "USD"},
            "sourceObject": {"__typename": "Checkout", "id": "c", "channel": {"slug": "x"}},
        },
        {
            "transaction": {"id": "t"},
            "action": {"amount": Decimal("1"), "currency": "USD"},
            "sourceObject": {"__typename": "Shop", "id": "c", "channel": {"slug": "x"}},
        },
    ],
)
def test_malformed_session_bodies_are_refused(broken: dict[str, Any]) -> None:
    with pytest.raises(PayloadError):
        parse_transaction_session(broken)


def test_float_money_is_refused_even_if_a_parser_produced_one() -> None:
    body = {
        "transaction": {"id": "t"},
        "action": {"amount": 20.0, "currency": "USD"},
        "sourceObject": {"__typename": "Checkout", "id": "c", "channel": {"slug": "x"}},
    }
    with pytest.raises(PayloadError):
        parse_transaction_session(body)


def test_session_answer_never_sends_an_empty_external_url() -> None:
    body = SessionResult(result="CHARGE_ACTION_REQUIRED", message="m", psp_reference="p", external_url="").to_json()
    assert "externalUrl" not in body
    body = SessionResult(result="CHARGE_SUCCESS", message="m", psp_reference="p", amount="7.50").to_json()
    assert body == {"result": "CHARGE_SUCCESS", "message": "m", "data": None, "pspReference": "p", "amount": "7.50"}


def test_messages_are_cut_to_saleors_limit() -> None:
    body = ActionResult(result="REFUND_FAILURE", message="x" * 600).to_json()
    assert len(body["message"]) == 512
    assert body["message"].endswith("…")


def test_charge_failure_carries_a_code_for_the_storefront() -> None:
    body = charge_failure("Not set up.", code="NOT_CONFIGURED").to_json()
    assert body["result"] == "CHARGE_FAILURE"
    assert body["data"] == {"error": {"code": "NOT_CONFIGURED", "message": "Not set up."}}
    assert "pspReference" not in body


def test_storefront_data_accepts_the_documented_keys() -> None:
    options = parse_storefront_data(
        {"successUrl": "https://shop.test/ok?x=1", "cancelUrl": "http://shop.test/c", "paymentCurrency": "LTCT"}
    )
    assert options.success_url == "https://shop.test/ok?x=1"
    assert options.payment_currency == "LTCT"
    assert parse_storefront_data(None).success_url is None


@pytest.mark.parametrize(
    "data",
    [
        "string",
        {"returnUrl": "https://shop.test"},
        {"successUrl": "javascript:alert(1)"},
        {"cancelUrl": "/relative"},
        {"paymentCurrency": "BTC; DROP"},
        {"successUrl": 5},
    ],
)
def test_storefront_data_mistakes_are_explained(data: Any) -> None:
    with pytest.raises(StorefrontDataError):
        parse_storefront_data(data)

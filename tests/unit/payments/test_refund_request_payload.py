"""Reading a TRANSACTION_REFUND_REQUESTED body (payments/refunds/request_payload.py): the amount,
which REFUND_REQUEST event it is, the staff's reason, who asked, and the buyer's address."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from saleor_coinpayments.money import parse_json
from saleor_coinpayments.payments.payloads import PayloadError
from saleor_coinpayments.payments.refunds.request_payload import parse_refund_request

D = Decimal


def event(
    event_id: str,
    amount: Any = D("5.00"),
    *,
    created: str = "2026-03-01T10:00:00+00:00",
    psp: str | None = None,
    message: str | None = "Damaged parcel",
    by: Any = None,
    kind: str = "REFUND_REQUEST",
) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": kind,
        "pspReference": psp,
        "amount": {"amount": amount, "currency": "USD"},
        "createdAt": created,
        "message": message,
        "createdBy": by,
    }


def body(**parts: Any) -> dict[str, Any]:
    transaction: dict[str, Any] = {"id": "VHJhbnNhY3Rpb246MQ==", "pspReference": "inv-1", "events": []}
    transaction.update(parts.pop("transaction", {}))
    payload: dict[str, Any] = {
        "action": {"actionType": "REFUND", "amount": D("5.00"), "currency": "USD"},
        "transaction": transaction,
        "issuingPrincipal": None,
        "grantedRefund": None,
    }
    payload.update(parts)
    return payload


STAFF = {"__typename": "User", "email": " staff@example.com ", "id": "VXNlcjox"}


def test_the_action_gives_transaction_and_amount() -> None:
    request = parse_refund_request(body())
    assert request.transaction_id == "VHJhbnNhY3Rpb246MQ=="
    assert request.action.amount == D("5.00")
    assert request.action.psp_reference == "inv-1"


def test_a_json_float_amount_stays_exact() -> None:
    payload = parse_json(
        b'{"action":{"actionType":"REFUND","amount":0.1,"currency":"USD"},'
        b'"transaction":{"id":"VHJhbnNhY3Rpb246MQ==","events":[{"id":"e1","type":"REFUND_REQUEST",'
        b'"pspReference":null,"amount":{"amount":0.1,"currency":"USD"},"message":"why"}]}}'
    )
    request = parse_refund_request(payload)
    assert request.action.amount == D("0.1")
    assert (request.request_event_id, request.reason) == ("e1", "why")


def test_a_body_without_a_transaction_is_refused() -> None:
    with pytest.raises(PayloadError):
        parse_refund_request({"action": {"amount": "1", "currency": "USD"}})


def test_the_request_event_is_the_newest_matching_refund_request_without_a_psp_reference() -> None:
    events = [
        event("older", created="2026-03-01T09:00:00+00:00", message="older one", by=STAFF),
        event("newest", created="2026-03-01T11:00:00+00:00", message=" newest one ", by=STAFF),
        event("answered", created="2026-03-01T12:00:00+00:00", psp="inv-1:r1", message="already answered"),
        event("other-amount", D("7.00"), created="2026-03-01T13:00:00+00:00", message="another amount"),
        event("not-a-request", created="2026-03-01T14:00:00+00:00", kind="REFUND_SUCCESS", message="done"),
        "not an event",
    ]
    request = parse_refund_request(body(transaction={"events": events}))
    assert request.request_event_id == "newest"
    assert request.reason == "newest one"
    assert request.requested_by == "staff@example.com"


def test_an_event_without_an_amount_still_matches() -> None:
    events = [event("e1", None, message="no amount on the event")]
    assert parse_refund_request(body(transaction={"events": events})).request_event_id == "e1"


def test_an_integer_amount_on_the_event_matches() -> None:
    events = [event("e1", 5, message="whole")]
    payload = body(transaction={"events": events}, action={"actionType": "REFUND", "amount": 5, "currency": "USD"})
    assert parse_refund_request(payload).request_event_id == "e1"


@pytest.mark.parametrize("amount", [True, "5.00", 5.0])
def test_an_event_amount_that_is_not_a_decimal_counts_as_no_amount(amount: Any) -> None:
    events = [event("e1", amount)]
    assert parse_refund_request(body(transaction={"events": events})).request_event_id == "e1"


def test_without_a_request_event_the_granted_refunds_reason_and_the_issuer_are_used() -> None:
    payload = body(
        grantedRefund={"reason": "  Goodwill  "},
        issuingPrincipal={"__typename": "App", "identifier": "erp.sync", "id": "QXBwOjE="},
    )
    request = parse_refund_request(payload)
    assert request.request_event_id is None
    assert request.reason == "Goodwill"
    assert request.requested_by == "app erp.sync"


def test_an_event_without_a_message_falls_back_to_the_granted_refunds_reason() -> None:
    events = [event("e1", message="   ")]
    payload = body(transaction={"events": events}, grantedRefund={"reason": "Granted reason"})
    assert parse_refund_request(payload).reason == "Granted reason"


@pytest.mark.parametrize(
    ("principal", "expected"),
    [
        ({"__typename": "User", "email": "a@example.com", "id": "VXNlcjox"}, "a@example.com"),
        ({"__typename": "User", "email": " ", "id": "VXNlcjox"}, "VXNlcjox"),
        ({"__typename": "User"}, None),
        ({"__typename": "App", "identifier": "erp", "id": "QXBwOjE="}, "app erp"),
        ({"__typename": "App", "id": "QXBwOjE="}, "app QXBwOjE="),
        ({"__typename": "App"}, None),
        ({"__typename": "Other", "email": "x@example.com"}, None),
        ("staff", None),
        (None, None),
    ],
)
def test_who_asked(principal: Any, expected: str | None) -> None:
    assert parse_refund_request(body(issuingPrincipal=principal)).requested_by == expected


def test_the_event_author_comes_before_the_issuing_principal() -> None:
    events = [event("e1", by={"__typename": "User", "email": "author@example.com"})]
    payload = body(transaction={"events": events}, issuingPrincipal={"__typename": "App", "identifier": "erp"})
    assert parse_refund_request(payload).requested_by == "author@example.com"
    events = [event("e1", by=None)]
    payload = body(transaction={"events": events}, issuingPrincipal={"__typename": "App", "identifier": "erp"})
    assert parse_refund_request(payload).requested_by == "app erp"


@pytest.mark.parametrize(
    ("order", "checkout", "expected"),
    [
        ({"userEmail": " buyer@example.com "}, {"email": "other@example.com"}, "buyer@example.com"),
        ({"userEmail": None}, {"email": "checkout@example.com"}, "checkout@example.com"),
        (None, {"email": "checkout@example.com"}, "checkout@example.com"),
        ("not an order", "not a checkout", None),
        (None, None, None),
    ],
)
def test_the_buyers_address(order: Any, checkout: Any, expected: str | None) -> None:
    payload = body(transaction={"order": order, "checkout": checkout})
    assert parse_refund_request(payload).buyer_email == expected


def test_events_that_are_not_a_list_are_no_events() -> None:
    payload = body(transaction={"events": {"id": "e1"}}, grantedRefund="not an object")
    request = parse_refund_request(payload)
    assert (request.request_event_id, request.reason) == (None, None)


def test_an_event_whose_amount_is_not_an_object_counts_as_no_amount() -> None:
    for amount in (None, "5.00", 5):
        e = {**event("e1"), "amount": amount}
        assert parse_refund_request(body(transaction={"events": [e]})).request_event_id == "e1"


def test_an_event_without_a_time_counts_as_the_oldest() -> None:
    events = [event("dated", created="2026-03-01T09:00:00+00:00"), {**event("undated"), "createdAt": None}]
    assert parse_refund_request(body(transaction={"events": events})).request_event_id == "dated"
    events = [{**event("undated"), "createdAt": None}]
    assert parse_refund_request(body(transaction={"events": events})).request_event_id == "undated"

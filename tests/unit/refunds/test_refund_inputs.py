"""What the refund flow reads from Saleor's body and from staff, on the real shapes (capture 048)."""

from __future__ import annotations

from decimal import Decimal

from saleor_coinpayments.money import parse_json
from saleor_coinpayments.payments.refunds.request_payload import parse_refund_request
from saleor_coinpayments.payments.refunds.service import Refused, Transfer, parse_reason, parse_transfer
from tests.shared_refs import load_capture


def test_the_real_refund_request_gives_amount_reason_and_request_event() -> None:
    capture = load_capture("048-POST-transaction_refund_requested")
    request = parse_refund_request(parse_json(capture["body_raw"]))
    assert request.action.amount == Decimal("5.0")
    assert request.action.currency == "USD"
    assert request.reason == "Customer returned the item"
    # The REFUND_REQUEST without a pspReference is this request; the older one was already answered.
    assert request.request_event_id == "VHJhbnNhY3Rpb25FdmVudDoxODM="
    assert request.requested_by is None  # staff requests carry no issuingPrincipal (captures README)


def test_who_asked_and_the_buyer_come_from_the_request_event_and_the_order() -> None:
    body = {
        "issuingPrincipal": None,
        "grantedRefund": {"id": "R1", "reason": "granted reason"},
        "action": {"actionType": "REFUND", "amount": Decimal("3.5"), "currency": "EUR"},
        "transaction": {
            "id": "VHJhbnNhY3Rpb25JdGVtOjE=",
            "pspReference": "inv",
            "order": {"id": "o", "userEmail": "buyer@example.com"},
            "checkout": None,
            "events": [
                {"id": "old", "type": "REFUND_REQUEST", "pspReference": "", "amount": {"amount": Decimal("9")}},
                {
                    "id": "new",
                    "type": "REFUND_REQUEST",
                    "pspReference": "",
                    "message": "",
                    "createdAt": "2026-12-01T00:00:00+00:00",
                    "amount": {"amount": Decimal("3.5")},
                    "createdBy": {"__typename": "User", "id": "VXNlcjox", "email": "staff@shop.example"},
                },
            ],
        },
    }
    request = parse_refund_request(body)
    assert request.request_event_id == "new"
    assert request.requested_by == "staff@shop.example"
    assert request.reason == "granted reason"  # the event has none: the granted refund's reason
    assert request.buyer_email == "buyer@example.com"


def test_a_transfer_needs_a_transaction_id_and_a_coin_for_an_amount() -> None:
    assert parse_transfer(" 0xabc ", "ltct", "0.0251", " thanks ") == Transfer(
        tx_id="0xabc", coin="LTCT", coin_amount=Decimal("0.0251"), note="thanks"
    )
    refused = parse_transfer("", None, "0.5", None)
    assert isinstance(refused, Refused)
    assert set(refused.errors) == {"tx", "coin"}
    for bad_amount in ("-1", "0", "abc", "NaN", 0.5):
        result = parse_transfer("tx", "BTC", bad_amount, None)
        assert isinstance(result, Refused), bad_amount
        assert set(result.errors) == {"amount"}
    assert set(parse_transfer("has space", "B!TC").errors) == {"tx", "coin"}  # type: ignore[union-attr]
    assert set(parse_transfer("x" * 256).errors) == {"tx"}  # type: ignore[union-attr]
    assert set(parse_transfer("tx", note="n" * 1001).errors) == {"note"}  # type: ignore[union-attr]


def test_a_decline_needs_a_reason() -> None:
    assert parse_reason("  the parcel came back empty ") == "the parcel came back empty"
    assert isinstance(parse_reason("   "), Refused)
    assert isinstance(parse_reason(None), Refused)
    assert isinstance(parse_reason("r" * 501), Refused)

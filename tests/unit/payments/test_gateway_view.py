"""Reading a v2 invoice into what the state machine needs (amounts in the checkout currency)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from saleor_coinpayments.coinpayments.models.invoices import Invoice
from saleor_coinpayments.payments.gateway import invoice_view
from saleor_coinpayments.payments.refresh import next_check_delay
from saleor_coinpayments.states import PaymentState

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _invoice(status: str, payments: list[dict[str, Any]], **extra: Any) -> Invoice:
    return Invoice.model_validate(
        {
            "id": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
            "status": status,
            "currency": {"id": "5057", "symbol": "USD", "decimalPlaces": 2},
            "amount": {"breakdown": {"subtotal": "20.00"}, "total": "20.00"},
            "expires": "2026-11-25T13:00:00+00:00",
            "payments": payments,
            **extra,
        }
    )


def _payment(state: str, native: str, confirmations: int = 0, active: bool = True) -> dict[str, Any]:
    return {
        "paymentCurrencyId": "1",
        "nativeActualAmount": native,
        "state": state,
        "confirmations": confirmations,
        "requiredConfirmations": 2,
        "isActive": active,
    }


def test_detected_and_credited_amounts_are_split_by_payment_state() -> None:
    view = invoice_view(
        _invoice("Pending", [_payment("pending", "12.50", 1), _payment("confirmed", "5.00", 2, active=False)]), NOW
    )
    assert view.status == "pending"
    assert view.detected == Decimal("12.50")
    assert view.credited == Decimal("5.00")
    assert view.confirmations == 1
    assert view.required_confirmations == 2
    assert view.expires_at == datetime(2026, 11, 25, 13, 0, tzinfo=UTC)


def test_refunds_are_counted_apart() -> None:
    view = invoice_view(_invoice("timedOut", [_payment("timedOutWaitingRefund", "3.00")]), NOW)
    assert view.refunded == Decimal("3.00")
    assert view.credited == 0
    assert view.status == "timedOut"


def test_paid_without_payment_details_counts_the_invoice_total() -> None:
    view = invoice_view(_invoice("completed", []), NOW)
    assert view.credited == Decimal("20.00")


def test_a_cancelled_invoice_ends_the_watch_at_its_cancellation() -> None:
    view = invoice_view(_invoice("cancelled", [], cancelled="2026-11-25T12:30:00+00:00"), NOW)
    assert view.ended_at == datetime(2026, 11, 25, 12, 30, tzinfo=UTC)


def test_reconciler_schedule_follows_the_interval() -> None:
    young = NOW - timedelta(minutes=1)
    old = NOW - timedelta(hours=5)
    assert next_check_delay(PaymentState.PENDING, old, NOW, 30) == timedelta(seconds=30)
    assert next_check_delay(PaymentState.UNPAID, young, NOW, 30) == timedelta(seconds=30)
    assert next_check_delay(PaymentState.UNPAID, NOW - timedelta(hours=1), NOW, 30) == timedelta(minutes=2)
    assert next_check_delay(PaymentState.UNPAID, old, NOW, 30) == timedelta(minutes=15)
    assert next_check_delay(PaymentState.EXPIRED, young, NOW, 30) == timedelta(minutes=30)

"""Pure rules of issue 11: which order is being paid, its total, due dates and reminder wording."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from saleor_coinpayments.money import MoneyError
from saleor_coinpayments.payments.invoicing.order_events import being_paid, order_total
from saleor_coinpayments.payments.invoicing.reminders import default_due_date, describe_offset


def _money(amount: float) -> dict[str, object]:
    """As the app reads Saleor's JSON: numbers become Decimal (never float)."""
    return {"amount": Decimal(str(amount)), "currency": "USD"}


def test_an_order_is_being_paid_while_a_transaction_holds_pending_or_authorized_money() -> None:
    assert not being_paid({"transactions": []})
    assert not being_paid({"transactions": [{"chargePendingAmount": _money(0), "authorizedAmount": _money(0)}]})
    assert being_paid({"transactions": [{"chargePendingAmount": _money(20.0), "authorizedAmount": _money(0)}]})
    assert being_paid({"transactions": [{"chargePendingAmount": None, "authorizedAmount": _money(0.01)}]})
    # An amount that cannot be read is not taken as 0 (the order might be paid): the event is refused.
    with pytest.raises(MoneyError, match="'x'"):
        being_paid({"transactions": [{"chargePendingAmount": {"amount": "x"}}]})


def test_order_total_is_the_gross_amount_as_decimal() -> None:
    assert order_total({"total": {"gross": _money(85.1)}}) == Decimal("85.1")
    assert order_total({}) == Decimal(0)


def test_default_due_date_is_the_end_of_the_day_n_days_ahead_in_utc() -> None:
    now = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)
    assert default_due_date(7, now) == datetime(2026, 12, 8, 23, 59, 59, tzinfo=UTC)


def test_reminder_offsets_read_as_days_before_and_after() -> None:
    due = date(2026, 12, 8)
    assert describe_offset(-3, due) == "3 days before the due date 2026-12-08"
    assert describe_offset(1, due) == "1 day after the due date 2026-12-08"
    assert describe_offset(0, due) == "on the due date 2026-12-08"

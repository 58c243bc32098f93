"""Which listed statuses are news for a stored payment (payments/sweep.py `moved`)."""

from __future__ import annotations

import pytest

from saleor_coinpayments.coinpayments.models.common import InvoiceStatus
from saleor_coinpayments.payments.sweep import SWEPT_STATUSES, moved
from saleor_coinpayments.states import PaymentState

S = PaymentState
NEWS = {
    InvoiceStatus.PENDING: {S.UNPAID},
    InvoiceStatus.PAID: {S.UNPAID, S.PENDING, S.EXPIRED, S.CANCELLED},  # late money counts too
    InvoiceStatus.COMPLETED: {S.UNPAID, S.PENDING, S.EXPIRED, S.CANCELLED, S.PAID},
    InvoiceStatus.CANCELLED: {S.UNPAID, S.PENDING},
    InvoiceStatus.TIMED_OUT: {S.UNPAID, S.PENDING},
}


@pytest.mark.parametrize("listed", SWEPT_STATUSES)
@pytest.mark.parametrize("stored", list(PaymentState))
def test_a_listed_status_is_news_only_when_the_stored_state_is_behind_it(listed: InvoiceStatus, stored: S) -> None:
    assert moved(stored, listed) is (stored in NEWS[listed])


def test_unpaid_invoices_are_never_listed() -> None:
    assert InvoiceStatus.UNPAID not in SWEPT_STATUSES  # the bulk of a quiet shop costs no list page

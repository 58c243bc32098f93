"""The receipt's figures (issue #28): which case, what came in, every decimal, nothing the buyer does not need."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from saleor_coinpayments.locale import Speaker
from saleor_coinpayments.payments.checkout.receipt import build
from saleor_coinpayments.store.tables import InvoicePaymentRecord, Payment

PAID_AT = datetime(2026, 12, 7, 14, 3, tzinfo=UTC)
EN, DE = Speaker("en"), Speaker("de")
BTC = {"currency": {"id": "1", "symbol": "BTC", "name": "Bitcoin", "decimals": 8}}


def _payment(state: str, credited: str, **columns: Any) -> Payment:
    values: dict[str, Any] = {
        "id": "p1",
        "state": state,
        "amount": Decimal("20.00"),
        "currency": "USD",
        "credited_amount": Decimal(credited),
        "our_invoice_ref": "scp-00000000-000000000000000000000001",
        "invoice_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
        "details": {},
        "updated_at": PAID_AT,
    }
    return Payment(**(values | columns))


def _record(amount: str, native: str, coin: str = "1", symbol: str = "BTC", txs: tuple[str, ...] = ()) -> Any:
    return InvoicePaymentRecord(
        payment_id="p1",
        coin_currency_id=coin,
        coin_symbol=symbol,
        actual_amount=Decimal(amount),
        native_actual_amount=Decimal(native),
        buyer_tx_ids=list(txs),
        received_at=PAID_AT,
    )


def test_a_paid_payment_has_every_field_and_no_id_the_buyer_does_not_need() -> None:
    payment = _payment("paid", "20.00", coin_currency_id="1", coin_details=BTC)
    receipt = build(payment, [_record("0.00022830", "20.00", txs=("ab" * 32,))], "Acme", EN)
    assert receipt is not None
    assert receipt.as_json() == {
        "case": "paid",
        "shop": "Acme",
        "date": "Dec 7, 2026, 2:03:00\u202fPM UTC",
        "amount": "$20.00",
        "received": "$20.00",
        "difference": None,
        "coins": ["0.00022830 BTC"],  # the trailing zero is a decimal of BTC's eight
        "transactions": ["ab" * 32],
        "invoiceNumber": "scp-00000000-000000000000000000000001",
        "complete": True,
    }
    assert payment.invoice_id not in str(receipt.as_json())


def test_over_and_under_paid() -> None:
    over = build(_payment("completed", "22.00"), [_record("0.00025", "22.00")], "Acme", EN)
    assert over is not None
    assert (over.case, over.received, over.difference) == ("overpaid", "$22.00", "$2.00")
    under = build(_payment("paid", "12.50"), [_record("0.00014", "12.50")], "Acme", EN)
    assert under is not None
    assert (under.case, under.received, under.difference) == ("underpaid", "$12.50", "$7.50")


def test_an_ended_invoice_with_money_in_is_returned_and_one_without_has_no_receipt() -> None:
    returned = build(_payment("expired", "0"), [_record("0.5", "10.00", coin="1002", symbol="LTCT")], "Acme", EN)
    assert returned is not None
    assert (returned.case, returned.received, returned.coins) == ("returned", "$10.00", ("0.5 LTCT",))
    assert build(_payment("expired", "0"), [], "Acme", EN) is None
    assert build(_payment("cancelled", "0"), [_record("0", "0")], "Acme", EN) is None


@pytest.mark.parametrize("state", ["unpaid", "pending"])
def test_no_receipt_before_money_is_credited(state: str) -> None:
    assert build(_payment(state, "0"), [_record("0.0001", "8.00")], "Acme", EN) is None


def test_coin_amounts_keep_every_decimal_without_an_exponent() -> None:
    tiny = build(_payment("paid", "20.00"), [_record("0.00000010", "20.00", coin="9", symbol="XYZ")], "Acme", EN)
    assert tiny is not None
    assert tiny.coins == ("0.00000010 XYZ",)


def test_before_coinpayments_reports_the_payment_the_chosen_coin_status_stands_in() -> None:
    status = {"detected": "0.00022830", "confirmed": "0.00022830", "confirmations": 2, "requiredConfirmations": 2}
    payment = _payment("paid", "20.00", coin_currency_id="1", coin_details=BTC, coin_status=status)
    receipt = build(payment, [], "Acme", EN)
    assert receipt is not None
    assert (receipt.coins, receipt.transactions, receipt.complete) == (("0.00022830 BTC",), (), True)
    unknown = build(_payment("paid", "20.00"), [], "Acme", EN)
    assert unknown is not None
    assert (unknown.coins, unknown.complete) == ((), False)


def test_transaction_ids_are_listed_once_each() -> None:
    records = [_record("0.0001", "10.00", txs=("a1",)), _record("0.0001", "10.00", coin="2", txs=("a1", "b2"))]
    receipt = build(_payment("paid", "20.00"), records, "Acme", EN)
    assert receipt is not None
    assert receipt.transactions == ("a1", "b2")


def test_the_receipt_speaks_the_pages_language() -> None:
    """Issue #28: amounts and the date as the buyer's locale writes them; coin amounts keep every decimal."""
    payment = _payment("completed", "22.00", coin_currency_id="1", coin_details=BTC)
    receipt = build(payment, [_record("0.00025000", "22.00")], "Acme", DE)
    assert receipt is not None
    assert (receipt.date, receipt.amount, receipt.received, receipt.difference) == (
        "07.12.2026, 14:03:00 UTC",
        "20,00\xa0$",
        "22,00\xa0$",
        "2,00\xa0$",
    )
    assert receipt.coins == ("0,00025000 BTC",)

"""Issue #29: the pieces of the books that need no database: what is kept from an invoice read,
the kinds of receipts, the period, and the CSV cells."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from saleor_coinpayments.coinpayments.models import Invoice
from saleor_coinpayments.payments.books.export import amount_text, neutralise, time_text
from saleor_coinpayments.payments.books.ledger import Period, PeriodError, receipt_kind
from saleor_coinpayments.payments.books.received import rate_of, reported_values

NOW = datetime(2026, 11, 5, 12, 0, tzinfo=UTC)


def invoice(payment: dict[str, Any]) -> Invoice:
    return Invoice.model_validate(
        {
            "id": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
            "status": "completed",
            "currency": {"id": "5057", "symbol": "USD", "name": "US Dollar", "decimalPlaces": 2},
            "amount": {"total": "44.88"},
            "customData": {"saleorOrderNumber": "1001"},
            "payments": [payment],
        }
    )


PAID_OUT = {
    "paymentCurrencyId": "1",
    "paymentCurrencySymbol": "BTC",
    "nativeCurrencySymbol": "USD",
    "expectedAmount": "0.00051240",
    "nativeExpectedAmount": "44.88",
    "actualAmount": "0.00051240",
    "nativeActualAmount": "44.88",
    "refundEmail": "buyer@example.com",
    "state": "completed",
    "confirmedAt": "2025-03-01T02:52:10+00:00",
    "fees": {
        "merchantFee": {"coinPaymentsFee": "0.00000256", "networkFee": "0.0000045", "conversionFee": "0", "total": "x"}
    },
    "nativeFees": {"merchantFee": {"total": "0.62"}},
    "payout": {
        "completedAt": "2025-03-01T03:05:44+00:00",
        "blockchainTx": "ab" * 32,
        "receivedBlockchainTx": "cd" * 32,
        "displayValue": "0.00050534",
    },
    "nativePayout": {"completedAt": "2025-03-01T03:05:44+00:00", "displayValue": "44.26"},
}


def test_an_invoice_read_keeps_coin_fees_payout_and_references_exactly() -> None:
    with pytest.raises(ValueError, match="total"):
        invoice(PAID_OUT)  # an amount that is not a decimal string is refused, not guessed
    fees = {"merchantFee": {"coinPaymentsFee": "0.00000256", "networkFee": "0.0000045", "conversionFee": "0"}}
    read = invoice(PAID_OUT | {"fees": fees})
    values = reported_values(read, read.payments[0], NOW)
    assert values == {
        "coin_symbol": "BTC",
        "native_currency": "USD",
        "state": "completed",
        "order_number": "1001",
        "expected_amount": Decimal("0.00051240"),
        "actual_amount": Decimal("0.00051240"),
        "native_actual_amount": Decimal("44.88"),
        "rate": Decimal("87587.8220140515"),
        "fee_transaction": Decimal("0.00000256"),
        "fee_network": Decimal("0.0000045"),
        "fee_conversion": Decimal("0"),
        "native_fee_total": Decimal("0.62"),
        "payout_amount": Decimal("0.00050534"),
        "native_payout_amount": Decimal("44.26"),
        "payout_tx": "ab" * 32,
        "payout_completed_at": datetime(2025, 3, 1, 3, 5, 44, tzinfo=UTC),
        "buyer_tx_ids": ["cd" * 32],
        "refund_email": "buyer@example.com",
    }
    assert str(values["fee_network"]) == "0.0000045"


def test_a_payout_not_yet_completed_is_not_booked() -> None:
    scheduled = {"scheduledAt": "2025-03-01T02:52:10+00:00", "displayValue": "0.00050534", "blockchainTx": None}
    fees = {"merchantFee": {"coinPaymentsFee": "0.00000256"}}
    read = invoice(PAID_OUT | {"fees": fees, "payout": scheduled, "nativePayout": scheduled})
    values = reported_values(read, read.payments[0], NOW)
    assert (values["payout_amount"], values["payout_tx"], values["payout_completed_at"]) == (None, None, None)
    assert values["native_payout_amount"] is None


def test_the_rate_is_the_quote_rounded_and_absent_without_one() -> None:
    read = invoice(PAID_OUT | {"fees": None, "expectedAmount": "0.25000000", "nativeExpectedAmount": "20.00"})
    assert rate_of(read.payments[0]) == Decimal("80.0000000000")
    assert rate_of(invoice(PAID_OUT | {"fees": None, "expectedAmount": "0"}).payments[0]) is None
    assert rate_of(invoice(PAID_OUT | {"fees": None, "nativeExpectedAmount": None}).payments[0]) is None


@pytest.mark.parametrize(
    ("amount", "credited", "details", "held", "kind"),
    [
        ("20.00", "20.00", {}, False, "paid"),
        ("20.00", "10.00", {}, False, "underpaid"),
        ("20.00", "10.00", {"accepted_as_paid": {"shortfall": "10.00"}}, False, "underpaid_accepted"),
        ("20.00", "25.00", {}, False, "overpaid"),
        ("20.00", "20.00", {"info_keys": ["info:late"]}, False, "late"),
        ("20.00", "0", {}, True, "held_for_return"),
    ],
)
def test_receipt_kinds(amount: str, credited: str, details: dict[str, Any], held: bool, kind: str) -> None:
    assert receipt_kind(Decimal(amount), Decimal(credited), details, held) == kind


def test_a_period_is_whole_utc_days_both_included() -> None:
    period = Period.parse("2026-11-01", " 2026-11-30 ")
    assert period.start == datetime(2026, 11, 1, tzinfo=UTC)
    assert period.end == datetime(2026, 12, 1, tzinfo=UTC)
    assert Period.parse("2026-11-05", "2026-11-05").end == datetime(2026, 11, 6, tzinfo=UTC)


@pytest.mark.parametrize(
    ("first", "last", "message"),
    [
        ("2026-11-31", "2026-12-01", "'from' must be a date"),
        ("2026-11-01", "", "'to' must be a date"),
        ("20261101", "2026-12-01", "'from' must be a date"),
        ("2026-W45-1", "2026-12-01", "'from' must be a date"),
        ("2026-11-02", "2026-11-01", "'from' must not be after 'to'"),
        ("2000-01-01", "2026-01-01", "at most ten years"),
    ],
)
def test_a_bad_period_says_why(first: str, last: str, message: str) -> None:
    with pytest.raises(PeriodError, match=message):
        Period.parse(first, last)


@pytest.mark.parametrize("lead", ["=", "+", "-", "@", "\t", "\r"])
def test_a_cell_a_spreadsheet_would_run_is_neutralised(lead: str) -> None:
    assert neutralise(f"{lead}HYPERLINK(1)") == f"'{lead}HYPERLINK(1)"


def test_plain_cells_and_amounts_are_written_as_they_are() -> None:
    assert neutralise("buyer@example.com") == "buyer@example.com"
    assert neutralise("") == ""
    assert amount_text(Decimal("0E-8")) == "0.00000000"
    assert amount_text(Decimal("1E+2")) == "100"
    assert amount_text(Decimal("0.1")) == "0.1"
    assert amount_text(None) == ""
    assert time_text(datetime(2026, 11, 5, 13, 0, 1, 999, tzinfo=UTC)) == "2026-11-05T13:00:01Z"


def test_the_ledger_route_is_declared_with_its_answers(tmp_path: Any) -> None:
    from saleor_coinpayments.app import create_app
    from saleor_coinpayments.settings import load_settings

    settings = load_settings(data_dir=tmp_path, secret_key="test-secret-key-for-openapi-only-0000")
    paths = create_app(settings).openapi()["paths"]
    ledger = paths["/api/dashboard/ledger"]["get"]
    assert set(ledger["responses"]) >= {"200", "400", "401", "403"}
    assert set(ledger["responses"]["200"]["content"]) >= {"text/csv", "application/x-ndjson"}
    assert {p["name"] for p in ledger["parameters"]} >= {"from", "to", "channel", "format"}
    assert "get" in paths["/api/dashboard/ledger/totals"]

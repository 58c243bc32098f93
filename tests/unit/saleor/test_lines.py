"""Saleor lines: which line a version names, and what each line takes from the app (issue #27)."""

from __future__ import annotations

import pytest

from saleor_coinpayments.saleor.lines import NEWEST, line_of, schema_version_of, takes_payment_method_details
from saleor_coinpayments.saleor.payment_method_details import event_report_call
from saleor_coinpayments.saleor.schema import load_document


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("3.20", "3.20"),
        ("3.23.28", "3.23"),
        ("3.24.0-a.0", "3.24"),
        (" 3.21 ", "3.21"),
        ("", None),
        ("x", None),
        (None, None),
        (3.2, None),
    ],
)
def test_schema_version_of(given: object, expected: str | None) -> None:
    assert schema_version_of(given) == expected


def test_an_unknown_line_counts_as_given() -> None:
    assert line_of(None, unknown=NEWEST) == NEWEST
    assert line_of("3.20.119", unknown=NEWEST) == (3, 20)
    assert line_of("3.9", unknown=NEWEST) < line_of("3.20", unknown=NEWEST)  # numbers, not text


@pytest.mark.parametrize(
    ("version", "takes"),
    [("3.20", False), ("3.21", False), ("3.22", True), ("3.23", True), ("4.0", True), (None, False)],
)
def test_payment_method_details_from_3_22_on(version: str | None, takes: bool) -> None:
    assert takes_payment_method_details(version) is takes
    variables = {
        "id": "T",
        "type": "CHARGE_SUCCESS",
        "paymentMethodDetails": {"other": {"name": "BTC via CoinPayments"}},
    }
    document, sent = event_report_call(version, variables)
    assert ("paymentMethodDetails" in sent) is takes
    assert document == load_document("transaction_event_report_with_method" if takes else "transaction_event_report")
    assert {k: v for k, v in sent.items() if k != "paymentMethodDetails"} == {"id": "T", "type": "CHARGE_SUCCESS"}


def test_a_report_without_a_method_uses_the_plain_document_everywhere() -> None:
    assert event_report_call("3.23", {"id": "T"}) == (load_document("transaction_event_report"), {"id": "T"})

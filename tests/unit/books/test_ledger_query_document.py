"""The ledger's `from`/`to` as `/openapi.json` declares them is the text `Period.parse` takes.

Schemathesis sends what the pattern allows and expects it taken; here the two are compared day by
day over whole leap cycles (and century years), padded and not, so neither can drift alone.
"""

from __future__ import annotations

import re
from datetime import date

import pytest

from saleor_coinpayments.payments.books.ledger import Period, PeriodError
from saleor_coinpayments.web.dashboard_books import DAY_SCHEMA

DAY_PATTERN = re.compile(DAY_SCHEMA["pattern"])
YEARS = [*range(1, 9), *range(1896, 1905), *range(1996, 2005), 2100, 2400, 9999]


def parses(text: str) -> bool:
    try:
        Period.parse(text, text)
    except PeriodError:
        return False
    return True


def is_a_day(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("year", YEARS)
def test_the_declared_day_is_the_day_the_app_reads(year: int) -> None:
    for month in range(0, 14):
        for day in range(0, 33):
            text = f"{year:04d}-{month:02d}-{day:02d}"
            assert bool(DAY_PATTERN.match(text)) == parses(text) == is_a_day(year, month, day), text


@pytest.mark.parametrize(
    "text",
    ["0000-01-01", " 2026-11-01\t", "\u30002026-02-28\u2029", "20261101", "2026-W45-1", "2026-11-1", "2026-11-01Z", ""],
)
def test_odd_text_is_declared_as_the_app_reads_it(text: str) -> None:
    assert bool(DAY_PATTERN.match(text)) == parses(text)

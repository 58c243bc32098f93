"""The render module's figures, made with contexts made once, are the ones a context per call made."""

from __future__ import annotations

from decimal import ROUND_UP, Decimal, InvalidOperation, localcontext

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from saleor_coinpayments.money import format_decimal
from saleor_coinpayments.simulator.currencies import CurrencyBook
from saleor_coinpayments.simulator.render import places

amounts = st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**30), max_value=10**30, places=None)


@settings(max_examples=500, deadline=None)
@given(amounts, st.integers(min_value=0, max_value=30))
def test_places_is_format_decimal(amount: Decimal, decimal_places: int) -> None:
    try:
        expected = format_decimal(amount, decimal_places)
    except InvalidOperation:
        # money.quantize's precision misses the digit a carry adds past 28 digits (999….5 → 1000…);
        # places() gives the figure there, and no answer carries such an amount.
        assume(False)
    assert places(amount, decimal_places) == expected


def test_places_keeps_every_digit_and_rounds_half_to_even() -> None:
    assert places(Decimal("7.505"), 2) == "7.50"
    assert places(Decimal("-0"), 2) == "-0.00"
    assert places(Decimal("1E+2"), 0) == "100"
    big = Decimal("123456789012345678901234567890.123456789012345678")
    assert places(big, 18) == "123456789012345678901234567890.123456789012345678"


@settings(max_examples=300, deadline=None)
@given(
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10**9), places=3),
    st.sampled_from(["5057", "5060", "5062"]),
    st.sampled_from(["1", "4", "9", "1002"]),
)
def test_conversions_are_the_wide_context_ones(amount: Decimal, fiat_id: str, coin_id: str) -> None:
    book = CurrencyBook.create()
    fiat, coin = book.get(fiat_id), book.get(coin_id)
    with localcontext() as ctx:
        ctx.prec = 60
        due = (amount * book.usd_prices[fiat_id] / book.usd_prices[coin_id]).quantize(
            Decimal(1).scaleb(-coin.decimal_places), rounding=ROUND_UP
        )
        rate = (book.usd_prices[fiat_id] / book.usd_prices[coin_id]).quantize(Decimal("1e-15"))
    assert book.convert_due(amount, fiat, coin) == due
    assert str(book.convert_due(amount, fiat, coin)) == str(due)
    assert str(book.rate(fiat, coin)) == str(rate)


def test_remembered_texts_are_the_texts_of_the_value() -> None:
    """Equal values share a remembered text; zeros keep their sign; equal instants share a UTC time."""
    from datetime import UTC, datetime, timedelta, timezone

    from saleor_coinpayments.simulator.render import iso

    for _ in range(2):  # once made, once remembered
        assert [places(Decimal(x), 2) for x in ("1.5", "1.50", "-0", "0", "0E-9", "-0.000")] == [
            "1.50", "1.50", "-0.00", "0.00", "0.00", "-0.00"
        ]  # fmt: skip
        assert places(Decimal("1.5"), 0) == "2"
        moment = datetime(2025, 3, 1, 2, 30, 1, 999999, tzinfo=UTC)
        assert iso(moment) == "2025-03-01T02:30:01+00:00"
        assert iso(moment.astimezone(timezone(timedelta(hours=5)))) == "2025-03-01T02:30:01+00:00"
        assert iso(datetime(2025, 3, 1, 7, 30, 2, tzinfo=timezone(timedelta(hours=5)))) == "2025-03-01T02:30:02+00:00"

"""Money (saleor_coinpayments/money.py): Decimal only, each currency's precision, the exact strings
both APIs get, and refusals that say what was wrong. Every amount the app reports or sends passes here."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saleor_coinpayments.money import (
    Money,
    MoneyError,
    currency_decimals,
    dump_json,
    format_decimal,
    parse_json,
    quantize,
    to_decimal,
)

D = Decimal


# --- to_decimal: what may become money ---------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("12.30", D("12.30")), (" 7.5 ", D("7.5")), (12, D(12)), (D("0.00000001"), D("0.00000001"))],
)
def test_to_decimal_takes_strings_ints_and_decimals(value: object, expected: Decimal) -> None:
    result = to_decimal(value)
    assert result == expected
    assert isinstance(result, Decimal)
    assert str(result) == str(expected), "the digits given are kept (no float in between)"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (1.5, "refusing a float as money: 1.5"),
        (True, "refusing a bool as money: True"),
        ("12,30", "not a decimal amount: '12,30'"),
        ("", "not a decimal amount: ''"),
        (None, "not a decimal amount: None"),
        ([1], "not a decimal amount: [1]"),
        ("NaN", "not a finite amount: 'NaN'"),
        ("-Infinity", "not a finite amount: '-Infinity'"),
        (D("Infinity"), "not a finite amount: Decimal('Infinity')"),
    ],
)
def test_to_decimal_refuses_what_is_not_an_amount_and_says_why(value: object, message: str) -> None:
    with pytest.raises(MoneyError) as caught:
        to_decimal(value)
    assert str(caught.value) == message


# --- rounding and formatting --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "decimals", "expected"),
    [
        ("7.505", 2, "7.50"),
        ("7.515", 2, "7.52"),
        ("7.519", 2, "7.52"),
        ("2.5", 0, "2"),
        ("3.5", 0, "4"),
        ("0.000000015", 8, "0.00000002"),
        ("12.3455", 3, "12.346"),
        ("1", 4, "1.0000"),
    ],
)
def test_quantize_rounds_half_to_even_like_saleor(amount: str, decimals: int, expected: str) -> None:
    result = quantize(D(amount), decimals)
    assert f"{result:f}" == expected
    assert result.as_tuple().exponent == -decimals


def test_quantize_rounds_half_to_even_whatever_the_decimal_context_says() -> None:
    # A library changing the thread's context must not change what we charge.
    for rounding in (ROUND_HALF_UP, ROUND_DOWN):
        with localcontext(rounding=rounding):
            assert str(quantize(D("7.505"), 2)) == "7.50"
            assert str(quantize(D("7.519"), 2)) == "7.52"


@pytest.mark.parametrize("precision", [5, 28])
def test_quantize_gives_every_digit_of_a_long_amount_whatever_the_context_precision(precision: int) -> None:
    # 33 significant digits: beyond the default context's 28, which raised InvalidOperation.
    with localcontext(prec=precision):
        assert str(quantize(D("123456789012345678901234567890.125"), 2)) == "123456789012345678901234567890.12"
        assert str(quantize(D("123456789012345678901234567890.135"), 2)) == "123456789012345678901234567890.14"
        assert format_decimal(D("1E+12"), 18) == "1000000000000.000000000000000000"
        # Rounding that carries into one more digit than the amount had.
        assert str(quantize(D("999999999999999999999999999999.995"), 2)) == "1000000000000000000000000000000.00"


@pytest.mark.parametrize(
    ("amount", "decimals", "expected"),
    [
        ("1E+3", 2, "1000.00"),
        ("1E-9", 8, "0.00000000"),
        ("1234567.891", 2, "1234567.89"),
        ("-0.004", 2, "-0.00"),
        ("5", 0, "5"),
        ("0.1", 18, "0.100000000000000000"),
    ],
)
def test_format_decimal_is_plain_with_exact_places(amount: str, decimals: int, expected: str) -> None:
    assert format_decimal(D(amount), decimals) == expected


# --- currencies and precision -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("currency", "decimals"),
    [("USD", 2), ("eur", 2), ("JPY", 0), ("jpy", 0), ("KWD", 3), ("CLF", 4), ("XYZ", 2)],
)
def test_currency_decimals_follow_iso_4217(currency: str, decimals: int) -> None:
    assert currency_decimals(currency) == decimals


def test_money_of_normalises_the_code_and_takes_the_fiat_precision() -> None:
    money = Money.of("12.5", " usd ")
    assert money == Money(D("12.5"), "USD", 2)
    assert Money.of("1500", "JPY").decimals == 0


def test_money_of_keeps_an_explicit_precision() -> None:
    # Crypto precision comes from CoinPayments, not ISO 4217: 8 for BTC must not become 2.
    btc = Money.of("0.00051240", "BTC", 8)
    assert btc.decimals == 8
    assert btc.as_str() == "0.00051240"
    assert Money.of("12.345", "USD", 3).as_str() == "12.345"
    assert Money.of("1500", "JPY", 2).as_str() == "1500.00"


@pytest.mark.parametrize("decimals", [0, 30])
def test_money_of_accepts_precision_from_0_to_30(decimals: int) -> None:
    assert Money.of("1", "XYZ", decimals).decimals == decimals


@pytest.mark.parametrize("decimals", [-1, 31])
def test_money_of_refuses_an_impossible_precision(decimals: int) -> None:
    with pytest.raises(MoneyError) as caught:
        Money.of("1", "xyz", decimals)
    assert str(caught.value) == f"impossible precision {decimals} for XYZ"


def test_money_of_accepts_currency_codes_up_to_32_characters() -> None:
    code = "A" * 32
    assert Money.of("1", code).currency == code


@pytest.mark.parametrize("currency", ["", "   ", "A" * 33])
def test_money_of_refuses_an_empty_or_overlong_currency_code(currency: str) -> None:
    with pytest.raises(MoneyError) as caught:
        Money.of("1", currency)
    assert str(caught.value) == f"not a currency code: {currency!r}"


def test_money_of_refuses_a_float_amount() -> None:
    with pytest.raises(MoneyError, match="refusing a float"):
        Money.of(0.1, "USD")


# --- the Money value ----------------------------------------------------------------------------


def test_rounded_keeps_currency_and_precision() -> None:
    rounded = Money.of("0.000512405", "BTC", 8).rounded()
    assert rounded == Money(D("0.00051240"), "BTC", 8)
    assert str(rounded.amount) == "0.00051240"


def test_as_str_and_str() -> None:
    assert Money.of("7.505", "USD").as_str() == "7.50"
    assert str(Money.of("1500.4", "JPY")) == "1500 JPY"
    assert str(Money.of("12.3456", "KWD")) == "12.346 KWD"


@pytest.mark.parametrize(("amount", "zero"), [("0", True), ("0.00", True), ("-0", True), ("1", False), ("0.01", False)])
def test_is_zero(amount: str, zero: bool) -> None:
    assert Money.of(amount, "USD").is_zero() is zero


def test_adding_and_subtracting_keep_currency_and_precision() -> None:
    a = Money.of("12.50", "BTC", 8)
    b = Money.of("0.00000001", "BTC", 8)
    assert a + b == Money(D("12.50000001"), "BTC", 8)
    assert a - b == Money(D("12.49999999"), "BTC", 8)
    assert b - a == Money(D("-12.49999999"), "BTC", 8)


def test_comparisons() -> None:
    small, big = Money.of("1.00", "USD"), Money.of("1.01", "USD")
    assert small < big
    assert not big < small
    assert not small < Money.of("1", "USD")
    assert small <= big
    assert small <= Money.of("1", "USD")
    assert not big <= small


@pytest.mark.parametrize(
    "combine",
    [
        lambda a, b: a + b,
        lambda a, b: a - b,
        lambda a, b: a < b,
        lambda a, b: a <= b,
    ],
    ids=["add", "sub", "lt", "le"],
)
def test_money_in_two_currencies_never_combines(combine: object) -> None:
    usd, eur = Money.of("1", "USD"), Money.of("1", "EUR")
    with pytest.raises(MoneyError) as caught:
        combine(usd, eur)  # type: ignore[operator]
    assert str(caught.value) == "cannot combine USD and EUR"


# --- JSON ---------------------------------------------------------------------------------------


def test_parse_json_keeps_decimals_exact() -> None:
    parsed = parse_json(b'{"amount": 0.1, "count": 3, "big": 12345678901234567890.123456789}')
    assert parsed == {"amount": D("0.1"), "count": 3, "big": D("12345678901234567890.123456789")}
    assert isinstance(parsed["count"], int)


def test_dump_json_is_compact_with_decimals_as_strings() -> None:
    assert dump_json({"amount": D("10.10"), "n": [1, None]}) == '{"amount":"10.10","n":[1,null]}'


def test_dump_json_keeps_non_ascii_text_as_utf8() -> None:
    # The body is signed and logged as sent; names like "Zoë" stay readable (and shorter).
    assert dump_json({"name": "Zoë – café"}) == '{"name":"Zoë – café"}'


def test_dump_json_refuses_what_it_cannot_write() -> None:
    with pytest.raises(TypeError) as caught:
        dump_json({"when": date(2026, 1, 1)})
    assert str(caught.value) == "not JSON serialisable: date"
    with pytest.raises(TypeError, match="not JSON serialisable: set"):
        dump_json({"x": {D("1.5")}})


# --- properties: every currency precision round-trips -------------------------------------------


@st.composite
def amounts_at_a_precision(draw: st.DrawFn) -> tuple[int, Decimal]:
    """A precision from 0 to 18 and an amount that fits Decimal's 28 digits at that precision."""
    decimals = draw(st.integers(min_value=0, max_value=18))
    bound = 10 ** (27 - decimals)
    amount = draw(st.decimals(allow_nan=False, allow_infinity=False, min_value=-bound, max_value=bound))
    return decimals, amount


@settings(max_examples=200, deadline=None)
@given(amounts_at_a_precision())
def test_formatting_then_parsing_round_trips_at_every_precision(case: tuple[int, Decimal]) -> None:
    decimals, amount = case
    text = format_decimal(amount, decimals)
    assert "E" not in text.upper()
    assert len(text.partition(".")[2]) == decimals
    parsed = to_decimal(text)
    assert parsed == quantize(amount, decimals), "parsing the string gives back the rounded amount"
    assert format_decimal(parsed, decimals) == text, "and formatting that again gives the same string"
    assert abs(parsed - amount) <= D(1).scaleb(-decimals) / 2, "rounding moves an amount by half a unit at most"
    # Through JSON as both APIs carry it: a string, parsed back exactly.
    assert to_decimal(parse_json(dump_json({"amount": parsed}))["amount"]) == parsed


@settings(max_examples=100, deadline=None)
@given(
    currency=st.sampled_from(["USD", "JPY", "KWD", "CLF", "EUR", "BIF", "BHD"]),
    cents=st.integers(min_value=0, max_value=10**15),
)
def test_money_strings_round_trip_in_every_fiat_currency(currency: str, cents: int) -> None:
    decimals = currency_decimals(currency)
    money = Money.of(D(cents).scaleb(-decimals), currency)
    text = money.as_str()
    assert Money.of(text, currency) == money
    assert Money.of(parse_json(dump_json(text)), currency).as_str() == text

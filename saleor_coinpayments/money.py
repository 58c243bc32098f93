"""Money as `Decimal` + currency, with per-currency precision and the string forms both APIs want.

Floats never enter: every constructor refuses them, and JSON is parsed with
`parse_float=Decimal` (see `parse_json`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation, getcontext, localcontext
from typing import Any

# ISO 4217 minor units that differ from the usual 2 (fiat only; crypto precision comes from
# CoinPayments' currency metadata and is passed explicitly).
_FIAT_MINOR_UNITS: dict[str, int] = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    "CLF": 4, "UYW": 4,
}  # fmt: skip


class MoneyError(ValueError):
    """An amount or currency that cannot be money."""


def currency_decimals(currency: str) -> int:
    """Decimal places of a fiat currency (ISO 4217), 2 unless listed otherwise."""
    return _FIAT_MINOR_UNITS.get(currency.upper(), 2)


def to_decimal(value: object) -> Decimal:
    """A finite `Decimal` from a string, int or Decimal; floats are refused (they are already wrong)."""
    if isinstance(value, bool) or isinstance(value, float):
        raise MoneyError(f"refusing a {type(value).__name__} as money: {value!r}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation as exc:
            raise MoneyError(f"not a decimal amount: {value!r}") from exc
    else:
        raise MoneyError(f"not a decimal amount: {value!r}")
    if not result.is_finite():
        raise MoneyError(f"not a finite amount: {value!r}")
    return result


def quantize(amount: Decimal, decimals: int) -> Decimal:
    """Round to `decimals` places the way Saleor does (half to even: 7.505 → 7.50, 7.519 → 7.52).

    With as many significant digits as the result has: the default context's 28 would refuse a
    large amount with many places (a coin's smallest units, or an absurd amount sent in), raising
    InvalidOperation instead of giving the exact figure. One digit more than the amount has, for a
    rounding that carries (…999.995 to …1000.00)."""
    digits = max(amount.adjusted() + 1, 1) + decimals + 1
    with localcontext(prec=max(digits, getcontext().prec)):
        return amount.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN)


def format_decimal(amount: Decimal, decimals: int) -> str:
    """A plain decimal string with exactly `decimals` places: no exponent, no thousands separator."""
    return f"{quantize(amount, decimals):.{decimals}f}"


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in a currency. `decimals` defaults to the fiat precision of the currency."""

    amount: Decimal
    currency: str
    decimals: int

    @classmethod
    def of(cls, amount: object, currency: str, decimals: int | None = None) -> Money:
        code = currency.strip().upper()
        if not code or len(code) > 32:
            raise MoneyError(f"not a currency code: {currency!r}")
        places = currency_decimals(code) if decimals is None else decimals
        if places < 0 or places > 30:
            raise MoneyError(f"impossible precision {places} for {code}")
        return cls(to_decimal(amount), code, places)

    def rounded(self) -> Money:
        return Money(quantize(self.amount, self.decimals), self.currency, self.decimals)

    def as_str(self) -> str:
        """Decimal string rounded to the currency: what CoinPayments v2 and Saleor both accept."""
        return format_decimal(self.amount, self.decimals)

    def is_zero(self) -> bool:
        return self.amount == 0

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise MoneyError(f"cannot combine {self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency, self.decimals)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency, self.decimals)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __str__(self) -> str:
        return f"{self.as_str()} {self.currency}"


def parse_json(raw: bytes | str) -> Any:
    """Parse JSON keeping every non-integer number as `Decimal` (Saleor sends money as JSON floats)."""
    return json.loads(raw, parse_float=Decimal)


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dump_json(value: Any) -> str:
    """Compact JSON; `Decimal` becomes a string so no float is ever produced."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_json_default)

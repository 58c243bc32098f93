"""How the buyer's pages write a date, a fiat amount and a coin amount: one place, so a later
locale setup (Babel) changes these and nothing else.

Coin amounts are never rounded or grouped: every decimal, as CoinPayments gave it, because a buyer
compares them digit by digit with a wallet.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from saleor_coinpayments.money import Money, format_decimal


def fiat(money: Money) -> str:
    """`20.00 USD`: rounded to the currency's places."""
    return f"{money.as_str()} {money.currency}"


def coin(amount: Decimal, symbol: str, decimals: int | None = None) -> str:
    """`0.00022834 BTC`: with the coin's places when known, else every digit the amount has."""
    text = format_decimal(amount, decimals) if decimals is not None else f"{amount:f}"
    return f"{text} {symbol}"


def moment(when: datetime) -> str:
    """`7 December 2026, 14:03 UTC`: a date anyone can read, whatever their own date order."""
    utc = when.astimezone(UTC)
    return f"{utc.day} {utc:%B %Y, %H:%M} UTC"

"""How the buyer's pages write a date, a fiat amount and a coin amount: in the page's language
(saleor_coinpayments/locale, Babel), in one place.

Coin amounts are never rounded: every decimal, as CoinPayments gave it (or with the coin's places),
because a buyer compares them digit by digit with a wallet; only the decimal sign and the grouping
follow the locale.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from saleor_coinpayments.locale import Speaker
from saleor_coinpayments.money import Money, format_decimal


def fiat(money: Money, speak: Speaker) -> str:
    """`$20.00`, `20,00 $`: rounded to the currency's places, as the locale writes money."""
    return speak.money(money.rounded().amount, money.currency)


def coin(amount: Decimal, symbol: str, speak: Speaker, decimals: int | None = None) -> str:
    """`0.00022834 BTC`, `0,00022834 BTC`: with the coin's places when known, else every digit."""
    text = format_decimal(amount, decimals) if decimals is not None else f"{amount:f}"
    return f"{speak.coin(text)} {symbol}"


def moment(when: datetime, speak: Speaker) -> str:
    """A date and time in UTC, as the locale writes them, the zone named."""
    return speak.datetime(when)

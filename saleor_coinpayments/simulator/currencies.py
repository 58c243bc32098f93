"""The currencies the simulator knows and the fixed rate table that prices invoices in coins.

Ids for USD (5057), BTC (1), ETH (4), LTCT (1002) and the USDT tokens come from coinpayments.md#currency-ids;
the other fiat ids and the maintenance coin are the simulator's own choice. Prices are USD per
unit and configurable, so every crypto amount is reproducible.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_UP, Context, Decimal
from functools import cache
from typing import Any

from saleor_coinpayments.money import MoneyError, to_decimal

USDT_ERC20 = "4:0xdac17f958d2ee523a2206206994597c13d831ec7"
USDT_TRC20 = "9:TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"

#: Prices are divided with 60 significant digits; one context for every conversion instead of a
#: localcontext() per call (the simulator converts for every payable coin of every answer).
WIDE = Context(prec=60)
_RATE_STEP = Decimal("1e-15")


@cache
def quantum(decimal_places: int) -> Decimal:
    """`1E-places`, the step amounts of a currency are rounded to (made once per precision)."""
    return Decimal(1).scaleb(-decimal_places)


@dataclass(frozen=True, slots=True)
class Currency:
    """One entry of `GET /api/v1/currencies` (coinpayments.md#created-invoice)."""

    id: str
    type: str  # crypto | token | fiat
    symbol: str
    name: str
    decimal_places: int
    rank: int = 0
    status: str = "active"
    capabilities: tuple[str, ...] = ()
    required_confirmations: int = 0
    enabled_for_payment: bool = False
    network_fee: Decimal = Decimal(0)
    uri_scheme: str | None = None  # BIP21 scheme, None where the checkout shows no URI
    websites: tuple[str, ...] = ()
    explorers: tuple[str, ...] = ()

    @property
    def is_fiat(self) -> bool:
        return self.type == "fiat"

    @property
    def payable(self) -> bool:
        """A coin a buyer can pay with right now."""
        return not self.is_fiat and self.status == "active" and self.enabled_for_payment

    @property
    def numeric_id(self) -> int:
        """The integer part of the id (`"4:0xdac…"` → 4), as webhooks and rates carry it."""
        return int(self.id.split(":", 1)[0])

    @property
    def contract(self) -> str | None:
        return self.id.split(":", 1)[1] if ":" in self.id else None

    def logo(self) -> dict[str, Any]:
        url = f"https://cdn.example.invalid/currencies/64x64/{self.symbol.lower()}.png"
        return {"imageUrl": url, "vectorUrl": None}

    def to_dto(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "symbol": self.symbol,
            "name": self.name,
            "logo": self.logo(),
            "decimalPlaces": self.decimal_places,
            "rank": self.rank,
            "status": self.status,
            "capabilities": list(self.capabilities),
            "urls": {"websites": list(self.websites), "explorers": list(self.explorers)},
            "requiredConfirmations": self.required_confirmations,
            "isEnabledForPayment": self.enabled_for_payment,
        }


def _fiat(id_: str, symbol: str, name: str, places: int = 2, rank: int = 0) -> Currency:
    return Currency(id_, "fiat", symbol, name, places, rank=rank)


DEFAULT_CURRENCIES: tuple[Currency, ...] = (
    _fiat("5057", "USD", "United States Dollar"),
    _fiat("5058", "EUR", "Euro"),
    _fiat("5059", "GBP", "British Pound Sterling"),
    _fiat("5060", "JPY", "Japanese Yen", places=0),
    _fiat("5061", "CAD", "Canadian Dollar"),
    _fiat("5062", "KWD", "Kuwaiti Dinar", places=3),
    Currency(
        "1", "crypto", "BTC", "Bitcoin", 8, rank=1,
        capabilities=("payments", "singleSigAccounts", "utxo"), required_confirmations=2,
        enabled_for_payment=True, network_fee=Decimal("0.00000450"), uri_scheme="bitcoin",
        websites=("https://bitcoin.org",), explorers=("https://blockchain.info",),
    ),
    Currency(
        "4", "crypto", "ETH", "Ethereum", 18, rank=2,
        capabilities=("payments", "pooledAccounts"), required_confirmations=12,
        enabled_for_payment=True, network_fee=Decimal("0.000420000000000000"), uri_scheme="ethereum",
    ),
    Currency(
        "1002", "crypto", "LTCT", "Litecoin Test", 8, rank=50,
        capabilities=("payments", "singleSigAccounts", "utxo"), required_confirmations=2,
        enabled_for_payment=True, network_fee=Decimal("0.00001000"), uri_scheme="litecoin",
    ),
    Currency(
        USDT_ERC20, "token", "USDT.ERC20", "Tether USD (ERC20)", 6, rank=5,
        capabilities=("payments", "pooledAccounts"), required_confirmations=12,
        enabled_for_payment=True, network_fee=Decimal("1.250000"),
    ),
    Currency(
        "9", "crypto", "TRX", "TRON", 6, rank=10,
        capabilities=("payments", "pooledAccounts"), required_confirmations=19,
        enabled_for_payment=True, network_fee=Decimal("1.100000"), uri_scheme="tron",
    ),
    Currency(
        USDT_TRC20, "token", "USDT.TRC20", "Tether USD (TRC20)", 6, rank=6,
        capabilities=("payments", "pooledAccounts"), required_confirmations=19,
        enabled_for_payment=True, network_fee=Decimal("1.000000"),
    ),
    Currency(
        "2", "crypto", "LTC", "Litecoin", 8, rank=12, status="underMaintenance",
        capabilities=("payments", "utxo"), required_confirmations=3,
        enabled_for_payment=False, network_fee=Decimal("0.00010000"), uri_scheme="litecoin",
    ),
)  # fmt: skip

#: USD value of one unit of each currency.
DEFAULT_USD_PRICES: dict[str, str] = {
    "5057": "1",
    "5058": "1.08",
    "5059": "1.27",
    "5060": "0.0067",
    "5061": "0.73",
    "5062": "3.25",
    "1": "87584.12",
    "4": "2231.54",
    "1002": "80",
    USDT_ERC20: "1",
    "9": "0.25",
    USDT_TRC20: "1",
    "2": "80",
}


class UnknownCurrency(LookupError):
    """A currency id the simulator does not list."""


@dataclass
class CurrencyBook:
    """Currencies by id plus their USD prices; prices can be replaced at runtime."""

    currencies: dict[str, Currency]
    usd_prices: dict[str, Decimal]
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def create(
        cls, currencies: Iterable[Currency] | None = None, rates: Mapping[str, object] | None = None
    ) -> CurrencyBook:
        by_id = {c.id: c for c in (currencies or DEFAULT_CURRENCIES)}
        prices = {k: to_decimal(v) for k, v in DEFAULT_USD_PRICES.items() if k in by_id}
        book = cls(by_id, prices)
        if rates:
            book.set_prices(rates)
        return book

    def set_prices(self, rates: Mapping[str, object]) -> None:
        """Replace some USD prices; refuses unknown ids and non-positive or float prices."""
        parsed: dict[str, Decimal] = {}
        for key, value in rates.items():
            if key not in self.currencies:
                raise UnknownCurrency(key)
            price = to_decimal(value)
            if price <= 0:
                raise MoneyError(f"price of {key} must be positive")
            parsed[key] = price
        with self._lock:
            self.usd_prices.update(parsed)

    def get(self, currency_id: str) -> Currency:
        try:
            return self.currencies[currency_id]
        except KeyError:
            raise UnknownCurrency(currency_id) from None

    def find(self, currency_id: str) -> Currency | None:
        return self.currencies.get(currency_id)

    def all(self) -> list[Currency]:
        return sorted(self.currencies.values(), key=lambda c: (c.rank, c.id))

    def payable(self) -> list[Currency]:
        return [c for c in self.all() if c.payable]

    def rate(self, base: Currency, quote: Currency) -> Decimal:
        """How many `quote` units one `base` unit buys (15 fractional digits, like the real API)."""
        return WIDE.divide(self.usd_prices[base.id], self.usd_prices[quote.id]).quantize(_RATE_STEP, context=WIDE)

    def convert_due(self, amount: Decimal, source: Currency, target: Currency) -> Decimal:
        """An amount due in `target`, rounded *up* to its precision so the merchant is never short."""
        raw = WIDE.divide(WIDE.multiply(amount, self.usd_prices[source.id]), self.usd_prices[target.id])
        return raw.quantize(quantum(target.decimal_places), rounding=ROUND_UP, context=WIDE)

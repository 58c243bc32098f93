"""The name of the buyer's payment method, as Saleor shows it on the transaction (Saleor 3.22+).

Known once the buyer chose a coin (the pay page, `paymentCurrency`) or money arrived in one:
"Bitcoin (BTC) via CoinPayments"; only the symbol when CoinPayments named no more ("LTCT via
CoinPayments"). Before that there is no method to name, and Saleor is told nothing.
"""

from __future__ import annotations

from saleor_coinpayments.store.tables import Payment

PROVIDER = "CoinPayments"
NAME_LIMIT = 256  # Saleor's `paymentMethodDetails.name`
TRANSACTION_NAME = "CoinPayments"  # what the Dashboard shows instead of "Transaction #1"


def payment_method_name(payment: Payment, arrived_symbol: str | None = None) -> str | None:
    """`arrived_symbol`: the coin of a payment CoinPayments just reported, not yet on the row."""
    chosen = (payment.coin_details or {}).get("currency") or {}
    symbol = _text(chosen.get("symbol"))
    name = _text(chosen.get("name"))
    if symbol is None:
        last = (payment.details or {}).get("last_view") or {}
        symbol, name = _text(arrived_symbol) or _text(last.get("coin_symbol")), None
    if symbol is None:
        return None
    coin = f"{name} ({symbol})" if name and name.upper() != symbol.upper() else symbol
    return f"{coin} via {PROVIDER}"[:NAME_LIMIT]


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None

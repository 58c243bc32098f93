"""The payment method's name Saleor shows on the transaction (issue #27)."""

from __future__ import annotations

from saleor_coinpayments.payments.payment_method import payment_method_name
from saleor_coinpayments.store.tables import Payment


def _payment(coin_details: dict[str, object] | None = None, details: dict[str, object] | None = None) -> Payment:
    return Payment(coin_details=coin_details, details=details or {})


def test_no_coin_yet_no_name() -> None:
    assert payment_method_name(_payment()) is None
    assert payment_method_name(_payment(details={"last_view": {"coin_symbol": None}})) is None


def test_a_chosen_coin_is_named_with_its_symbol() -> None:
    chosen = {"currency": {"id": "4", "symbol": "BTC", "name": "Bitcoin", "decimals": 8}}
    assert payment_method_name(_payment(chosen)) == "Bitcoin (BTC) via CoinPayments"
    # the chosen coin wins over a coin CoinPayments reports later
    assert payment_method_name(_payment(chosen), "LTCT") == "Bitcoin (BTC) via CoinPayments"
    same = {"currency": {"symbol": "USDT", "name": "usdt"}}
    assert payment_method_name(_payment(same)) == "USDT via CoinPayments"


def test_the_coin_money_came_in_is_named_by_its_symbol() -> None:
    assert payment_method_name(_payment(), "LTCT") == "LTCT via CoinPayments"
    seen = _payment(details={"last_view": {"coin_symbol": "BTC"}})
    assert payment_method_name(seen) == "BTC via CoinPayments"


def test_the_name_fits_saleor() -> None:
    long = {"currency": {"symbol": "X" * 300, "name": "Y"}}
    assert len(payment_method_name(_payment(long)) or "") == 256

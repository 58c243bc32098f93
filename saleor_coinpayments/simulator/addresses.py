"""Plausible-looking deposit addresses per coin family (never valid on a real chain)."""

from __future__ import annotations

import secrets

from saleor_coinpayments.simulator.currencies import Currency

_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _pick(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def new_address(currency: Currency) -> str:
    scheme = currency.uri_scheme
    if scheme == "bitcoin":
        return "bc1q" + _pick(_BECH32, 38)
    if currency.symbol == "LTCT":
        return secrets.choice("mn") + _pick(_BASE58, 33)
    if scheme == "litecoin":
        return "ltc1q" + _pick(_BECH32, 38)
    if currency.id.startswith("9"):
        return "T" + _pick(_BASE58, 33)
    return "0x" + secrets.token_hex(20)

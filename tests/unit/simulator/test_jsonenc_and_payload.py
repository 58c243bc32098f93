"""Exact number output and the webhook envelope's time formats."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from saleor_coinpayments.simulator.jsonenc import encode
from saleor_coinpayments.simulator.webhook_payload import dashed, envelope_timestamp


def test_decimals_are_written_as_exact_numbers() -> None:
    assert encode({"a": Decimal("0.000011417"), "b": Decimal("51240"), "c": Decimal("1E+2")}) == (
        b'{"a":0.000011417,"b":51240,"c":100}'
    )
    assert encode([None, True, 'é"', 3]) == '[null,true,"é\\"",3]'.encode()


def test_floats_are_refused() -> None:
    with pytest.raises(TypeError):
        encode({"amount": 0.1})


def test_envelope_timestamp_has_seven_fraction_digits() -> None:
    moment = datetime(2024, 7, 1, 11, 4, 6, 803357, tzinfo=UTC)
    assert envelope_timestamp(moment) == "2024-07-01T11:04:06.8033570+00:00"


def test_merchant_client_id_is_dashed() -> None:
    assert dashed("0a1b2c3d4e5f40718293a4b5c6d7e8f9") == "0a1b2c3d-4e5f-4071-8293-a4b5c6d7e8f9"
    assert dashed("client-123") == "client-123"

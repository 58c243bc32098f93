"""Exact number output and the webhook envelope's time formats."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saleor_coinpayments.simulator.jsonenc import encode
from saleor_coinpayments.simulator.webhook_payload import dashed, envelope_timestamp


def test_decimals_are_written_as_exact_numbers() -> None:
    assert encode({"a": Decimal("0.000011417"), "b": Decimal("51240"), "c": Decimal("1E+2")}) == (
        b'{"a":0.000011417,"b":51240,"c":100}'
    )
    assert encode([None, True, 'é"', 3]) == '[null,true,"é\\"",3]'.encode()


def test_decimals_anywhere_and_other_containers() -> None:
    """A client's own fields come back as parsed (fractions are Decimals); mappings and sequences of
    any kind are objects and arrays, as before the C encoder."""
    from collections import OrderedDict, namedtuple
    from types import MappingProxyType

    pair = namedtuple("pair", "a b")
    body = {"x": [{"w": Decimal("-0.500")}], "m": MappingProxyType({"k": (1, Decimal("0E-8"))}), "p": pair(1, 2)}
    assert encode(body) == b'{"x":[{"w":-0.5}],"m":{"k":[1,0]},"p":[1,2]}'
    assert encode(OrderedDict(b=range(2), a=Decimal("1E+3"))) == b'{"b":[0,1],"a":1000}'


def test_what_is_not_json_is_refused() -> None:
    with pytest.raises(ValueError, match="not a JSON number"):
        encode({"amount": Decimal("NaN")})
    with pytest.raises(TypeError):
        encode({"when": object()})
    with pytest.raises(ValueError, match="Out of range"):
        encode({"amount": float("inf")})


def test_envelope_timestamp_has_seven_fraction_digits() -> None:
    moment = datetime(2024, 7, 1, 11, 4, 6, 803357, tzinfo=UTC)
    assert envelope_timestamp(moment) == "2024-07-01T11:04:06.8033570+00:00"


def test_merchant_client_id_is_dashed() -> None:
    assert dashed("0a1b2c3d4e5f40718293a4b5c6d7e8f9") == "0a1b2c3d-4e5f-4071-8293-a4b5c6d7e8f9"
    assert dashed("client-123") == "client-123"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_everything_but_decimals_is_json_dumps_compact(value: object) -> None:
    """Text escapes (U+2028, control characters, quotes), ints and nesting as the stdlib writes them."""
    assert encode(value) == json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

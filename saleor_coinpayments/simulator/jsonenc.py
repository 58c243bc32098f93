"""The simulator's JSON writer: compact UTF-8, and `Decimal` as a JSON *number* token, exactly.

CoinPayments v1 money objects carry numbers (`valueAsDecimal`, `rate`); going through
`float` would round them, and `dump_json` turns Decimals into strings. Everything else
follows `json.dumps` compact output (`ensure_ascii=False`).

simplejson's C encoder writes the answers: the simulator renders them with its one event loop
held, and a List page of 100 invoices took a pure-Python writer about half its 10-15 ms. A Decimal
reaches `_default`, which hands back its number token as raw JSON, written as it is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import simplejson


def _decimal_token(value: Decimal) -> str:
    """Plain notation, without trailing fraction zeros: `Decimal("1.50")` → `1.5`, `1E+2` → `100`."""
    if not value.is_finite():
        raise ValueError(f"not a JSON number: {value!r}")
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def _default(value: Any) -> Any:
    """What the C encoder does not write itself: Decimals, and mappings and sequences that are not
    dicts, lists or tuples."""
    if isinstance(value, Decimal):
        return simplejson.RawJSON(_decimal_token(value))
    if isinstance(value, Mapping):
        return {str(key): item for key, item in value.items()}
    if isinstance(value, Sequence):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


_ENCODER = simplejson.JSONEncoder(
    ensure_ascii=False,
    separators=(",", ":"),
    allow_nan=False,
    use_decimal=False,  # its own Decimal output is str(value): "1.50", "1E+2"
    namedtuple_as_object=False,  # a namedtuple is a sequence, as in json.dumps
    default=_default,
)


def encode(value: Any) -> bytes:
    """Compact UTF-8 JSON bytes; Decimal becomes a plain number (no exponent)."""
    return _ENCODER.encode(value).encode("utf-8")

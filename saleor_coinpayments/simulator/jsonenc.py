"""A tiny JSON writer that emits `Decimal` as a JSON *number* token, exactly.

CoinPayments v1 money objects carry numbers (`valueAsDecimal`, `rate`); going through
`float` would round them, and `dump_json` turns Decimals into strings. Everything else
follows `json.dumps` compact output.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

_escape = json.JSONEncoder(ensure_ascii=False).encode


def _decimal_token(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"not a JSON number: {value!r}")
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def _write(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_escape(value))
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, Decimal):
        out.append(_decimal_token(value))
    elif isinstance(value, float):
        raise TypeError("floats are not money; use Decimal")
    elif isinstance(value, Mapping):
        out.append("{")
        first = True
        for key, item in value.items():
            if not first:
                out.append(",")
            first = False
            out.append(_escape(str(key)))
            out.append(":")
            _write(item, out)
        out.append("}")
    elif isinstance(value, Sequence):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _write(item, out)
        out.append("]")
    else:
        raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def encode(value: Any) -> bytes:
    """Compact UTF-8 JSON bytes; Decimal becomes a plain number (no exponent)."""
    out: list[str] = []
    _write(value, out)
    return "".join(out).encode("utf-8")

"""Saleor release lines and what each takes from the app.

Saleor names its line (`3.20`, `3.23`) in the `Saleor-Schema-Version` header of the manifest request
and of registration, and its full version (`3.23.28`) in the `version` field of every webhook the
app subscribes with. The app remembers the line per installation and sends a newer field only to
lines that know it: an older core refuses an unknown GraphQL argument outright.
"""

from __future__ import annotations

import re

Line = tuple[int, int]

NEWEST: Line = (99, 0)  # unknown line in the manifest request: the newest manifest
WIDGETS_SINCE: Line = (3, 22)  # ORDER_DETAILS_WIDGETS mounts and the WIDGET target
PAYMENT_METHOD_DETAILS_SINCE: Line = (3, 22)  # transactionEventReport / session answers
IDENTIFIERS_SINCE: Line = (3, 23)  # manifest webhooks[].identifier and extensions[].identifier

_VERSION = re.compile(r"^\s*(\d{1,4})\.(\d{1,4})")


def schema_version_of(version: object) -> str | None:
    """`3.23.28`, `3.23` → "3.23"; None for anything that is not a Saleor version."""
    match = _VERSION.match(version) if isinstance(version, str) else None
    return f"{int(match.group(1))}.{int(match.group(2))}" if match else None


def line_of(schema_version: str | None, *, unknown: Line) -> Line:
    """The line as a comparable pair; `unknown` when the version is missing or unreadable."""
    known = schema_version_of(schema_version)
    if known is None:
        return unknown
    major, minor = known.split(".")
    return int(major), int(minor)


def takes_payment_method_details(schema_version: str | None) -> bool:
    """Whether this line stores a transaction's payment method; an unknown line is taken as old."""
    return line_of(schema_version, unknown=(0, 0)) >= PAYMENT_METHOD_DETAILS_SINCE

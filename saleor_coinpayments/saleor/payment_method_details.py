"""What the app tells each Saleor line of a transaction's payment method.

Saleor 3.22 added `paymentMethodDetails` (PROTOCOL.md §4.1, §6.1): flat `{"type": "OTHER", "name"}`
in a session answer, `{other: {name}}` as the `transactionEventReport` argument. 3.20 and 3.21 refuse
the argument (the whole report fails validation) and have no such answer key, so both are left out
for them, and for an installation whose line is not known yet.
"""

from __future__ import annotations

from typing import Any

from saleor_coinpayments.saleor.lines import takes_payment_method_details
from saleor_coinpayments.saleor.schema import load_document

ARGUMENT = "paymentMethodDetails"


def session_details(name: str | None) -> dict[str, str] | None:
    """The session answer's form: {"type": "OTHER", "name": …}."""
    return {"type": "OTHER", "name": name} if name else None


def event_report_call(schema_version: str | None, variables: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The `transactionEventReport` document and variables for this installation's line."""
    if ARGUMENT in variables and takes_payment_method_details(schema_version):
        return load_document("transaction_event_report_with_method"), variables
    return load_document("transaction_event_report"), {k: v for k, v in variables.items() if k != ARGUMENT}

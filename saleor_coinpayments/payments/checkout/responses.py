"""Answers to Saleor's sync webhooks, shaped exactly as Saleor validates them (PROTOCOL.md §4).

`externalUrl` is left out unless it is a real URL (Saleor drops the whole answer on ""), amounts are
decimal strings rounded to the currency, and messages are cut to Saleor's 512 characters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MESSAGE_LIMIT = 512


def _cut(message: str) -> str:
    return message if len(message) <= MESSAGE_LIMIT else message[: MESSAGE_LIMIT - 1] + "…"


@dataclass(frozen=True)
class SessionResult:
    """An answer to TRANSACTION_INITIALIZE_SESSION / TRANSACTION_PROCESS_SESSION."""

    result: str
    message: str
    psp_reference: str | None = None
    amount: str | None = None
    external_url: str | None = None
    data: Any = None
    actions: list[str] | None = None
    # {"type": "OTHER", "name": "Bitcoin (BTC) via CoinPayments"}, only for Saleor 3.22+ (transaction_session.py)
    payment_method_details: dict[str, str] | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"result": self.result, "message": _cut(self.message), "data": self.data}
        if self.payment_method_details:
            body["paymentMethodDetails"] = self.payment_method_details
        if self.psp_reference:
            body["pspReference"] = self.psp_reference
        if self.amount is not None:
            body["amount"] = self.amount
        if self.external_url:
            body["externalUrl"] = self.external_url
        if self.actions is not None:
            body["actions"] = self.actions
        return body


@dataclass(frozen=True)
class ActionResult:
    """An answer to TRANSACTION_CHARGE/REFUND/CANCELATION_REQUESTED."""

    result: str
    message: str
    psp_reference: str | None = None
    amount: str | None = None
    actions: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"result": self.result, "message": _cut(self.message), "actions": self.actions}
        if self.psp_reference:
            body["pspReference"] = self.psp_reference
        if self.amount is not None:
            body["amount"] = self.amount
        return body


@dataclass(frozen=True)
class ActionAcknowledged:
    """The asynchronous answer to a refund request (PROTOCOL.md §4.5): a pspReference and no result.
    Saleor counts the request as pending until a REFUND_SUCCESS/FAILURE with that pspReference."""

    psp_reference: str
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"pspReference": self.psp_reference, "message": _cut(self.message)}


def charge_failure(message: str, *, code: str, psp_reference: str | None = None, **data: Any) -> SessionResult:
    """A refusal the storefront can show: `data.error` has a stable code and the buyer's message."""
    return SessionResult(
        result="CHARGE_FAILURE",
        message=message,
        psp_reference=psp_reference,
        data={"error": {"code": code, "message": message}, **data},
    )

"""What a TRANSACTION_REFUND_REQUESTED body says about the request: amount, reason, who, buyer.

Saleor keeps the staff's reason as the message of the REFUND_REQUEST event it made for this
request (still without a pspReference: the app gives it one) and the staff user as that event's
`createdBy`; `issuingPrincipal` is null for staff requests (captures README, 046–048).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from saleor_coinpayments.payments.payloads import ActionRequest, parse_action_request


@dataclass(frozen=True)
class RefundRequest:
    action: ActionRequest
    request_event_id: str | None
    reason: str | None
    requested_by: str | None
    buyer_email: str | None

    @property
    def transaction_id(self) -> str:
        return self.action.transaction_id


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _principal(value: Any) -> str | None:
    """A person's e-mail, or an app's identifier, of a `UserOrApp`/`IssuingPrincipal`."""
    if not isinstance(value, dict):
        return None
    if value.get("__typename") == "User":
        return _text(value.get("email")) or _text(value.get("id"))
    if value.get("__typename") == "App":
        name = _text(value.get("identifier")) or _text(value.get("id"))
        return f"app {name}" if name else None
    return None


def _amount(event: dict[str, Any]) -> Decimal | None:
    money = event.get("amount")
    value = money.get("amount") if isinstance(money, dict) else None
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return Decimal(value)
    return None


def _request_event(transaction: dict[str, Any], amount: Decimal | None) -> dict[str, Any] | None:
    """The REFUND_REQUEST event of this request: no pspReference yet, this amount, the newest."""
    events = transaction.get("events")
    if not isinstance(events, list):
        return None
    candidates = [
        e
        for e in events
        if isinstance(e, dict)
        and e.get("type") == "REFUND_REQUEST"
        and not e.get("pspReference")
        and (amount is None or _amount(e) is None or _amount(e) == amount)
    ]
    candidates.sort(key=lambda e: str(e.get("createdAt") or ""), reverse=True)
    return candidates[0] if candidates else None


def parse_refund_request(payload: dict[str, Any]) -> RefundRequest:
    action = parse_action_request(payload)
    transaction = payload.get("transaction")
    transaction = transaction if isinstance(transaction, dict) else {}
    event = _request_event(transaction, action.amount)
    granted = payload.get("grantedRefund")
    granted_reason = _text(granted.get("reason")) if isinstance(granted, dict) else None
    order = transaction.get("order") if isinstance(transaction.get("order"), dict) else None
    checkout = transaction.get("checkout") if isinstance(transaction.get("checkout"), dict) else None
    email = (_text(order.get("userEmail")) if order else None) or (_text(checkout.get("email")) if checkout else None)
    return RefundRequest(
        action=action,
        request_event_id=_text(event.get("id")) if event else None,
        reason=(_text(event.get("message")) if event else None) or granted_reason,
        requested_by=(_principal(event.get("createdBy")) if event else None)
        or _principal(payload.get("issuingPrincipal")),
        buyer_email=email,
    )

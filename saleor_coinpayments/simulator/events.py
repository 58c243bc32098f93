"""Webhook event names: the subscription literals (camelCase) and their delivered PascalCase `type`."""

from __future__ import annotations

INVOICE_CREATED = "invoiceCreated"
INVOICE_PENDING = "invoicePending"
INVOICE_PAID = "invoicePaid"
INVOICE_COMPLETED = "invoiceCompleted"
INVOICE_CANCELLED = "invoiceCancelled"
INVOICE_TIMED_OUT = "invoiceTimedOut"
PAYMENT_CREATED = "paymentCreated"
PAYMENT_TIMED_OUT = "paymentTimedOut"

#: Subscription literal → the event it means. The payment events are listed under both names
#: because the sources disagree on which one the real server uses (coinpayments.md#webhook-events).
SUBSCRIPTION_NAMES: dict[str, str] = {
    INVOICE_CREATED: INVOICE_CREATED,
    INVOICE_PENDING: INVOICE_PENDING,
    INVOICE_PAID: INVOICE_PAID,
    INVOICE_COMPLETED: INVOICE_COMPLETED,
    INVOICE_CANCELLED: INVOICE_CANCELLED,
    INVOICE_TIMED_OUT: INVOICE_TIMED_OUT,
    PAYMENT_CREATED: PAYMENT_CREATED,
    PAYMENT_TIMED_OUT: PAYMENT_TIMED_OUT,
    "invoicePaymentCreated": PAYMENT_CREATED,
    "invoicePaymentTimedOut": PAYMENT_TIMED_OUT,
}
_BY_LOWER = {name.lower(): name for name in SUBSCRIPTION_NAMES}


def canonical_subscription(name: str) -> str | None:
    """The subscription literal as the server stores it (enum binding is case-insensitive), or None."""
    return _BY_LOWER.get(name.lower())


def event_of(subscription: str) -> str:
    return SUBSCRIPTION_NAMES[subscription]


def pascal(name: str) -> str:
    return name[:1].upper() + name[1:]

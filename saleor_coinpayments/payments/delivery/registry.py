"""Who delivers which kind of outbox row: each flow registers its kinds here when it is imported.

The outbox worker only looks kinds up, so the delivery machinery never imports the flows (which
import the outbox to queue their rows). `payments/flows.py` imports every flow once, so a process
that runs the worker knows all kinds.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from saleor_coinpayments.context import AppContext
from saleor_coinpayments.store.installations import InstallationRecord
from saleor_coinpayments.store.tables import OutboxMessage, OutboxStatus

DELIVERED = OutboxStatus.DELIVERED.value
FAILED = OutboxStatus.FAILED.value
RETRY = "retry"

# (outcome, note): DELIVERED, FAILED (a permanent refusal; the note is the reason) or RETRY (transient).
# A handler may also just raise SaleorUnavailable (counted as RETRY) or SaleorRejected (FAILED).
Delivery = tuple[str, str | None]
Deliver = Callable[[AppContext, InstallationRecord, OutboxMessage], Awaitable[Delivery]]
# True when an earlier attempt already reached Saleor (so sending again could show it twice).
AlreadyDelivered = Callable[[AppContext, InstallationRecord, OutboxMessage], Awaitable[bool]]


@dataclass(frozen=True)
class Handler:
    deliver: Deliver
    already_delivered: AlreadyDelivered | None = None


class OutboxRegistry:
    """Kinds of outbox rows and their handlers; a kind is registered once."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def register(self, kind: str, deliver: Deliver, *, already_delivered: AlreadyDelivered | None = None) -> None:
        existing = self._handlers.get(kind)
        if existing is not None and existing.deliver is not deliver:
            raise ValueError(f"outbox kind {kind!r} is already registered")
        self._handlers[kind] = Handler(deliver, already_delivered)

    def handler(self, kind: str) -> Handler | None:
        return self._handlers.get(kind)

    def kinds(self) -> frozenset[str]:
        return frozenset(self._handlers)


deliveries = OutboxRegistry()

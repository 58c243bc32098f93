"""Delivering `transactionEventReport` rows, and telling whether one already reached Saleor.

Saleor de-duplicates CHARGE_* reports by pspReference, type and amount, but never INFO. So before
a report that may have been sent already is sent again, the transaction's events are read: the
report is there when an event has its type, pspReference and time (the `time` we send becomes the
event's `createdAt`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from saleor_coinpayments.context import AppContext
from saleor_coinpayments.payments.delivery.outbox import EVENT_REPORT
from saleor_coinpayments.payments.delivery.registry import DELIVERED, FAILED, Delivery, deliveries
from saleor_coinpayments.saleor.client import describe_errors, mutation_errors
from saleor_coinpayments.saleor.payment_method_details import event_report_call
from saleor_coinpayments.saleor.schema import load_document
from saleor_coinpayments.store.installations import InstallationRecord
from saleor_coinpayments.store.tables import OutboxMessage


async def deliver(ctx: AppContext, installation: InstallationRecord, message: OutboxMessage) -> Delivery:
    document, variables = event_report_call(installation.schema_version, message.payload)
    data = await ctx.saleor.execute(installation.saleor_api_url, document, variables, token=installation.app_token)
    errors = mutation_errors(data, "transactionEventReport")
    return (FAILED, describe_errors(errors)) if errors else (DELIVERED, None)


def _parse_time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def is_same_event(payload: dict[str, Any], event: dict[str, Any]) -> bool:
    """Whether a Saleor transaction event is the one this report makes."""
    if event.get("type") != payload.get("type") or event.get("pspReference") != payload.get("pspReference"):
        return False
    sent, seen = _parse_time(payload.get("time")), _parse_time(event.get("createdAt"))
    if sent is not None and seen is not None:
        return abs((sent - seen).total_seconds()) < 0.001
    return str(event.get("message") or "") == str(payload.get("message") or "")


async def already_delivered(ctx: AppContext, installation: InstallationRecord, message: OutboxMessage) -> bool:
    """Raises SaleorUnavailable / SaleorRejected when Saleor cannot tell."""
    data = await ctx.saleor.execute(
        installation.saleor_api_url,
        load_document("transaction_events"),
        {"id": message.payload.get("id")},
        token=installation.app_token,
    )
    transaction = data.get("transaction")
    if not isinstance(transaction, dict):
        return False
    events = transaction.get("events") or []
    return any(isinstance(event, dict) and is_same_event(message.payload, event) for event in events)


deliveries.register(EVENT_REPORT, deliver, already_delivered=already_delivered)

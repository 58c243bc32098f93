"""The app's GraphQL documents and its own subset of the Saleor schema, as package data.

`subscriptions/<event>.graphql` are the manifest webhook queries (one per event; the order events
share ORDER_CREATED's, with their own event type),
`documents/<name>.graphql` what the app sends to Saleor, and `schema/subset*.graphql` the
types and fields those use, copied field for field from Saleor's schema (a test keeps the
copy honest): one subset per tested schema line, the oldest supported (3.20) and the newest,
because everything the app sends must work on both. Files are read once and cached.
"""

from __future__ import annotations

import functools
from importlib import resources

__all__ = [
    "DOCUMENT_NAMES",
    "NEWER_LINES_ONLY",
    "documents_for_line",
    "NEWEST_LINE",
    "OLDEST_LINE",
    "SCHEMA_LINES",
    "SUBSCRIPTION_EVENTS",
    "load_document",
    "subscription_file",
    "load_subscription",
    "schema_line_of",
    "subset_sdl",
]

_PACKAGE = "saleor_coinpayments.saleor"

#: The oldest Saleor line the app supports (its long-term-support release) and the newest one
#: it is tested against; the app sends only what both schemas have (see docs/admin/install.md).
OLDEST_LINE = "3.20"
NEWEST_LINE = "newest"
SCHEMA_LINES: tuple[str, ...] = (OLDEST_LINE, NEWEST_LINE)
_SUBSET_FILES = {OLDEST_LINE: "subset-3.20", NEWEST_LINE: "subset"}

#: Webhook events the app subscribes to, as Saleor names them (enum names).
SUBSCRIPTION_EVENTS: tuple[str, ...] = (
    "PAYMENT_GATEWAY_INITIALIZE_SESSION",
    "TRANSACTION_INITIALIZE_SESSION",
    "TRANSACTION_PROCESS_SESSION",
    "TRANSACTION_CHARGE_REQUESTED",
    "TRANSACTION_REFUND_REQUESTED",
    "TRANSACTION_CANCELATION_REQUESTED",
    "INVOICE_REQUESTED",
    "ORDER_CREATED",
    "ORDER_CONFIRMED",
    "ORDER_UPDATED",
    "ORDER_CANCELLED",
)

#: App→Saleor documents, by file stem.
DOCUMENT_NAMES: tuple[str, ...] = (
    "app_id",
    "app_webhooks",
    "channel_ids",
    "channels",
    "checkout_complete",
    "invoice_create",
    "invoice_send_notification",
    "invoice_update",
    "order_for_invoice",
    "order_invoices_sent",
    "order_note_add",
    "orders_to_bill",
    "transaction",
    "transaction_create",
    "transaction_event_report",
    "transaction_event_report_with_method",
    "transaction_events",
    "transaction_update_name",
    "webhook_update",
)


#: Documents the app sends only to lines newer than the oldest (it asks the installation's line
#: first, saleor/lines.py): they use fields the oldest schema lacks, so they are checked against
#: the newest schema alone, and a test proves the oldest refuses them.
NEWER_LINES_ONLY: frozenset[str] = frozenset({"transaction_event_report_with_method"})


def documents_for_line(line: str) -> tuple[str, ...]:
    """The document stems the app may send to a tested schema line."""
    return tuple(name for name in DOCUMENT_NAMES if line != OLDEST_LINE or name not in NEWER_LINES_ONLY)


@functools.cache
def _read(folder: str, stem: str) -> str:
    return resources.files(_PACKAGE).joinpath(folder, f"{stem}.graphql").read_text(encoding="utf-8")


#: Events whose query is another event's with their own event type in it (the same order fields).
_SHARED_QUERIES = {
    "ORDER_CONFIRMED": "ORDER_CREATED",
    "ORDER_UPDATED": "ORDER_CREATED",
    "ORDER_CANCELLED": "ORDER_CREATED",
}


def _event_type(event: str) -> str:
    """The event's GraphQL type: ORDER_CREATED → OrderCreated."""
    return "".join(word.capitalize() for word in event.split("_"))


def _events(event_name: str) -> tuple[str, str]:
    """The event as Saleor names it (from any case, dashes or underscores) and the event whose file
    holds its query; KeyError for an event the app does not subscribe to."""
    event = event_name.strip().upper().replace("-", "_")
    if event not in SUBSCRIPTION_EVENTS:
        raise KeyError(f"no subscription for event {event_name!r}")
    return event, _SHARED_QUERIES.get(event, event)


def subscription_file(event_name: str) -> str:
    """The stem of the file under subscriptions/ that holds an event's query."""
    return _events(event_name)[1].lower()


def load_subscription(event_name: str) -> str:
    """The subscription query for a webhook event (`TRANSACTION_INITIALIZE_SESSION` or lower case)."""
    event, source = _events(event_name)
    query = _read("subscriptions", source.lower())
    if source != event:
        query = query.replace(_event_type(source), _event_type(event))
    return query


def load_document(name: str) -> str:
    """An app→Saleor document by file stem, e.g. `transaction_event_report`."""
    stem = name.removesuffix(".graphql")
    if stem not in DOCUMENT_NAMES:
        raise KeyError(f"no GraphQL document {name!r}")
    return _read("documents", stem)


def schema_line_of(saleor_version: str) -> str:
    """The tested schema line a Saleor version (`3.20.119`, `3.23`) belongs to; later ones are the newest."""
    major_minor = ".".join(saleor_version.strip().split(".")[:2])
    return major_minor if major_minor in _SUBSET_FILES else NEWEST_LINE


def subset_sdl(line: str = NEWEST_LINE) -> str:
    """The project's subset of one schema line of Saleor (SDL); the newest by default."""
    if line not in _SUBSET_FILES:
        raise KeyError(f"no schema subset for Saleor line {line!r}")
    return _read("schema", _SUBSET_FILES[line])

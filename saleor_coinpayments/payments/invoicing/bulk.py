"""`invoice send --channel SLUG --unpaid`: bill every unpaid order of a channel, one line per order.

The orders come from Saleor's `orders` list (unpaid or partly paid, confirmed, not cancelled,
optionally created on or after a date); each goes through the same `send_invoice` as the other
doors, so a rerun finds the invoices it made (`existing`) and makes none twice. `--dry-run` reads
Saleor and the app's database only: it says what would happen and changes nothing anywhere.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from saleor_coinpayments.context import AppContext
from saleor_coinpayments.payments.invoicing import sent_invoices
from saleor_coinpayments.payments.invoicing.order_events import being_paid
from saleor_coinpayments.payments.repository import PaymentRepository
from saleor_coinpayments.saleor.client import SaleorError
from saleor_coinpayments.saleor.schema import load_document
from saleor_coinpayments.store.configurations import ConfigurationRepository
from saleor_coinpayments.store.installations import InstallationRecord

PAGE = 50
UNPAID = ["NONE", "PARTIAL"]
BILLABLE_STATUSES = ["UNFULFILLED", "PARTIALLY_FULFILLED", "FULFILLED"]


class BulkUsageError(Exception):
    """The run cannot start (unknown channel, channel without a configuration): nothing was done."""


@dataclass
class BulkSummary:
    counts: Counter[str] = field(default_factory=Counter)
    refused: int = 0
    temporary: bool = False

    def line(self, dry_run: bool) -> str:
        total = sum(self.counts.values())
        parts = ", ".join(f"{count} {outcome}" for outcome, count in sorted(self.counts.items())) or "nothing to do"
        tail = " (dry run: nothing was changed)" if dry_run else ""
        return f"{total} order(s): {parts}{tail}"


async def _orders(
    ctx: AppContext, installation: InstallationRecord, channel_id: str, created_after: date | None
) -> AsyncIterator[dict[str, Any]]:
    where: dict[str, Any] = {"channels": [channel_id], "chargeStatus": UNPAID, "status": BILLABLE_STATUSES}
    if created_after is not None:
        where["created"] = {"gte": created_after.isoformat()}
    after: str | None = None
    while True:
        data = await ctx.saleor.execute(
            installation.saleor_api_url,
            load_document("orders_to_bill"),
            {"filter": where, "first": PAGE, "after": after},
            token=installation.app_token,
        )
        connection = data.get("orders") or {}
        for edge in connection.get("edges") or []:
            if isinstance(edge, dict) and isinstance(edge.get("node"), dict):
                yield edge["node"]
        info = connection.get("pageInfo") or {}
        if not info.get("hasNextPage") or not info.get("endCursor"):
            return
        after = str(info["endCursor"])


async def _channel_id(ctx: AppContext, installation: InstallationRecord, slug: str) -> str:
    data = await ctx.saleor.execute(
        installation.saleor_api_url, load_document("channel_ids"), token=installation.app_token
    )
    for channel in data.get("channels") or []:
        if isinstance(channel, dict) and channel.get("slug") == slug:
            return str(channel["id"])
    raise BulkUsageError(f"Saleor has no channel {slug!r}")


async def _dry_run_line(ctx: AppContext, installation: InstallationRecord, order: dict[str, Any]) -> tuple[str, str]:
    async with ctx.db.session() as session:
        history = await PaymentRepository(session).sent_for_order(installation.id, order["id"])
    live = next((p for p in reversed(history) if p.invoice_id and p.state not in sent_invoices.ENDED), None)
    if live is not None:
        return "existing", f"has CoinPayments invoice {live.invoice_id} ({live.state}); nothing would be made"
    checked = sent_invoices.billable_order(order)
    if isinstance(checked, sent_invoices.SendRefused):
        return "skipped", f"{checked.code}: {checked.message}"
    return "would create", f"an invoice for {checked.amount} e-mailed to {checked.email}"


def _described(sent: sent_invoices.InvoiceSent) -> str:
    if sent.outcome == "existing":
        return f"CoinPayments invoice {sent.invoice_id} ({sent.state}); no new invoice was made"
    text = f"CoinPayments invoice {sent.invoice_id} for {sent.amount} e-mailed to {sent.email}"
    return text + (f" (replaces {sent.previous_invoice_id})" if sent.previous_invoice_id else "")


async def bill_unpaid_orders(
    ctx: AppContext,
    installation: InstallationRecord,
    channel_slug: str,
    *,
    created_after: date | None,
    dry_run: bool,
    options: sent_invoices.SendOptions,
    out: Callable[[str], None],
) -> BulkSummary:
    """Bill (or, dry, describe) every unpaid order of the channel; prints one line per order.
    Raises BulkUsageError before anything is done, SaleorError when Saleor cannot list the orders."""
    async with ctx.db.session() as session:
        config = await ConfigurationRepository(session, ctx.box).for_channel(installation.id, channel_slug)
    if config is None:
        raise BulkUsageError(f"channel {channel_slug!r} has no CoinPayments configuration")
    channel_id = await _channel_id(ctx, installation, channel_slug)
    summary = BulkSummary()
    try:
        async for order in _orders(ctx, installation, channel_id, created_after):
            name = f"order {order.get('number') or order['id']}"
            if being_paid(order):
                outcome, text = "skipped", "being paid through a checkout transaction"
            elif dry_run:
                outcome, text = await _dry_run_line(ctx, installation, order)
            else:
                result = await sent_invoices.send_invoice(ctx, installation, order, options=options)
                if isinstance(result, sent_invoices.SendRefused):
                    outcome = "not answered" if result.temporary else "skipped"
                    text = f"{result.code}: {result.message}"
                    summary.temporary |= result.temporary
                else:
                    outcome, text = result.outcome, _described(result)
            summary.counts[outcome] += 1
            summary.refused += outcome == "skipped"
            out(f"{name}: {outcome}: {text}")
    except SaleorError as exc:
        out(f"Saleor stopped answering: {exc.message}; run the command again")
        summary.temporary = True
    return summary

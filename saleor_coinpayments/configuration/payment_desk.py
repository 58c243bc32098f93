"""The Dashboard's payments tab: the log with what waits for Saleor, re-queueing refused reports,
and re-reading one invoice now.

Each answer reads the log after the change, in a session of its own, so the page shows what was
committed. Expected outcomes come back as values, never as exceptions.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from saleor_coinpayments.coinpayments.errors import CoinPaymentsError
from saleor_coinpayments.configuration.payment_log import PaymentLog, PaymentLogEntry
from saleor_coinpayments.configuration.service import NotFound
from saleor_coinpayments.context import AppContext
from saleor_coinpayments.payments.delivery.outbox import Backlog, OutboxRepository
from saleor_coinpayments.payments.refresh import refresh_payment

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class PaymentsPage:
    entries: list[PaymentLogEntry]
    reports: Backlog


@dataclass(frozen=True)
class Requeued:
    count: int
    payment: PaymentLogEntry | None


@dataclass(frozen=True)
class Resynced:
    payment: PaymentLogEntry | None


@dataclass(frozen=True)
class NoInvoice:
    message: str = "This payment has no CoinPayments invoice yet."


@dataclass(frozen=True)
class ResyncFailed:
    """CoinPayments did not answer the re-read; the message is for the merchant."""

    message: str


async def payments_page(ctx: AppContext, installation_id: str, channel: str | None, limit: int) -> PaymentsPage:
    async with ctx.db.session() as session:
        entries = await PaymentLog(session).recent(installation_id, channel, limit)
        backlog = await OutboxRepository(session).backlog(installation_id)
    return PaymentsPage(entries, backlog)


async def _entry(ctx: AppContext, installation_id: str, payment_id: str) -> PaymentLogEntry | None:
    async with ctx.db.session() as session:
        return await PaymentLog(session).one(installation_id, payment_id)


async def retry_reports(ctx: AppContext, installation_id: str, payment_id: str) -> Requeued | NotFound:
    """Re-queue the payment's reports Saleor refused or that expired (once the cause is fixed)."""
    async with ctx.db.session() as session:
        if await PaymentLog(session).one(installation_id, payment_id) is None:
            return NotFound("No such payment.")
        requeued = await OutboxRepository(session).requeue(installation_id=installation_id, payment_id=payment_id)
    return Requeued(len(requeued), await _entry(ctx, installation_id, payment_id))


async def resync(
    ctx: AppContext, installation_id: str, payment_id: str
) -> Resynced | NotFound | NoInvoice | ResyncFailed:
    """Re-read the payment's invoice from CoinPayments now and apply what it says."""
    entry = await _entry(ctx, installation_id, payment_id)
    if entry is None:
        return NotFound("No such payment.")
    if entry.invoice_id is None:
        return NoInvoice()
    try:
        await refresh_payment(ctx, payment_id)
    except CoinPaymentsError as exc:
        log.warning("dashboard_resync_failed", payment_id=payment_id, error=exc.code)
        return ResyncFailed(exc.merchant_message)
    return Resynced(await _entry(ctx, installation_id, payment_id))

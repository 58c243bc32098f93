"""Gauges of the work waiting in the database, sampled by every `serve` every few seconds (two
cheap aggregate queries), so /metrics and /health/ready never touch the tables themselves."""

from __future__ import annotations

from prometheus_client import Gauge

from saleor_coinpayments.context import AppContext
from saleor_coinpayments.payments.delivery.outbox import OutboxRepository
from saleor_coinpayments.payments.repository import PaymentRepository
from saleor_coinpayments.store.types import utcnow

SAMPLE_INTERVAL_SECONDS = 5.0

REPORTS_PENDING = Gauge("saleor_reports_pending", "Reports to Saleor waiting to be delivered (all replicas)")
REPORTS_FAILED = Gauge("saleor_reports_failed", "Reports to Saleor given up on: refused, or expired after retrying")
OLDEST_PENDING_AGE = Gauge(
    "saleor_reports_oldest_pending_age_seconds", "Age of the oldest report still waiting for Saleor (0: none)"
)
RECONCILER_LAG = Gauge(
    "reconciler_lag_seconds", "Now minus the oldest next_check_at of a payment still due a re-read (0: none)"
)


async def sample(ctx: AppContext) -> int:
    now = utcnow()
    async with ctx.db.session() as session:
        backlog = await OutboxRepository(session).backlog()
        oldest_due = await PaymentRepository(session).oldest_due_at(now)
    REPORTS_PENDING.set(backlog.pending)
    REPORTS_FAILED.set(backlog.failed + backlog.expired)
    OLDEST_PENDING_AGE.set(
        max(0.0, (now - backlog.oldest_pending_at).total_seconds()) if backlog.oldest_pending_at else 0
    )
    RECONCILER_LAG.set(max(0.0, (now - oldest_due).total_seconds()) if oldest_due else 0)
    return 0

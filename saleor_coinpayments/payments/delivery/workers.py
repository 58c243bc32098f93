"""Background work inside `serve` (and `reconcile` on its own): the outbox and the reconciler.

Both claim their rows in the database (SKIP LOCKED on PostgreSQL, leases everywhere), so several
processes can run them side by side without working one row twice.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import structlog

from saleor_coinpayments.coinpayments import errors as cp_errors
from saleor_coinpayments.context import AppContext, app_context
from saleor_coinpayments.payments.delivery.outbox_worker import OutboxWorker, deliver_due
from saleor_coinpayments.payments.invoicing.reminders import work_due_reminders
from saleor_coinpayments.payments.refresh import refresh_payment
from saleor_coinpayments.payments.repository import PaymentRepository
from saleor_coinpayments.settings import Settings
from saleor_coinpayments.store.migrate import upgrade_async

log = structlog.get_logger(__name__)

RECONCILE_BATCH = 50


async def reconcile_due(ctx: AppContext) -> int:
    """Re-read every payment that is due; returns how many were read."""
    async with ctx.db.session() as session:
        ids = await PaymentRepository(session).claim_due(RECONCILE_BATCH, lease=timedelta(minutes=2))
    for payment_id in ids:
        try:
            await refresh_payment(ctx, payment_id)
        except cp_errors.CoinPaymentsError as exc:
            log.warning("reconcile_read_failed", payment_id=payment_id, error=exc.message)
        except Exception:
            log.exception("reconcile_failed", payment_id=payment_id)
    return len(ids)


async def register_missing_notifications(ctx: AppContext) -> int:
    """Configurations saved while CoinPayments was down get their notification webhook later."""
    from saleor_coinpayments.configuration.service import ConfigurationService

    await ConfigurationService(ctx).ensure_notifications()
    return 0


async def _loop(name: str, interval: float, step: Callable[[AppContext], Awaitable[int]], ctx: AppContext) -> None:
    while True:
        try:
            worked = await step(ctx)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("worker_step_failed", worker=name)
            worked = 0
        if not worked:
            await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def run_background_workers(ctx: AppContext) -> AsyncIterator[None]:
    """The workers run while the block runs. Leaving it stops claiming, lets the outbox finish what
    it holds within SHUTDOWN_GRACE_SECONDS and releases the rest (leases cover a SIGKILL)."""
    stopping = asyncio.Event()
    grace = ctx.settings.shutdown_grace_seconds
    outbox = asyncio.create_task(OutboxWorker(ctx).run(stopping, grace))
    loops = [
        asyncio.create_task(_loop("reconciler", ctx.settings.reconcile_interval_seconds, reconcile_due, ctx)),
        asyncio.create_task(_loop("reminders", ctx.settings.reconcile_interval_seconds, work_due_reminders, ctx)),
        asyncio.create_task(
            _loop("notifications", ctx.settings.reconcile_interval_seconds * 20, register_missing_notifications, ctx)
        ),
    ]
    try:
        yield
    finally:
        stopping.set()
        for task in loops:
            task.cancel()
        await asyncio.gather(*loops, return_exceptions=True)
        try:
            await asyncio.wait_for(outbox, timeout=grace + 5)
        except (TimeoutError, asyncio.CancelledError):
            pass
        except Exception:
            log.exception("outbox_worker_failed")
        log.info("workers_stopped")


async def reconcile_command(settings: Settings, *, once: bool) -> int:
    """`saleor-coinpayments reconcile [--once]`: re-read due payments and deliver reports."""
    await upgrade_async(settings.resolved_database_url)
    async with app_context(settings) as ctx:
        if once:
            read = await reconcile_due(ctx)
            await work_due_reminders(ctx)
            sent = 0
            while batch := await deliver_due(ctx):
                sent += batch
            print(f"re-read {read} payment(s), worked {sent} report(s)")
            return 0
        async with run_background_workers(ctx):
            await asyncio.Event().wait()
    return 0

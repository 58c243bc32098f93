"""Background work inside `serve` (and `reconcile` on its own): the outbox and the reconciler.

Both claim their rows in the database (SKIP LOCKED on PostgreSQL, leases everywhere), so several
processes can run them side by side without working one row twice.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import structlog

from saleor_coinpayments.context import AppContext, app_context
from saleor_coinpayments.payments.delivery import backlog
from saleor_coinpayments.payments.delivery.outbox_worker import OutboxWorker, deliver_due
from saleor_coinpayments.payments.delivery.reconciler import Reconciler, reconcile_due
from saleor_coinpayments.payments.invoicing.reminders import work_due_reminders
from saleor_coinpayments.payments.sweep import sweep_loop
from saleor_coinpayments.settings import Settings
from saleor_coinpayments.store.migrate import upgrade_async

log = structlog.get_logger(__name__)


async def register_missing_notifications(ctx: AppContext) -> int:
    """Configurations saved while CoinPayments was down get their notification webhook later."""
    from saleor_coinpayments.configuration.service import ConfigurationService

    await ConfigurationService(ctx).ensure_notifications()
    return 0


REMINDERS_SECONDS = 30.0  # how often due reminders are looked for
NOTIFICATIONS_SECONDS = 600.0  # how often missing CoinPayments notification subscriptions are looked for


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
async def run_background_workers(ctx: AppContext, stopping: asyncio.Event | None = None) -> AsyncIterator[None]:
    """The workers run while the block runs, or until `stopping` is set (SIGTERM). Then they stop
    claiming, let the outbox and the reconciler finish what they hold within SHUTDOWN_GRACE_SECONDS
    and release the rest (leases cover a SIGKILL)."""
    stopping = stopping or asyncio.Event()
    grace = ctx.settings.shutdown_grace_seconds
    claiming = [
        asyncio.create_task(OutboxWorker(ctx).run(stopping, grace)),
        asyncio.create_task(Reconciler(ctx).run(stopping, grace)),
    ]
    # RECONCILE_INTERVAL_SECONDS (an hour by default) bounds how often these look; a short one (tests)
    # makes them look as often.
    interval = ctx.settings.reconcile_interval_seconds
    loops = [
        asyncio.create_task(_loop("reminders", min(REMINDERS_SECONDS, interval), work_due_reminders, ctx)),
        asyncio.create_task(
            _loop("notifications", min(NOTIFICATIONS_SECONDS, interval * 20), register_missing_notifications, ctx)
        ),
        asyncio.create_task(sweep_loop(ctx)),
        asyncio.create_task(_loop("backlog_metrics", backlog.SAMPLE_INTERVAL_SECONDS, backlog.sample, ctx)),
    ]
    try:
        yield
    finally:
        stopping.set()
        for task in loops:
            task.cancel()
        await asyncio.gather(*loops, return_exceptions=True)
        done, late = await asyncio.wait(claiming, timeout=grace + 5)
        for task in late:
            task.cancel()
        for outcome in await asyncio.gather(*claiming, return_exceptions=True):
            if isinstance(outcome, Exception):
                log.error("worker_failed", error=repr(outcome))
        log.info("workers_stopped", cut_short=len(late))


async def reconcile_command(settings: Settings, *, once: bool) -> int:
    """`saleor-coinpayments reconcile [--once]`: re-read due payments and deliver reports."""
    await upgrade_async(settings.resolved_database_url)
    async with app_context(settings) as ctx:
        if once:
            read = 0
            while batch := await reconcile_due(ctx):
                read += batch
            await work_due_reminders(ctx)
            sent = 0
            while batch := await deliver_due(ctx):
                sent += batch
            print(f"re-read {read} payment(s), worked {sent} report(s)")
            return 0
        async with run_background_workers(ctx):
            await asyncio.Event().wait()
    return 0

"""The invoice-list sweep: what changed at CoinPayments, found in a few calls instead of a read each.

CoinPayments' List invoices (coinpayments.md#list-invoices) filters by one status and by creation
time and pages with a cursor. A sweep lists, per CoinPayments account with open payments, the
invoices made in a window that are `pending`, `paid`, `completed`, `cancelled` or `timedOut`, and
makes due at once each of ours that the list shows ahead of what we stored (`moved`); the
reconciler then reads those first (deadline now). Unpaid invoices, the bulk of a quiet shop, are
never listed.

Two sweeps, each done by one replica per interval (a lease row, store/leases.py):

- recent: invoices made within SWEEP_RECENT_WINDOW_SECONDS, every SWEEP_RECENT_SECONDS, so a
  checkout whose notification was lost is seen within seconds without reading each invoice;
- all: from the oldest open payment, every SWEEP_ALL_SECONDS, for sent-out invoices that stay
  open for days and are read hourly at most otherwise.

Its calls are background reads of the shared rate limit, like the reconciler's.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from prometheus_client import Counter

from saleor_coinpayments.coinpayments import errors as cp_errors
from saleor_coinpayments.coinpayments.client import MAX_LIST_LIMIT, CoinPaymentsClient
from saleor_coinpayments.coinpayments.models.common import InvoiceStatus
from saleor_coinpayments.context import AppContext
from saleor_coinpayments.payments.gateway import client_for, configuration
from saleor_coinpayments.payments.repository import PaymentRepository
from saleor_coinpayments.states import PaymentState
from saleor_coinpayments.store.leases import take_lease
from saleor_coinpayments.store.types import utcnow

log = structlog.get_logger(__name__)

SWEPT_STATUSES = (
    InvoiceStatus.PENDING,
    InvoiceStatus.PAID,
    InvoiceStatus.COMPLETED,
    InvoiceStatus.CANCELLED,
    InvoiceStatus.TIMED_OUT,
)
MAX_PAGES = 50  # per status and account in one sweep: bounds its cost; the next sweep goes on
CLOCK_MARGIN = timedelta(minutes=5)  # CoinPayments' clock and ours may differ a little
LEASE_MARGIN = timedelta(seconds=1)  # a sweep's lease ends this much before its next start (lease_until)
HOLDER = uuid.uuid4().hex  # this process, in the lease rows

SWEEP_CALLS = Counter("sweep_list_calls_total", "CoinPayments List invoices calls made by sweeps", ["sweep"])
SWEEP_FOUND = Counter("sweep_moved_total", "Open payments a sweep found moved and made due", ["sweep"])

# What each listed status says our stored state does not know yet.
_KNOWN: dict[InvoiceStatus, frozenset[PaymentState]] = {
    InvoiceStatus.PENDING: frozenset(PaymentState) - {PaymentState.UNPAID},
    InvoiceStatus.PAID: frozenset({PaymentState.PAID, PaymentState.COMPLETED}),
    InvoiceStatus.COMPLETED: frozenset({PaymentState.COMPLETED}),
    InvoiceStatus.CANCELLED: frozenset(PaymentState) - {PaymentState.UNPAID, PaymentState.PENDING},
    InvoiceStatus.TIMED_OUT: frozenset(PaymentState) - {PaymentState.UNPAID, PaymentState.PENDING},
}


def moved(stored: PaymentState, listed: InvoiceStatus) -> bool:
    """Whether an invoice listed with `listed` has news for a payment stored as `stored`."""
    return stored not in _KNOWN[listed]


@dataclass(frozen=True)
class SweepOutcome:
    calls: int
    made_due: int


async def sweep_account(
    ctx: AppContext, client: CoinPaymentsClient, created_from: datetime, now: datetime
) -> SweepOutcome:
    """List one account's invoices made since `created_from` in each swept status; make due the open
    payments the list shows moved. Raises CoinPaymentsError when CoinPayments does not answer."""
    calls = made_due = 0
    for status in SWEPT_STATUSES:
        after: str | None = None
        for _ in range(MAX_PAGES):
            page = await client.list_invoices(
                status=status, created_from=created_from, created_to=now, limit=MAX_LIST_LIMIT, after=after
            )
            calls += 1
            listed = {item.id: item.status for item in page.items}
            async with ctx.db.session() as session:
                payments = PaymentRepository(session)
                stored = await payments.open_states(list(listed))
                due = [
                    invoice_id for invoice_id, state in stored.items() if moved(PaymentState(state), listed[invoice_id])
                ]
                made_due += await payments.make_due(due, now)
            after = page.paging.after
            if not page.items or not after:
                break
        else:
            log.warning("sweep_pages_cut_short", status=status.value, pages=MAX_PAGES)
    return SweepOutcome(calls, made_due)


async def sweep(ctx: AppContext, name: str, window: timedelta | None, now: datetime | None = None) -> SweepOutcome:
    """One sweep of every account with open payments: invoices made within `window` before `now`, or
    (None) since the oldest open payment of that configuration."""
    now = now or utcnow()
    async with ctx.db.session() as session:
        oldest = await PaymentRepository(session).oldest_open_by_configuration()
    starts: dict[tuple[str, str], tuple[str, datetime]] = {}
    for configuration_id, first in oldest.items():
        config = await configuration(ctx, configuration_id)
        if config is None:
            continue
        start = now - window if window is not None else first
        start = max(start, first) - CLOCK_MARGIN
        account = (config.api_url, config.client_id)
        if account not in starts or start < starts[account][1]:
            starts[account] = (configuration_id, start)
    calls = made_due = 0
    for configuration_id, start in starts.values():
        config = await configuration(ctx, configuration_id)
        if config is None:
            continue
        try:
            outcome = await sweep_account(ctx, client_for(ctx, config, background=True), start, now)
        except cp_errors.CoinPaymentsError as exc:
            log.warning("sweep_failed", sweep=name, configuration_id=configuration_id, error=exc.message)
            continue
        calls += outcome.calls
        made_due += outcome.made_due
    SWEEP_CALLS.labels(sweep=name).inc(calls)
    SWEEP_FOUND.labels(sweep=name).inc(made_due)
    if made_due:
        log.info("sweep_found_moved", sweep=name, payments=made_due, calls=calls)
    return SweepOutcome(calls, made_due)


def lease_until(now: datetime, interval: float) -> datetime:
    """The lease one sweep takes: up to the next start an `interval` later, less a margin (a tenth of
    the interval, at most LEASE_MARGIN), so that the holder's own next start, which an early timer or
    a clock a hair behind may bring a little before that, finds it lapsed."""
    return now + timedelta(seconds=interval - min(LEASE_MARGIN.total_seconds(), interval / 10))


async def run_every(
    ctx: AppContext,
    name: str,
    interval: float,
    run: Callable[[], Awaitable[SweepOutcome]],
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Run `run` once per `interval` across all replicas: the replica that takes the lease does it.
    Sweeps start `interval` apart, however long one takes (it lists five statuses at CoinPayments'
    pace and waits for background slots: seconds): a payment whose notification was lost is found
    within one interval, as documented, not one interval plus a sweep."""
    while True:
        started = clock()
        now = utcnow()
        try:
            if await take_lease(ctx.db, f"sweep:{name}", HOLDER, now, lease_until(now, interval)):
                await run()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("sweep_crashed", sweep=name)
        await sleep(max(0.0, interval - (clock() - started)))


async def sweep_loop(ctx: AppContext) -> None:
    """Both sweeps, until cancelled."""
    s = ctx.settings
    recent = timedelta(seconds=s.sweep_recent_window_seconds)
    await asyncio.gather(
        run_every(ctx, "recent", s.sweep_recent_seconds, lambda: sweep(ctx, "recent", recent)),
        run_every(ctx, "all", s.sweep_all_seconds, lambda: sweep(ctx, "all", None)),
    )

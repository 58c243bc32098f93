"""The reconciler: re-reads each open invoice when its schedule says (payments/schedule.py).

Every open payment has its next read time (`next_check_at`): soon after a notification, seconds
apart while fresh, watched or with money on its way, then further apart the longer nothing changes.
The reconciler claims the payments that are due, earliest deadline first (PaymentRepository.rank_due:
starvation-free), and finds them through an index, never by scanning every open payment; an idle
reconciler looks again every RECONCILE_POLL_SECONDS. Up to RECONCILE_CONCURRENCY reads are in flight
per process. Each waits for a background slot of its client id's rate limit
(coinpayments/ratelimit.py: shared by every replica, and live requests go first), so the reads of
all replicas together run at the limit and never above it. The lease of every read in flight is
renewed while it runs, so it lapses only when the process dies (then another replica reads the
payment after RECONCILE_LEASE_SECONDS); a read that fails keeps its claim until the lease ends,
which spaces retries. A read is cut off after READ_TIMEOUT_SECONDS.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import structlog
from prometheus_client import Counter

from saleor_coinpayments.coinpayments import errors as cp_errors
from saleor_coinpayments.context import AppContext
from saleor_coinpayments.payments.checkout.coin_choice import refresh_coin_status
from saleor_coinpayments.payments.delivery.claim_loop import work_claims
from saleor_coinpayments.payments.refresh import refresh_payment_row
from saleor_coinpayments.payments.repository import CANDIDATES_PER_CLAIM, PaymentRepository
from saleor_coinpayments.store.tables import Payment
from saleor_coinpayments.store.types import utcnow

log = structlog.get_logger(__name__)

READ_TIMEOUT_SECONDS = 60.0  # the limiter wait plus CoinPayments' own budget fit well inside

READS = Counter("reconciler_reads_total", "Invoice re-reads by the reconciler, by outcome", ["outcome"])


def _watched_with_a_coin(payment: Payment) -> bool:
    """A buyer on the pay page sees the chosen coin's confirmations: its status is re-read with the
    invoice while they watch (refresh_coin_status skips it while PROCESS_REFRESH_MIN_SECONDS fresh)."""
    return (
        payment.coin_currency_id is not None
        and payment.watching_until is not None
        and payment.watching_until > utcnow()
    )


class Reconciler:
    def __init__(self, ctx: AppContext) -> None:
        self._ctx = ctx
        self._lease = timedelta(seconds=ctx.settings.reconcile_lease_seconds)
        self._held: set[str] = set()

    async def claim(self, limit: int) -> list[str]:
        # Ranked in one unit of work and claimed in the next: the claim is then the first statement
        # of its transaction (SQLite never finds its read snapshot outdated by another writer).
        async with self._ctx.db.session() as session:
            ranked = await PaymentRepository(session).rank_due(limit * CANDIDATES_PER_CLAIM)
        async with self._ctx.db.session() as session:
            ids = await PaymentRepository(session).claim(ranked, limit, self._lease)
        self._held.update(ids)
        return ids

    async def read(self, payment_id: str) -> None:
        """Re-read one payment; never raises but CancelledError (a failure waits for the lease to lapse)."""
        try:
            async with asyncio.timeout(READ_TIMEOUT_SECONDS):
                payment = await refresh_payment_row(self._ctx, payment_id, background=True)
                if payment is not None and _watched_with_a_coin(payment):
                    await refresh_coin_status(self._ctx, payment, background=True)
            READS.labels(outcome="read").inc()
        except cp_errors.CoinPaymentsError as exc:
            READS.labels(outcome="failed").inc()
            log.warning("reconcile_read_failed", payment_id=payment_id, error=exc.message)
        except TimeoutError:
            READS.labels(outcome="timed_out").inc()
            log.warning("reconcile_read_timed_out", payment_id=payment_id)
        except Exception:
            READS.labels(outcome="failed").inc()
            log.exception("reconcile_failed", payment_id=payment_id)
        # Not when cancelled (shutdown): then the claim stays held and `release_held` gives it back.
        self._held.discard(payment_id)

    async def renew_leases(self) -> None:
        """Keep the claims of reads in flight ahead of the clock (runs until cancelled)."""
        while True:
            await asyncio.sleep(max(0.2, self._lease.total_seconds() / 3))
            try:
                async with self._ctx.db.session() as session:
                    await PaymentRepository(session).renew(sorted(self._held), utcnow() + self._lease)
            except Exception:
                log.exception("reconciler_lease_renewal_failed")

    async def release_held(self) -> None:
        if self._held:
            async with self._ctx.db.session() as session:
                await PaymentRepository(session).release(sorted(self._held))
            self._held.clear()

    async def run(self, stopping: asyncio.Event, grace_seconds: float) -> None:
        renewer = asyncio.create_task(self.renew_leases())
        try:
            await work_claims(
                "reconciler",
                claim=self.claim,
                work=self.read,
                concurrency=self._ctx.settings.reconcile_concurrency,
                interval=min(self._ctx.settings.reconcile_poll_seconds, self._ctx.settings.reconcile_interval_seconds),
                stopping=stopping,
                grace_seconds=grace_seconds,
            )
        finally:
            renewer.cancel()
            await asyncio.gather(renewer, return_exceptions=True)
            await asyncio.shield(self.release_held())


async def reconcile_due(ctx: AppContext, limit: int | None = None) -> int:
    """One pass: claim up to `limit` due payments (default RECONCILE_CONCURRENCY), read them
    concurrently, return how many."""
    reconciler = Reconciler(ctx)
    ids = await reconciler.claim(limit or ctx.settings.reconcile_concurrency)
    await asyncio.gather(*(reconciler.read(payment_id) for payment_id in ids))
    return len(ids)

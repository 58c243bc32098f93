"""The outbox worker: delivers due reports to Saleor in parallel, in order per transaction.

Up to OUTBOX_CONCURRENCY reports are in flight per process. Rows are claimed in the database only
when a slot is free (so a claim never waits behind other work), and the lease of every row in
flight is renewed while it is worked, so it never lapses under a live worker; it lapses only when
the process dies. A row claimed again after an earlier try (lease lapsed, crash after sending,
answer lost) is first checked against Saleor, so a report is never shown twice. An outcome is
recorded only while the row is still ours (its claim token), never over another worker's.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import structlog
from prometheus_client import Counter

from saleor_coinpayments.context import AppContext
from saleor_coinpayments.payments.delivery import event_reports  # noqa: F401  (registers event reports)
from saleor_coinpayments.payments.delivery.claim_loop import work_claims
from saleor_coinpayments.payments.delivery.outbox import OutboxRepository, next_attempt_after_transient
from saleor_coinpayments.payments.delivery.registry import (
    DELIVERED,
    FAILED,
    RETRY,
    Delivery,
    OutboxRegistry,
    deliveries,
)
from saleor_coinpayments.saleor.client import SaleorRejected, SaleorUnavailable
from saleor_coinpayments.store.installations import InstallationRepository
from saleor_coinpayments.store.tables import OutboxMessage, OutboxStatus, new_id
from saleor_coinpayments.store.types import utcnow

log = structlog.get_logger(__name__)

DELIVERIES = Counter("saleor_reports_total", "Reports sent to Saleor, by outcome", ["outcome"])


async def deliver_one(ctx: AppContext, message: OutboxMessage, registry: OutboxRegistry = deliveries) -> Delivery:
    """One try of one row: check first if an earlier try may have arrived, then send."""
    async with ctx.db.session() as session:
        installation = await InstallationRepository(session, ctx.box).get_by_id(message.installation_id)
    if installation is None:
        return FAILED, "installation removed"
    handler = registry.handler(message.kind)
    if handler is None:
        # Never give a row up for a wiring mistake: another process (or the next release) knows the kind.
        log.error("outbox_kind_unknown", kind=message.kind, known=sorted(registry.kinds()))
        return RETRY, f"no handler for outbox kind {message.kind!r} in this process"
    if message.attempts > 1 and handler.already_delivered is not None:
        try:
            if await handler.already_delivered(ctx, installation, message):
                return DELIVERED, "an earlier try had already arrived in Saleor"
        except SaleorUnavailable as exc:
            return RETRY, exc.message
        except SaleorRejected as exc:
            return FAILED, f"could not check whether an earlier try arrived: {exc.message}"
    try:
        return await handler.deliver(ctx, installation, message)
    except SaleorUnavailable as exc:  # transient: unreachable, 5xx, 429, timeout
        return RETRY, exc.message
    except SaleorRejected as exc:  # a GraphQL refusal that trying again cannot fix
        return FAILED, exc.message


async def record_outcome(ctx: AppContext, message: OutboxMessage, token: str, delivery: Delivery) -> bool:
    """Store a try's outcome (retry time, or expired once the retry window is over)."""
    outcome, note = delivery
    now = utcnow()
    next_attempt_at = None
    if outcome == DELIVERED:
        status = OutboxStatus.DELIVERED.value
    elif outcome == RETRY:
        next_attempt_at = next_attempt_after_transient(
            ctx.settings, message.attempts, message.queued_at or message.created_at, now
        )
        if next_attempt_at is None:
            status = OutboxStatus.EXPIRED.value
            note = f"still failing after {ctx.settings.outbox_retry_hours:g} h: {note}"
        else:
            status = OutboxStatus.PENDING.value
    else:
        status = OutboxStatus.FAILED.value
    async with ctx.db.session() as session:
        kept = await OutboxRepository(session).finish(
            message.id, token, status=status, note=note, next_attempt_at=next_attempt_at
        )
    label = "retry" if status == OutboxStatus.PENDING.value else status
    DELIVERIES.labels(outcome=label if kept else "lease_lost").inc()
    log.info(
        "saleor_report",
        outcome=label,
        kind=message.kind,
        report_type=message.payload.get("type"),
        psp_reference=message.payload.get("pspReference"),
        attempts=message.attempts,
        error=note if status != OutboxStatus.DELIVERED.value else None,
        lease_lost=not kept or None,
    )
    return kept


class OutboxWorker:
    """Claims due rows as slots free up and works them concurrently; see the module docstring."""

    def __init__(self, ctx: AppContext, registry: OutboxRegistry = deliveries) -> None:
        self._ctx = ctx
        self._registry = registry
        self._held: dict[str, str] = {}  # row id → claim token, while in flight here
        self._lease = timedelta(seconds=ctx.settings.outbox_lease_seconds)

    @property
    def in_flight(self) -> int:
        return len(self._held)

    async def claim(self, limit: int) -> list[tuple[OutboxMessage, str]]:
        token = new_id()
        async with self._ctx.db.session() as session:
            batch = await OutboxRepository(session).claim_due(limit, self._lease, token)
        for message in batch:
            self._held[message.id] = token
        return [(message, token) for message in batch]

    async def work(self, message: OutboxMessage, token: str) -> None:
        """Deliver one claimed row and record the outcome. Cut short (cancelled), the row stays
        held so `release_held` gives it back."""
        try:
            delivery = await deliver_one(self._ctx, message, self._registry)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("outbox_delivery_crashed", kind=message.kind, message_id=message.id)
            delivery = (RETRY, f"internal error: {type(exc).__name__}")
        try:
            await record_outcome(self._ctx, message, token, delivery)
        except Exception:
            log.exception("outbox_outcome_not_recorded", message_id=message.id)
            return  # still held: released at shutdown, or its lease lapses
        self._held.pop(message.id, None)

    async def renew_leases(self) -> None:
        """Keep the lease of every row in flight ahead of the clock (runs until cancelled)."""
        period = max(0.2, self._lease.total_seconds() / 3)
        while True:
            await asyncio.sleep(period)
            by_token: dict[str, list[str]] = {}
            for message_id, token in list(self._held.items()):
                by_token.setdefault(token, []).append(message_id)
            try:
                async with self._ctx.db.session() as session:
                    repository = OutboxRepository(session)
                    for token, ids in by_token.items():
                        await repository.renew(ids, token, utcnow() + self._lease)
            except Exception:
                log.exception("outbox_lease_renewal_failed")

    async def release_held(self) -> None:
        """Give back rows whose work was cut short (shutdown)."""
        by_token: dict[str, list[str]] = {}
        for message_id, token in self._held.items():
            by_token.setdefault(token, []).append(message_id)
        if not by_token:
            return
        async with self._ctx.db.session() as session:
            repository = OutboxRepository(session)
            for token, ids in by_token.items():
                await repository.release(ids, token)
        log.info("outbox_released", rows=sum(len(ids) for ids in by_token.values()))
        self._held.clear()

    async def run(self, stopping: asyncio.Event, grace_seconds: float) -> None:
        """Deliver until `stopping` is set, then finish what is in flight within the grace period
        and release the rest."""
        renewer = asyncio.create_task(self.renew_leases())
        try:
            await work_claims(
                "outbox",
                claim=self.claim,
                work=lambda item: self.work(*item),
                concurrency=self._ctx.settings.outbox_concurrency,
                interval=self._ctx.settings.outbox_interval_seconds,
                stopping=stopping,
                nudge=self._ctx.outbox_nudge,
                grace_seconds=grace_seconds,
            )
        finally:
            renewer.cancel()
            await asyncio.gather(renewer, return_exceptions=True)
            await asyncio.shield(self.release_held())


async def deliver_due(ctx: AppContext, limit: int | None = None) -> int:
    """One pass: claim up to `limit` due rows (default OUTBOX_CONCURRENCY), work them concurrently,
    return how many. Rows queued behind one of them come in a later pass."""
    worker = OutboxWorker(ctx)
    batch = await worker.claim(limit or ctx.settings.outbox_concurrency)
    if batch:
        await asyncio.gather(*(worker.work(message, token) for message, token in batch))
    return len(batch)

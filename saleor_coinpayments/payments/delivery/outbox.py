"""The durable outbox of reports to Saleor.

A report is a row written in the same transaction as the state change that caused it, unique on
`dedup_key`, so it is made once however often the change is seen. A worker delivers due rows with
`transactionEventReport` (or another mutation), retries with backoff while Saleor is unreachable,
counts `alreadyProcessed` as delivered, and keeps permanent refusals visible as `failed`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from prometheus_client import Counter
from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from saleor_coinpayments.context import AppContext
from saleor_coinpayments.saleor.client import SaleorRejected, SaleorUnavailable, describe_errors, mutation_errors
from saleor_coinpayments.saleor.schema import load_document
from saleor_coinpayments.store.dialects import insert_or_ignore, is_postgres
from saleor_coinpayments.store.installations import InstallationRepository
from saleor_coinpayments.store.tables import OutboxMessage, OutboxStatus, new_id
from saleor_coinpayments.store.types import utcnow

log = structlog.get_logger(__name__)

EVENT_REPORT = "transaction_event_report"
MAX_BACKOFF_SECONDS = 300

DELIVERIES = Counter("saleor_reports_total", "Reports sent to Saleor, by outcome", ["outcome"])


@dataclass(frozen=True)
class EventReport:
    """One `transactionEventReport` call."""

    transaction_id: str
    type: str
    psp_reference: str
    amount: str | None
    message: str
    time: datetime
    external_url: str | None = None
    available_actions: list[str] | None = None

    def variables(self) -> dict[str, Any]:
        variables: dict[str, Any] = {
            "id": self.transaction_id,
            "type": self.type,
            "pspReference": self.psp_reference,
            "message": self.message[:512],
            "time": self.time.isoformat(),
        }
        if self.amount is not None:
            variables["amount"] = self.amount
        if self.external_url:
            variables["externalUrl"] = self.external_url
        if self.available_actions is not None:
            variables["availableActions"] = self.available_actions
        return variables


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(MAX_BACKOFF_SECONDS, 2 ** max(0, attempts - 1)))


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def enqueue(
        self,
        *,
        installation_id: str,
        payment_id: str | None,
        dedup_key: str,
        kind: str,
        payload: dict[str, Any],
        not_before: datetime | None = None,
    ) -> bool:
        """Add a report unless one with this key exists; True if this call added it.
        `not_before` holds it back until then."""
        values = {
            "id": new_id(),
            "installation_id": installation_id,
            "payment_id": payment_id,
            "kind": kind,
            "dedup_key": dedup_key,
            "payload": payload,
            "status": OutboxStatus.PENDING.value,
            "attempts": 0,
            "next_attempt_at": not_before or utcnow(),
            "created_at": utcnow(),
        }
        return await insert_or_ignore(self._session, OutboxMessage, values, ["dedup_key"])

    async def enqueue_event_report(self, installation_id: str, payment_id: str, key: str, report: EventReport) -> bool:
        return await self.enqueue(
            installation_id=installation_id,
            payment_id=payment_id,
            dedup_key=f"{payment_id}:{key}",
            kind=EVENT_REPORT,
            payload=report.variables(),
        )

    async def claim_due(self, limit: int, lease: timedelta) -> list[OutboxMessage]:
        """Due reports, leased to this worker in one statement (see PaymentRepository.claim_due)."""
        now = utcnow()
        due = (
            select(OutboxMessage.id)
            .where(
                OutboxMessage.status == OutboxStatus.PENDING.value,
                OutboxMessage.next_attempt_at <= now,
                or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
            )
            .order_by(OutboxMessage.created_at)
            .limit(limit)
        )
        if is_postgres(self._session):
            due = due.with_for_update(skip_locked=True)
        claimed = await self._session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(due.scalar_subquery()))
            .values(claimed_until=now + lease)
            .returning(OutboxMessage)
            .execution_options(synchronize_session=False)
        )
        return sorted(claimed.scalars(), key=lambda row: row.created_at)

    async def counts(self, installation_id: str | None = None) -> dict[str, int]:
        query = select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        if installation_id:
            query = query.where(OutboxMessage.installation_id == installation_id)
        return {str(status): int(count) for status, count in (await self._session.execute(query)).all()}

    async def for_payment(self, payment_id: str) -> list[OutboxMessage]:
        rows = await self._session.execute(
            select(OutboxMessage).where(OutboxMessage.payment_id == payment_id).order_by(OutboxMessage.created_at)
        )
        return list(rows.scalars())


async def _deliver_one(ctx: AppContext, message: OutboxMessage) -> tuple[str, str | None]:
    """Send one report; returns (outcome, error text)."""
    async with ctx.db.session() as session:
        installation = await InstallationRepository(session, ctx.box).get_by_id(message.installation_id)
    if installation is None:
        return OutboxStatus.FAILED.value, "installation removed"
    if message.kind != EVENT_REPORT:
        from saleor_coinpayments.payments.checkout import checkout_completion
        from saleor_coinpayments.payments.invoicing import sent_invoices  # they queue through here

        if message.kind in sent_invoices.OUTBOX_KINDS:
            return await sent_invoices.deliver(ctx, installation, message)
        if message.kind == checkout_completion.KIND:
            return await checkout_completion.deliver(ctx, installation, message)
        return OutboxStatus.FAILED.value, f"unknown outbox kind {message.kind}"
    try:
        data = await ctx.saleor.execute(
            installation.saleor_api_url,
            load_document("transaction_event_report"),
            message.payload,
            token=installation.app_token,
        )
    except SaleorUnavailable as exc:
        return "retry", exc.message
    except SaleorRejected as exc:
        return OutboxStatus.FAILED.value, exc.message
    errors = mutation_errors(data, "transactionEventReport")
    if errors:
        return OutboxStatus.FAILED.value, describe_errors(errors)
    return OutboxStatus.DELIVERED.value, None


async def deliver_due(ctx: AppContext, limit: int = 20) -> int:
    """One pass of the outbox worker; returns how many rows it worked on."""
    async with ctx.db.session() as session:
        batch = await OutboxRepository(session).claim_due(limit, lease=timedelta(seconds=60))
    for message in batch:
        outcome, error = await _deliver_one(ctx, message)
        attempts = message.attempts + 1
        values: dict[str, Any] = {"attempts": attempts, "claimed_until": None, "last_error": error}
        if outcome == OutboxStatus.DELIVERED.value:
            values.update(status=outcome, delivered_at=utcnow())
        elif outcome == "retry" and attempts < ctx.settings.outbox_max_attempts:
            values.update(next_attempt_at=utcnow() + backoff(attempts))
        else:
            values.update(status=OutboxStatus.FAILED.value)
        DELIVERIES.labels(outcome=values.get("status", "retry")).inc()
        log.info(
            "saleor_report",
            outcome=values.get("status", "retry"),
            kind=message.kind,
            report_type=message.payload.get("type"),
            psp_reference=message.payload.get("pspReference"),
            attempts=attempts,
            error=error,
        )
        async with ctx.db.session() as session:
            await session.execute(update(OutboxMessage).where(OutboxMessage.id == message.id).values(**values))
    return len(batch)

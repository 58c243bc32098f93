"""The durable outbox of reports to Saleor: the rows, their SQL, and when a failed try is tried again.

A report is a row written in the same transaction as the state change that caused it, unique on
`dedup_key`, so it is made once however often the change is seen. Rows that share an
`ordering_key` (the Saleor transaction of an event report) go out in the order they were made:
only the oldest pending one of a key can be claimed. The worker (outbox_worker.py) claims rows in
the database with a lease, so several replicas never work one row at the same time.

A transient failure (Saleor unreachable, 5xx, a timeout) is retried with capped backoff for
OUTBOX_RETRY_HOURS after the row was queued, then the row is `expired`; only a permanent refusal
marks it `failed`. Both keep the reason, and `requeue` (the `outbox retry` command, the Dashboard's
button) puts them back once the cause is fixed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from saleor_coinpayments.settings import Settings
from saleor_coinpayments.store.dialects import insert_or_ignore, locked
from saleor_coinpayments.store.fast_path import HotStatement, WriteStep
from saleor_coinpayments.store.tables import OutboxMessage, OutboxStatus, new_id
from saleor_coinpayments.store.types import utcnow

EVENT_REPORT = "transaction_event_report"
PAYMENT_METHOD_DETAILS = "paymentMethodDetails"
GIVEN_UP = (OutboxStatus.FAILED.value, OutboxStatus.EXPIRED.value)


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
    payment_method: str | None = None  # "Bitcoin (BTC) via CoinPayments", once the coin is known

    def variables(self) -> dict[str, Any]:
        """The mutation's variables; `paymentMethodDetails` goes only to lines that take it
        (saleor/payment_method.py decides per installation when the row is sent)."""
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
        if self.payment_method:
            variables[PAYMENT_METHOD_DETAILS] = {"other": {"name": self.payment_method}}
        return variables


def backoff(attempts: int, cap_seconds: float = 600) -> timedelta:
    """1, 2, 4, … seconds after the n-th failed try, never more than `cap_seconds` (10 minutes)."""
    return timedelta(seconds=min(cap_seconds, 2 ** min(30, max(0, attempts - 1))))


def next_attempt_after_transient(
    settings: Settings, attempts: int, queued_at: datetime, now: datetime
) -> datetime | None:
    """When to try again after a transient failure, or None once the retry window is over."""
    if now - queued_at >= timedelta(hours=settings.outbox_retry_hours):
        return None
    return now + backoff(attempts, settings.outbox_max_backoff_seconds)


@dataclass(frozen=True)
class Backlog:
    """What waits for Saleor: for the Dashboard's warning and the metrics."""

    pending: int
    failed: int
    expired: int
    oldest_pending_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "pending": self.pending,
            "failed": self.failed,
            "expired": self.expired,
            "oldest_pending_at": self.oldest_pending_at.isoformat() if self.oldest_pending_at else None,
        }


_last_created_at: datetime | None = None


def _created_now() -> datetime:
    """Strictly increasing in this process, so rows queued in one unit of work keep their order."""
    global _last_created_at
    now = utcnow()
    if _last_created_at is not None and now <= _last_created_at:
        now = _last_created_at + timedelta(microseconds=1)
    _last_created_at = now
    return now


def queued_row(
    *,
    installation_id: str,
    payment_id: str | None,
    dedup_key: str,
    kind: str,
    payload: dict[str, Any],
    not_before: datetime | None = None,
    ordering_key: str | None = None,
) -> dict[str, Any]:
    """The stored values of a report queued now (`not_before`: held back until then)."""
    if ordering_key is None and kind == EVENT_REPORT and payload.get("id"):
        ordering_key = str(payload["id"])
    created_at = _created_now()
    return {
        "id": new_id(),
        "installation_id": installation_id,
        "payment_id": payment_id,
        "kind": kind,
        "dedup_key": dedup_key,
        "ordering_key": ordering_key,
        "payload": payload,
        "status": OutboxStatus.PENDING.value,
        "attempts": 0,
        "next_attempt_at": not_before or created_at,
        "created_at": created_at,
        "queued_at": created_at,
    }


# A report queued unless one with its dedup key exists, as a fast-path statement: a transition's
# reports are written in its own unit (payments/refresh.py).
_QUEUE = HotStatement.insert_or_ignore(OutboxMessage, ["dedup_key"])


def queue_step(**row: Any) -> WriteStep:
    """`OutboxRepository.enqueue` as a fast-path statement (same arguments)."""
    return _QUEUE, queued_row(**row)


def event_report_step(installation_id: str, payment_id: str, key: str, report: EventReport) -> WriteStep:
    """A `transactionEventReport` queued once per payment and key, ordered by its transaction."""
    return queue_step(
        installation_id=installation_id,
        payment_id=payment_id,
        dedup_key=f"{payment_id}:{key}",
        kind=EVENT_REPORT,
        payload=report.variables(),
        ordering_key=report.transaction_id,
    )


class OutboxRepository:
    """All SQL about outbox rows."""

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
        ordering_key: str | None = None,
    ) -> bool:
        """Add a report unless one with this key exists; True if this call added it.
        `not_before` holds it back until then. Event reports are ordered by their transaction."""
        values = queued_row(
            installation_id=installation_id,
            payment_id=payment_id,
            dedup_key=dedup_key,
            kind=kind,
            payload=payload,
            not_before=not_before,
            ordering_key=ordering_key,
        )
        return await insert_or_ignore(self._session, OutboxMessage, values, ["dedup_key"])

    async def enqueue_event_report(self, installation_id: str, payment_id: str, key: str, report: EventReport) -> bool:
        _queue, values = event_report_step(installation_id, payment_id, key, report)
        return await insert_or_ignore(self._session, OutboxMessage, values, ["dedup_key"])

    async def claim_due(self, limit: int, lease: timedelta, token: str) -> list[OutboxMessage]:
        """Due rows, leased under `token` in one statement, each counted as an attempt.

        A row is due when no older pending row shares its ordering key, so one transaction's
        reports never overtake each other, also across replicas (SKIP LOCKED on PostgreSQL; SQLite
        has one writer)."""
        now = utcnow()
        earlier = aliased(OutboxMessage)
        waits_behind = (
            select(earlier.id)
            .where(
                earlier.ordering_key == OutboxMessage.ordering_key,
                earlier.status == OutboxStatus.PENDING.value,
                or_(
                    earlier.created_at < OutboxMessage.created_at,
                    and_(earlier.created_at == OutboxMessage.created_at, earlier.id < OutboxMessage.id),
                ),
            )
            .exists()
        )
        due = (
            select(OutboxMessage.id)
            .where(
                OutboxMessage.status == OutboxStatus.PENDING.value,
                OutboxMessage.next_attempt_at <= now,
                or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
                or_(OutboxMessage.ordering_key.is_(None), ~waits_behind),
            )
            .order_by(OutboxMessage.created_at)
            .limit(limit)
        )
        due = locked(due, skip_locked=True)
        claimed = await self._session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(due.scalar_subquery()))
            .values(claimed_until=now + lease, claim_token=token, attempts=OutboxMessage.attempts + 1)
            .returning(OutboxMessage)
            .execution_options(synchronize_session=False)
        )
        return sorted(claimed.scalars(), key=lambda row: row.created_at)

    async def renew(self, ids: list[str], token: str, until: datetime) -> int:
        """Extend the lease of rows still held under `token`; how many still were."""
        if not ids:
            return 0
        result = await self._session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.claim_token == token)
            .values(claimed_until=until)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def release(self, ids: list[str], token: str) -> None:
        """Give rows back unworked (shutdown); the next claim checks whether they reached Saleor."""
        if ids:
            await self._session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids), OutboxMessage.claim_token == token)
                .values(claimed_until=None, claim_token=None)
                .execution_options(synchronize_session=False)
            )

    async def finish(
        self,
        message_id: str,
        token: str,
        *,
        status: str,
        note: str | None,
        next_attempt_at: datetime | None = None,
    ) -> bool:
        """Record a try's outcome if the row is still ours; False when the lease was lost meanwhile."""
        values: dict[str, Any] = {"status": status, "last_error": note, "claimed_until": None, "claim_token": None}
        if status == OutboxStatus.DELIVERED.value:
            values["delivered_at"] = utcnow()
        if next_attempt_at is not None:
            values["next_attempt_at"] = next_attempt_at
        result = await self._session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.claim_token == token)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def requeue(
        self, *, ids: list[str] | None = None, installation_id: str | None = None, payment_id: str | None = None
    ) -> list[str]:
        """Put failed or expired rows back in the queue, due now, with a fresh retry window.
        `ids` None means every such row (of `installation_id` / `payment_id` when given).
        Returns the ids requeued."""
        now = utcnow()
        query = update(OutboxMessage).where(OutboxMessage.status.in_(GIVEN_UP))
        if ids is not None:
            query = query.where(OutboxMessage.id.in_(ids))
        if installation_id is not None:
            query = query.where(OutboxMessage.installation_id == installation_id)
        if payment_id is not None:
            query = query.where(OutboxMessage.payment_id == payment_id)
        result = await self._session.execute(
            query.values(
                status=OutboxStatus.PENDING.value,
                next_attempt_at=now,
                queued_at=now,
                claimed_until=None,
                claim_token=None,
            )
            .returning(OutboxMessage.id)
            .execution_options(synchronize_session=False)
        )
        return list(result.scalars())

    async def get_many(self, ids: list[str]) -> list[OutboxMessage]:
        rows = await self._session.execute(select(OutboxMessage).where(OutboxMessage.id.in_(ids)))
        return list(rows.scalars())

    async def counts(self, installation_id: str | None = None) -> dict[str, int]:
        query = select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        if installation_id:
            query = query.where(OutboxMessage.installation_id == installation_id)
        return {str(status): int(count) for status, count in (await self._session.execute(query)).all()}

    async def backlog(self, installation_id: str | None = None) -> Backlog:
        """Counts by status and the age of the oldest pending row (one cheap grouped query)."""
        query = select(OutboxMessage.status, func.count(), func.min(OutboxMessage.created_at)).where(
            OutboxMessage.status != OutboxStatus.DELIVERED.value
        )
        if installation_id:
            query = query.where(OutboxMessage.installation_id == installation_id)
        grouped = await self._session.execute(query.group_by(OutboxMessage.status))
        rows = {str(status): (int(count), oldest) for status, count, oldest in grouped.all()}
        pending, oldest = rows.get(OutboxStatus.PENDING.value, (0, None))
        return Backlog(
            pending=pending,
            failed=rows.get(OutboxStatus.FAILED.value, (0, None))[0],
            expired=rows.get(OutboxStatus.EXPIRED.value, (0, None))[0],
            oldest_pending_at=oldest,
        )

    async def for_payment(self, payment_id: str) -> list[OutboxMessage]:
        rows = await self._session.execute(
            select(OutboxMessage).where(OutboxMessage.payment_id == payment_id).order_by(OutboxMessage.created_at)
        )
        return list(rows.scalars())

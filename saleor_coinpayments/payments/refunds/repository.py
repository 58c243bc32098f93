"""All SQL about refunds."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import case, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from saleor_coinpayments.store.dialects import insert_or_ignore
from saleor_coinpayments.store.tables import Refund, RefundOrigin, RefundState

ZERO = Decimal(0)


class RefundRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, refund_id: str) -> Refund | None:
        return await self._session.get(Refund, refund_id)

    async def by_request_key(self, installation_id: str, request_key: str) -> Refund | None:
        query = select(Refund).where(Refund.installation_id == installation_id, Refund.request_key == request_key)
        return (await self._session.execute(query)).scalar_one_or_none()

    async def add_if_absent(self, values: dict[str, Any]) -> bool:
        """Insert a refund unless one with the same request key exists; True if this call made it."""
        return await insert_or_ignore(self._session, Refund, values, ["installation_id", "request_key"])

    async def for_payment(self, payment_id: str) -> list[Refund]:
        rows = await self._session.execute(
            select(Refund).where(Refund.payment_id == payment_id).order_by(Refund.created_at, Refund.id)
        )
        return list(rows.scalars())

    async def for_payments(self, payment_ids: list[str]) -> list[Refund]:
        if not payment_ids:
            return []
        rows = await self._session.execute(select(Refund).where(Refund.payment_id.in_(payment_ids)))
        return list(rows.scalars())

    async def listing(
        self, installation_id: str | None, *, pending_only: bool = False, limit: int = 200
    ) -> list[Refund]:
        """Requested ones first (oldest first: they wait longest), then settled ones, newest first."""
        query = select(Refund)
        if installation_id is not None:
            query = query.where(Refund.installation_id == installation_id)
        if pending_only:
            query = query.where(Refund.state == RefundState.REQUESTED.value)
        waiting = case((Refund.state == RefundState.REQUESTED.value, 0), else_=1)
        rows = await self._session.execute(query.order_by(waiting, Refund.created_at, Refund.id).limit(limit))
        found = list(rows.scalars())
        pending = [r for r in found if r.state == RefundState.REQUESTED.value]
        settled = sorted(
            (r for r in found if r.state != RefundState.REQUESTED.value),
            key=lambda r: r.settled_at or r.created_at,
            reverse=True,
        )
        return pending + settled

    async def settle(self, refund_id: str, state: RefundState, values: dict[str, Any]) -> bool:
        """Move a requested refund to `state`; False if it was no longer requested (someone else won)."""
        result = await self._session.execute(
            update(Refund)
            .where(Refund.id == refund_id, Refund.state == RefundState.REQUESTED.value)
            .values(state=state.value, **values)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))


def committed(refunds: list[Refund]) -> Decimal:
    """Money promised back: sent, or requested by Saleor or staff (open suggestions promise nothing yet)."""
    return sum(
        (
            r.amount
            for r in refunds
            if r.state == RefundState.SENT.value
            or (r.state == RefundState.REQUESTED.value and r.origin != RefundOrigin.SURPLUS.value)
        ),
        ZERO,
    )


def sent(refunds: list[Refund]) -> Decimal:
    return sum((r.amount for r in refunds if r.state == RefundState.SENT.value), ZERO)

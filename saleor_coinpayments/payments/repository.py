"""All SQL about payments: lookups, the creation claim, row locks and reconciler claims."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, bindparam, case, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from saleor_coinpayments.payments.schedule import ReadSchedule
from saleor_coinpayments.store.db import Database
from saleor_coinpayments.store.dialects import locked
from saleor_coinpayments.store.fast_path import FastPath, HotStatement, WriteStep, detached
from saleor_coinpayments.store.tables import Payment, core_table, new_id
from saleor_coinpayments.store.types import utcnow

CANDIDATES_PER_CLAIM = 4  # ranked rows per row claimed, so replicas claiming at once all find some


# Built once: the hot lookups and updates take their values as parameters.
_BY_ID = select(Payment).where(Payment.id == bindparam("payment_id"))
_BY_ID_LOCKED = locked(_BY_ID)
_PAYMENTS = core_table(Payment)
# What a transition changes on the row, written back on the fast path (payments/refresh.py).
TRANSITION_COLUMNS = (
    "details",
    "state",
    "is_final",
    "pending_reported",
    "failure_reported",
    "credited_amount",
    "credit_count",
    "confirmations",
    "last_checked_at",
    "next_check_at",
    "read_by",
    "changed_at",
    "claimed_until",
)
_SAVE_TRANSITION = HotStatement.of(
    update(_PAYMENTS)
    .where(_PAYMENTS.c.id == bindparam("payment_id"))
    .values({name: bindparam(f"new_{name}") for name in TRANSITION_COLUMNS})
)

# A buyer watches: the next read comes within `soon`, never later than it already was.
_SOON = bindparam("soon", type_=_PAYMENTS.c.next_check_at.type)
_NOTE_WATCHING = HotStatement.of(
    update(_PAYMENTS)
    .where(
        _PAYMENTS.c.id == bindparam("payment_id"),
        _PAYMENTS.c.next_check_at.is_not(None),
        _PAYMENTS.c.is_final.is_(False),
    )
    .values(
        watching_until=bindparam("watching_until", type_=_PAYMENTS.c.watching_until.type),
        next_check_at=case((_PAYMENTS.c.next_check_at > _SOON, _SOON), else_=_PAYMENTS.c.next_check_at),
        read_by=case((_PAYMENTS.c.read_by > _SOON, _SOON), else_=_PAYMENTS.c.read_by),
    )
)

# INSERT … ON CONFLICT DO NOTHING RETURNING the whole row.
_CLAIM = HotStatement.insert_or_ignore(Payment, ["installation_id", "saleor_transaction_id"], returning_row=True)


class PaymentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, payment_id: str, *, lock: bool = False) -> Payment | None:
        """`lock`: a read-modify-write — use it in `db.session(write=True)` (store/dialects.py `locked`)."""
        query = _BY_ID_LOCKED if lock else _BY_ID
        return (await self._session.execute(query, {"payment_id": payment_id})).scalar_one_or_none()

    @staticmethod
    def save_transition_step(payment: Payment) -> WriteStep:
        """Write back what a transition changes (TRANSITION_COLUMNS) of a payment read in the unit."""
        values = {f"new_{name}": getattr(payment, name) for name in TRANSITION_COLUMNS}
        return _SAVE_TRANSITION, {"payment_id": payment.id, **values}

    async def by_transaction(self, installation_id: str, transaction_id: str, *, lock: bool = False) -> Payment | None:
        query = select(Payment).where(
            Payment.installation_id == installation_id, Payment.saleor_transaction_id == transaction_id
        )
        if lock:
            query = locked(query)
        return (await self._session.execute(query)).scalar_one_or_none()

    async def by_request_key(self, installation_id: str, request_key: str) -> Payment | None:
        return (
            await self._session.execute(
                select(Payment).where(Payment.installation_id == installation_id, Payment.request_key == request_key)
            )
        ).scalar_one_or_none()

    async def of_order(self, installation_id: str, order_id: str, transaction_ids: list[str]) -> list[Payment]:
        """An order's payments, oldest first: its sent-out invoices and the checkout payments whose
        Saleor transactions moved onto it (Saleor knows which; the row only knows its checkout)."""
        mine = (Payment.source_id == order_id) & Payment.request_key.is_not(None)
        if transaction_ids:
            mine = mine | Payment.saleor_transaction_id.in_(transaction_ids)
        rows = await self._session.execute(
            select(Payment).where(Payment.installation_id == installation_id, mine).order_by(Payment.created_at)
        )
        return list(rows.scalars())

    async def sent_for_order(self, installation_id: str, order_id: str) -> list[Payment]:
        """The sent-out invoices of an order, oldest first (one per request key)."""
        rows = await self._session.execute(
            select(Payment)
            .where(
                Payment.installation_id == installation_id,
                Payment.source_id == order_id,
                Payment.request_key.is_not(None),
            )
            .order_by(Payment.created_at)
        )
        return list(rows.scalars())

    @staticmethod
    async def claim_transaction(fast: FastPath, **values: Any) -> Payment | None:
        """Insert the claim row for a transaction, on the fast path, and give it back as stored;
        None when another request already holds it (nothing is changed then)."""
        row = await fast.fetch_one(_CLAIM, {"id": new_id(), **values})
        return None if row is None else detached(Payment, dict(zip(_PAYMENTS.c.keys(), row, strict=True)))

    async def add_if_absent(self, payment: Payment) -> bool:
        """Insert the claim row for a transaction; False if another request already holds it."""
        try:
            async with self._session.begin_nested():
                self._session.add(payment)
                await self._session.flush()
        except IntegrityError:
            return False
        return True

    async def recent(self, installation_id: str, channel_slug: str | None, limit: int = 50) -> list[Payment]:
        query = select(Payment).where(Payment.installation_id == installation_id)
        if channel_slug:
            query = query.where(Payment.channel_slug == channel_slug)
        rows = await self._session.execute(query.order_by(Payment.created_at.desc()).limit(limit))
        return list(rows.scalars())

    async def attach_transaction(self, payment_id: str, transaction_id: str) -> None:
        """A sent-out invoice's order transaction exists now: remember it and read the invoice soon."""
        now = utcnow()
        await self._session.execute(
            update(Payment)
            .where(Payment.id == payment_id)
            .values(saleor_transaction_id=transaction_id, next_check_at=now, read_by=now)
        )

    def _due(self, now: datetime) -> list[ColumnElement[bool]]:
        # `next_check_at` and `read_by` are NULL for final payments and for rows with nothing to read,
        # so the `read_by` index walk meets only open rows; the other conditions guard older rows.
        return [
            Payment.next_check_at <= now,
            Payment.is_final.is_(False),
            Payment.invoice_id.is_not(None),
            Payment.saleor_transaction_id.is_not(None),
            or_(Payment.claimed_until.is_(None), Payment.claimed_until < now),
        ]

    async def claim_due(self, limit: int, lease: timedelta, now: datetime | None = None) -> list[str]:
        """Ids of payments due a re-read, leased to this worker, in the order to read them
        (`rank_due`, then `claim`, in this unit of work)."""
        now = now or utcnow()
        return await self.claim(await self.rank_due(limit * CANDIDATES_PER_CLAIM, now), limit, lease, now)

    async def rank_due(self, limit: int, now: datetime | None = None) -> list[str]:
        """Due payments in the order to read them, earliest deadline (`read_by`) first (a plain
        read, no locks).

        Every due read has a deadline (payments/schedule.py): its due time where Saleor still waits
        for an outcome, up to SCHEDULE_SETTLED_SLACK_SECONDS later where it has one. Earliest deadline
        first is what makes starvation impossible: a read with deadline `d` comes before every read
        with a later one, and only finitely many reads ever have an earlier one, so each due payment
        is read, and with C reads a second within (payments due by `d`) / C of `d`. No class of
        payments ranks ahead of another by state: that let 740 payments waiting for `completed` take
        every read while unpaid invoices whose notification was lost waited forever. The lookup walks
        the `next_check_at` index to the due rows alone and orders those: it never scans every open
        payment. (Ordered straight from the `read_by` index, PostgreSQL's generic plan for this prepared
        statement walked that whole index whenever few rows were due, every open payment once a
        second per replica while nothing happened; the materialized CTE keeps the due rows apart.)"""
        now = now or utcnow()
        due = (
            select(Payment.id, Payment.read_by)
            .where(*self._due(now))
            .cte("due")
            .prefix_with("MATERIALIZED", dialect="postgresql")
        )
        rows = await self._session.execute(select(due.c.id).order_by(due.c.read_by, due.c.id).limit(limit))
        return list(rows.scalars())

    async def claim(self, ranked: list[str], limit: int, lease: timedelta, now: datetime | None = None) -> list[str]:
        """Lease the first `limit` of `ranked` that are still due and free, in one UPDATE over rows
        locked with SKIP LOCKED on PostgreSQL (atomic on SQLite), so replicas never wait on, nor
        take, each other's rows; ranked rows another replica took are simply passed over."""
        if not ranked or limit <= 0:
            return []
        now = now or utcnow()
        position = case({payment_id: index for index, payment_id in enumerate(ranked)}, value=Payment.id)
        lockable = select(Payment.id).where(Payment.id.in_(ranked), *self._due(now)).order_by(position).limit(limit)
        lockable = locked(lockable, skip_locked=True)
        claimed = set(
            (
                await self._session.execute(
                    update(Payment)
                    .where(Payment.id.in_(lockable.scalar_subquery()))
                    .values(claimed_until=now + lease)
                    .returning(Payment.id)
                    .execution_options(synchronize_session=False)
                )
            ).scalars()
        )
        return [payment_id for payment_id in ranked if payment_id in claimed]

    async def renew(self, ids: list[str], until: datetime) -> None:
        """Extend the claims of payments still being read (a claim already released stays so)."""
        if ids:
            await self._session.execute(
                update(Payment)
                .where(Payment.id.in_(ids), Payment.claimed_until.is_not(None))
                .values(claimed_until=until)
                .execution_options(synchronize_session=False)
            )

    async def release(self, ids: list[str]) -> None:
        """Give claimed payments back unread (shutdown)."""
        if ids:
            await self._session.execute(
                update(Payment)
                .where(Payment.id.in_(ids))
                .values(claimed_until=None)
                .execution_options(synchronize_session=False)
            )

    @staticmethod
    def buyer_watching_step(payment_id: str, now: datetime, schedule: ReadSchedule) -> WriteStep:
        """A buyer is looking at this payment (the pay page, a transactionProcess poll): its next
        read comes within `schedule.watching` seconds, and stays that close while polls keep coming
        (each one holds it for `schedule.watching_for`). This replaces reading CoinPayments in the
        poll itself: the reconciler makes the one read per window that every poll then answers from.
        A final payment, or one with nothing to read, is left alone; an earlier read is kept. On the
        fast path: it runs on a poll's path."""
        values = {
            "payment_id": payment_id,
            "watching_until": now + timedelta(seconds=schedule.watching_for),
            "soon": now + timedelta(seconds=schedule.watching),
        }
        return _NOTE_WATCHING, values

    async def make_due(self, invoice_ids: list[str], now: datetime) -> int:
        """Re-read these invoices now (the sweep saw them change): how many open payments that made due."""
        if not invoice_ids:
            return 0
        result = await self._session.execute(
            update(Payment)
            .where(
                Payment.invoice_id.in_(invoice_ids),
                Payment.next_check_at.is_not(None),
                Payment.next_check_at > now,
                Payment.is_final.is_(False),
            )
            .values(next_check_at=now, read_by=now)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def open_states(self, invoice_ids: list[str]) -> dict[str, str]:
        """invoice id → stored state, for those of these invoices whose payment is still read."""
        if not invoice_ids:
            return {}
        rows = await self._session.execute(
            select(Payment.invoice_id, Payment.state).where(
                Payment.invoice_id.in_(invoice_ids), Payment.next_check_at.is_not(None)
            )
        )
        return {invoice_id: state for invoice_id, state in rows.all() if invoice_id is not None}

    async def oldest_open_by_configuration(self) -> dict[str, datetime]:
        """configuration id → when its oldest payment still to be read was made (the sweeps' windows)."""
        rows = await self._session.execute(
            select(Payment.configuration_id, func.min(Payment.created_at))
            .where(Payment.next_check_at.is_not(None))
            .group_by(Payment.configuration_id)
        )
        return {configuration_id: first for configuration_id, first in rows.all() if first is not None}

    async def oldest_due_at(self, now: datetime | None = None) -> datetime | None:
        """The `next_check_at` of the longest-waiting payment still due (the reconciler's lag)."""
        now = now or utcnow()
        query = select(func.min(Payment.next_check_at)).where(*self._due(now)[:-1])
        return (await self._session.execute(query)).scalar_one_or_none()


CLAIM_WAIT_SECONDS = 6.0


async def wait_for_invoice(db: Database, payment_id: str, seconds: float = CLAIM_WAIT_SECONDS) -> Payment | None:
    """Another request holds the claim on this payment: give it a moment to store its invoice.
    The row once it has an invoice id (or None if it went away, or did not get one in time)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        async with db.session() as session:
            row = await PaymentRepository(session).get(payment_id)
        if row is None or row.invoice_id:
            return row
        await asyncio.sleep(0.2)
    return None

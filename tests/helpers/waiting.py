"""How a test waits: for something it can observe, never for a fixed time.

Two kinds of wait cover the suite:

- `eventually(check)` polls until something has happened (a report reached the fake Saleor, a row
  changed). Its bound only ends a hung test; the test never asserts on how long it took.
- `settled(database_url)` is how a test proves that something did *not* happen (no duplicate
  report, no second invoice). A fixed sleep cannot prove that: on a slow machine the duplicate may
  come after it. Instead this waits until the app has nothing left to do that could still reach
  Saleor, read from the app's own database (the source of truth of every process's work):

  1. every CoinPayments notification received has been followed by a re-read of its invoice
     (normally the one that marks it handled; after a crash, a later one);
  2. every payment the reconciler follows has been re-read after the wait began (the wait makes
     them due at once: this is the sentinel, a pass of the reconciler asked for now, whose end is
     seen in `last_checked_at`), and none is being read;
  3. no report to Saleor is pending or in flight in the outbox, and no reminder is being worked.
     A report scheduled for later than the wait's bound (a paid checkout completed after
     CHECKOUT_COMPLETE_AFTER_SECONDS, 15 minutes) cannot reach Saleor while the test runs and is
     not waited for.

  Each step's writes commit together with the work they cause (a handled notification with its
  re-read's reports, a re-read with its reports), and the checks run in that order, so when all
  hold, everything caused by what happened before the wait has reached Saleor. Whatever the
  simulator still had to deliver is waited for first (`before`, e.g. `Simulator.wait_deliveries`),
  and once more after the reconciler's pass, which may itself have made the simulator notify.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import ColumnElement, func, or_, select, update

from saleor_coinpayments.store.db import Database
from saleor_coinpayments.store.tables import InvoiceReminder, Notification, OutboxMessage, OutboxStatus, Payment
from saleor_coinpayments.store.types import utcnow

T = TypeVar("T")

DEFAULT_TIMEOUT = 30.0  # only ends a hung wait; pytest-timeout ends a hung test


def _pauses() -> Iterator[float]:
    """Between polls: short at first (most waits end within a few hundred ms), then longer, so a
    long wait does not keep a core busy polling (each poll may read a database)."""
    pause = 0.01
    while True:
        yield pause
        pause = min(pause * 1.5, 0.2)


def eventually(check: Callable[[], T | None], timeout: float = DEFAULT_TIMEOUT, what: str = "condition") -> T:
    """Poll until `check` returns something truthy, and return it (background work happens later)."""
    deadline = time.monotonic() + timeout
    pauses = _pauses()
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(next(pauses))


async def eventually_async(check: Callable[[], Awaitable[T | None]], what: str = "condition") -> T:
    """`eventually` inside an event loop, for a check that awaits (the loop keeps running meanwhile)."""
    deadline = time.monotonic() + DEFAULT_TIMEOUT
    pauses = _pauses()
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(next(pauses))


def _followed() -> list[ColumnElement[bool]]:
    """Payments the reconciler re-reads (PaymentRepository._due without the time conditions)."""
    return [
        Payment.is_final.is_(False),
        Payment.invoice_id.is_not(None),
        Payment.saleor_transaction_id.is_not(None),
    ]


async def _make_followed_payments_due(db: Database, mark: datetime) -> None:
    async with db.session() as session:
        await session.execute(
            update(Payment)
            .where(*_followed(), Payment.next_check_at > mark)
            .values(next_check_at=mark)
            .execution_options(synchronize_session=False)
        )


async def _busy(db: Database, mark: datetime, horizon: datetime) -> str | None:
    """What the app still has to do, or None when it is quiet (see the module docstring)."""
    now = utcnow()
    async with db.session() as session:
        unhandled = await session.scalar(
            select(func.count())
            .select_from(Notification)
            .join(Payment, Payment.invoice_id == Notification.invoice_id)
            .where(
                Notification.handled_at.is_(None),
                or_(Payment.last_checked_at.is_(None), Payment.last_checked_at < Notification.received_at),
            )
        )
        if unhandled:
            return f"{unhandled} notification(s) waiting for their re-read"
        unread = await session.scalar(
            select(func.count())
            .select_from(Payment)
            .where(
                *_followed(),
                or_(Payment.last_checked_at.is_(None), Payment.last_checked_at < mark),
            )
        )
        if unread:
            return f"{unread} payment(s) not re-read by the reconciler since the wait began"
        reading = await session.scalar(select(func.count()).select_from(Payment).where(Payment.claimed_until > now))
        if reading:
            return f"{reading} payment(s) being read"
        pending = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.PENDING.value, OutboxMessage.next_attempt_at <= horizon)
        )
        if pending:
            return f"{pending} report(s) to Saleor pending"
        reminding = await session.scalar(
            select(func.count()).select_from(InvoiceReminder).where(InvoiceReminder.claimed_until > now)
        )
        if reminding:
            return f"{reminding} reminder(s) being worked"
    return None


async def _until_quiet(db: Database, mark: datetime, deadline: float, horizon: datetime) -> None:
    pauses = _pauses()
    while (busy := await _busy(db, mark, horizon)) is not None:
        if time.monotonic() > deadline:
            raise AssertionError(f"the app did not settle: {busy}")
        await asyncio.sleep(next(pauses))


def settled(database_url: str, before: Callable[[], object] | None = None, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Return once everything caused by what happened so far has reached Saleor (module docstring).

    `before` is called first and again after the reconciler's pass: what else feeds the app must
    have drained (the simulator's webhook deliveries)."""

    async def run() -> None:
        db = Database(database_url)
        try:
            mark = utcnow()
            deadline = time.monotonic() + timeout
            horizon = mark + timedelta(seconds=timeout)
            await _make_followed_payments_due(db, mark)
            await _until_quiet(db, mark, deadline, horizon)
            if before is not None:
                await asyncio.to_thread(before)
                await _until_quiet(db, mark, deadline, horizon)
        finally:
            await db.dispose()

    if before is not None:
        before()
    asyncio.run(run())

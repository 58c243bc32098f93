"""Pay pages waiting for their payment to change: one check of the database per process and
`check_seconds` for all of them, whichever replica wrote the change.

Why a batched check and not PostgreSQL's LISTEN/NOTIFY: a payment changes in many places (a
notification's re-read, the reconciler, a coin choice, `transactionProcess`), on SQLite as on
PostgreSQL, in any replica. A NOTIFY at each of those writes (or a trigger) and a listening
connection per process would still need a SQLite fallback, and a missed notification (a
connection that dropped) would leave a page waiting for its whole timeout. One indexed SELECT of
the waiting payments' marks (store/payment_marks.py) per second costs the same at one page as at
a thousand, sees every writer, and needs nothing at the write sites.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

import structlog
from prometheus_client import Counter, Gauge

from saleor_coinpayments.store.db import Database
from saleor_coinpayments.store.payment_marks import Marks, marks_of, read_marks
from saleor_coinpayments.store.tables import Payment

log = structlog.get_logger(__name__)

PAGES_WAITING = Gauge("pay_page_waits", "Pay pages waiting in this process for their payment to change")
WAIT_CHECKS = Counter("pay_page_wait_checks_total", "Statements checking the payments waiting pages follow")


@dataclass
class _Waiter:
    marks: Marks  # what the page was shown
    changed: asyncio.Event = field(default_factory=asyncio.Event)


class PageWaiters:
    """Waiting pages by payment id; one checker task runs while any page waits."""

    def __init__(self, db: Database, check_seconds: float) -> None:
        self._db = db
        self._check_seconds = check_seconds
        self._waiting: dict[str, list[_Waiter]] = {}
        self._checker: asyncio.Task[None] | None = None
        self.checks = 0  # statements run (for tests and the bench)

    @property
    def waiting(self) -> int:
        return sum(len(waiters) for waiters in self._waiting.values())

    async def wait(self, payment: Payment, seconds: float) -> bool:
        """Wait until what the page shows of `payment` (as loaded) changes in the database: True, or
        False after `seconds` without a change."""
        waiter = _Waiter(marks_of(payment))
        self._waiting.setdefault(payment.id, []).append(waiter)
        if self._checker is None:
            self._checker = asyncio.get_running_loop().create_task(self._check_while_waited())
        PAGES_WAITING.inc()
        try:
            async with asyncio.timeout(seconds):
                await waiter.changed.wait()
            return True
        except TimeoutError:
            return False
        finally:
            PAGES_WAITING.dec()
            waiters = self._waiting.get(payment.id, [])
            if waiter in waiters:
                waiters.remove(waiter)
            if not waiters:
                self._waiting.pop(payment.id, None)

    async def _check_while_waited(self) -> None:
        try:
            while self._waiting:
                await asyncio.sleep(self._check_seconds)
                await self.check()
        finally:
            self._checker = None

    async def check(self) -> None:
        """One statement for every waiting page: wake those whose payment moved (or is gone)."""
        ids = list(self._waiting)
        if not ids:
            return
        try:
            current = await read_marks(self._db, ids)
        except Exception:  # the database: the pages keep waiting, and time out at worst
            log.warning("pay_page.wait_check_failed", exc_info=True)
            return
        finally:
            self.checks += 1
            WAIT_CHECKS.inc()
        for payment_id in ids:
            for waiter in self._waiting.get(payment_id, []):
                if current.get(payment_id) != waiter.marks:
                    waiter.changed.set()

    async def aclose(self) -> None:
        if self._checker is not None:
            self._checker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checker

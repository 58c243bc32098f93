"""Waiting pay pages on a real database (SQLite and PostgreSQL): a change another app instance writes
to what a page shows wakes it at the next check, bookkeeping columns do not, and one check reads
every waiting page's payment. Checks are called directly: no timer, no sleep."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import update

from saleor_coinpayments.store.db import Database
from saleor_coinpayments.store.page_waiters import PageWaiters
from saleor_coinpayments.store.tables import Payment
from saleor_coinpayments.store.types import utcnow
from tests.helpers.payments import stored_payment

FOREVER = 3600.0  # the checker's own timer never fires within a test


async def _write(db: Database, payment_id: str, **values: object) -> None:
    async with db.session(write=True) as session:
        await session.execute(update(Payment).where(Payment.id == payment_id).values(**values))


async def _until_waiting(waiters: PageWaiters, count: int) -> None:
    for _ in range(1000):
        if waiters.waiting >= count:
            return
        await asyncio.sleep(0)
    raise AssertionError("the pages never started waiting")


@pytest.mark.asyncio
async def test_a_change_written_by_another_instance_wakes_the_waiting_page(database_url: str) -> None:
    here, there = Database(database_url), Database(database_url)
    try:
        payment = await stored_payment(here)
        waiters = PageWaiters(here, FOREVER)
        waiting = asyncio.create_task(waiters.wait(payment, FOREVER))
        await _until_waiting(waiters, 1)

        await _write(there, payment.id, claimed_until=utcnow() + timedelta(seconds=30), next_check_at=utcnow())
        await waiters.check()
        assert not waiting.done(), "the reconciler's bookkeeping is not what the page shows"

        await _write(there, payment.id, state="pending")
        await waiters.check()
        assert await asyncio.wait_for(waiting, 5) is True
        assert waiters.waiting == 0
    finally:
        await here.dispose()
        await there.dispose()


@pytest.mark.asyncio
async def test_one_check_reads_every_waiting_page_and_a_wait_ends_at_its_time(database_url: str) -> None:
    db = Database(database_url)
    try:
        first = await stored_payment(db)
        await _write(db, first.id, pay_token_hash="b" * 64)  # the helper's pay token is one value
        second = await stored_payment(db)
        waiters = PageWaiters(db, FOREVER)
        pages = [asyncio.create_task(waiters.wait(p, FOREVER)) for p in (first, first, second)]
        await _until_waiting(waiters, 3)
        await _write(db, first.id, coin_status={"status": "confirmed"})
        checks = waiters.checks
        await waiters.check()
        assert waiters.checks == checks + 1, "one statement for all the waiting pages"
        assert [await asyncio.wait_for(page, 5) for page in pages[:2]] == [True, True]
        assert not pages[2].done(), "the other payment did not change"
        pages[2].cancel()
        assert await waiters.wait(second, 0.01) is False, "no change within its time: the page asks again"
        await waiters.aclose()
    finally:
        await db.dispose()

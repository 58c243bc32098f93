"""Named leases (store/leases.py): one holder at a time, taken over once it ends, on both databases."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio

from saleor_coinpayments.store.db import Database
from saleor_coinpayments.store.leases import take_lease
from saleor_coinpayments.store.types import utcnow


@pytest_asyncio.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.dispose()


@pytest.mark.asyncio
async def test_one_replica_holds_a_lease_until_it_ends_then_another_takes_it(db: Database) -> None:
    now = utcnow()
    until = now + timedelta(seconds=15)
    taken = await asyncio.gather(*(take_lease(db, "sweep:recent", f"replica-{n}", now, until) for n in range(3)))
    assert sorted(taken) == [False, False, True]  # replicas asking at once: exactly one holds it
    assert not await take_lease(db, "sweep:recent", "replica-9", now + timedelta(seconds=14), until)
    assert await take_lease(db, "sweep:all", "replica-9", now, until)  # another name is another lease
    later = now + timedelta(seconds=15)
    assert await take_lease(db, "sweep:recent", "replica-9", later, later + timedelta(seconds=15))
    assert not await take_lease(db, "sweep:recent", "replica-0", later, later + timedelta(seconds=15))

"""Point reads (store/point_reads.py) give exactly what the ORM gives, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal

import pytest
import pytest_asyncio
from sqlalchemy import inspect, select

from saleor_coinpayments.store.db import Database
from saleor_coinpayments.store.tables import Payment, new_id
from tests.helpers.payments import stored_payment


@pytest_asyncio.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.dispose()


def _columns(payment: Payment) -> dict[str, object]:
    return {column.key: getattr(payment, column.key) for column in Payment.__table__.columns}


@pytest.mark.asyncio
async def test_every_key_reads_the_same_values_and_types_as_the_orm(db: Database) -> None:
    stored = await stored_payment(db)
    async with db.session() as session:
        orm = (await session.execute(select(Payment).where(Payment.id == stored.id))).scalar_one()
    expected = _columns(orm)
    assert stored.invoice_id
    assert stored.saleor_transaction_id
    assert stored.pay_token_hash
    reads = [
        await db.reads.payment(stored.id),
        await db.reads.payment_by_transaction(stored.installation_id, stored.saleor_transaction_id),
        await db.reads.payment_by_invoice(stored.invoice_id),
        await db.reads.payment_by_pay_token_hash(stored.pay_token_hash),
    ]
    for read in reads:
        assert read is not None
        got = _columns(read)
        assert got == expected
        assert {k: type(v) for k, v in got.items()} == {k: type(v) for k, v in expected.items()}
        state = inspect(read)
        assert state.detached
        assert not state.modified
    assert reads[0] is not None
    assert reads[0].amount == Decimal("12.345")
    assert reads[0].last_checked_at is not None
    assert reads[0].last_checked_at.utcoffset() == timedelta(0)


@pytest.mark.asyncio
async def test_a_missing_row_is_none_and_a_later_commit_is_seen(db: Database) -> None:
    assert await db.reads.payment(new_id()) is None
    stored = await stored_payment(db)
    assert await db.reads.payment(stored.id) is not None  # each read is its own snapshot
    async with db.session() as session:
        row = await session.get(Payment, stored.id)
        assert row is not None
        row.state = "paid"
    read = await db.reads.payment(stored.id)
    assert read is not None
    assert read.state == "paid"


@pytest.mark.asyncio
async def test_sqlite_busy_reads_through_the_engine(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    if not db.is_sqlite:
        pytest.skip("the in-loop connection exists only on SQLite")
    stored = await stored_payment(db)

    def busy(sql: str, params: list[str]) -> None:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(db.reads, "_sqlite_fetch_one", busy)
    read = await db.reads.payment(stored.id)
    assert read is not None
    assert read.id == stored.id


@pytest.mark.asyncio
async def test_a_fresh_process_whose_first_database_use_is_a_point_read(db: Database) -> None:
    """No ORM query has configured the mappers there yet (a `serve` whose first request is a poll)."""
    stored = await stored_payment(db)
    script = (
        "import asyncio, sys\n"
        "from saleor_coinpayments.store.db import Database\n"
        "async def main():\n"
        "    db = Database(sys.argv[1])\n"
        "    try:\n"
        "        payment = await db.reads.payment(sys.argv[2])\n"
        "        print(payment.amount)\n"
        "    finally:\n"
        "        await db.dispose()\n"
        "asyncio.run(main())\n"
    )
    command = [sys.executable, "-c", script, db.url, stored.id]
    done = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "12.345"

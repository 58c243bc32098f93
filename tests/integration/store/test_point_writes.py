"""Point writes (store/point_writes.py) on both databases: values go in converted as the ORM would
convert them and read back the same through a session; a unit commits all or nothing; a row read in
a unit comes back as the ORM loads it, and what is set on it is written back, nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio
from sqlalchemy import select

from saleor_coinpayments.store.db import Database
from saleor_coinpayments.store.notifications import NotificationRepository
from saleor_coinpayments.store.point_reads import PAYMENTS, detached_payment
from saleor_coinpayments.store.point_writes import WriteStep, save_changes_step
from saleor_coinpayments.store.tables import Notification, Payment, core_table
from saleor_coinpayments.store.types import utcnow
from tests.helpers.payments import stored_payment

NOTIFICATIONS = core_table(Notification)


@pytest_asyncio.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.dispose()


def _record(db: Database, external_id: str) -> WriteStep:
    return NotificationRepository.record_step(
        db.writes.is_postgres,
        source="coinpayments:inst",
        external_id=external_id,
        invoice_id="inv-1",
        event_type="invoicePaid",
        state="Paid",
    )


async def _stored(db: Database) -> dict[str, Notification]:
    async with db.session() as session:
        rows = (await session.scalars(select(Notification))).all()
        return {row.external_id: row for row in rows}


@pytest.mark.asyncio
async def test_a_notification_is_recorded_once_and_marked_handled(db: Database) -> None:
    first = _record(db, "n-1")
    assert await db.writes.run([first]) == [1]
    assert await db.writes.run([_record(db, "n-1")]) == [0]  # the same id again
    before = utcnow()
    assert await db.writes.run(NotificationRepository.mark_handled_steps([("coinpayments:inst", "n-1")], "done")) == [1]
    row = (await _stored(db))["n-1"]
    assert row.id == first[1]["id"]
    assert (row.event_type, row.state, row.outcome) == ("invoicePaid", "Paid", "done")
    # Datetimes went in through AwareDateTime and come back aware, to the microsecond.
    assert row.received_at == first[1]["received_at"]
    assert row.handled_at is not None
    assert row.handled_at.tzinfo is not None
    assert before - timedelta(seconds=1) <= row.handled_at <= utcnow()


@pytest.mark.asyncio
async def test_a_unit_that_raises_writes_nothing(db: Database) -> None:
    async def record_then_fail() -> None:
        async with db.writes.unit() as unit:
            statement, values = _record(db, "n-2")
            assert await unit.execute(statement, values) == 1
            raise RuntimeError("changed its mind")

    with pytest.raises(RuntimeError, match="changed its mind"):
        await record_then_fail()
    assert await _stored(db) == {}
    assert await db.writes.run([_record(db, "n-2")]) == [1]  # the writer is free again


@pytest.mark.asyncio
async def test_a_row_read_in_a_unit_is_loaded_as_the_orm_loads_it(db: Database) -> None:
    statement, values = _record(db, "n-3")
    await db.writes.run([(statement, values)])
    async with db.writes.unit() as unit:
        row = await unit.row(NOTIFICATIONS, {"id": values["id"]})
        missing = await unit.row(NOTIFICATIONS, {"id": "nope"})
    orm = (await _stored(db))["n-3"]
    assert missing is None
    assert row is not None
    assert {name: row[name] for name in ("id", "source", "external_id", "received_at", "handled_at")} == {
        "id": orm.id,
        "source": orm.source,
        "external_id": orm.external_id,
        "received_at": orm.received_at,
        "handled_at": None,
    }


@pytest.mark.asyncio
async def test_saved_changes_write_only_the_columns_set_and_json_goes_in_once(db: Database) -> None:
    payment = await stored_payment(db)
    details = {"credits": [], "nested": {"quote": 'a "b"', "list": [1, None]}}
    async with db.writes.unit() as unit:
        values = await unit.row(PAYMENTS, {"id": payment.id})
        assert values is not None
        row = detached_payment(values)
        row.invoice_link = "https://cp.test/i/1"
        row.details = details
        statement, step = save_changes_step(PAYMENTS, row)
        assert set(step) == {"of_id", "new_details", "new_invoice_link"}
        assert await unit.execute(statement, step) == 1
    async with db.session() as session:
        orm = (await session.execute(select(Payment).where(Payment.id == payment.id))).scalar_one()
    assert orm.details == details  # a dict again, not a JSON string of a JSON string
    assert orm.invoice_link == "https://cp.test/i/1"
    assert (orm.coin_status, orm.amount, orm.pay_token_hash) == (payment.coin_status, payment.amount, "a" * 64)
    assert orm.updated_at > payment.updated_at  # the column's onupdate, as a flush sets it


@pytest.mark.asyncio
async def test_a_pool_connection_comes_back_without_its_open_transaction(db: Database) -> None:
    if db.driver_pool is None:
        pytest.skip("the hot paths' asyncpg pool exists only on PostgreSQL")
    async with db.driver_pool.connection() as connection:
        await connection.execute("BEGIN")
        await connection.execute("SELECT 1")
    async with db.driver_pool.connection() as connection:
        assert not connection.is_in_transaction()
        assert await connection.fetchval("SELECT txid_current_if_assigned() IS NULL")

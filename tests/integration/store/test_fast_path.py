"""The fast path (store/fast_path.py), in each of its modes, on SQLite and PostgreSQL: reads give what
the ORM gives; values go in converted as the ORM converts them; a unit commits all or nothing; a row
read in a unit comes back as the ORM loads it and only what is set on it is written back.

Modes: `driver` (the default: asyncpg, or SQLite's in-loop connections), `threaded` (SQLite with
STORE_SQLITE_IN_LOOP=false: aiosqlite's connection) and `session` (STORE_FAST_PATH=false: the same
units through the ORM session), so every switch bench turns off still gives the same answers.
"""

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
from sqlalchemy import Float, bindparam, func, inspect, select, text, update

from saleor_coinpayments.store.db import Database, StoreOptions
from saleor_coinpayments.store.fast_path import HotStatement, WriteStep, save_step
from saleor_coinpayments.store.notifications import NotificationRepository
from saleor_coinpayments.store.tables import Notification, Payment, core_table, new_id
from saleor_coinpayments.store.types import utcnow
from tests.helpers.payments import stored_payment

NOTIFICATIONS = core_table(Notification)
MODES = {
    "driver": StoreOptions(),
    "threaded": StoreOptions(sqlite_in_loop=False),
    "session": StoreOptions(fast_path=False),
}


@pytest_asyncio.fixture(params=list(MODES))
async def db(request: pytest.FixtureRequest, database_url: str) -> AsyncIterator[Database]:
    if request.param == "threaded" and not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL has no in-loop mode to switch off")
    database = Database(database_url, options=MODES[request.param])
    yield database
    await database.dispose()


def _columns(payment: Payment) -> dict[str, object]:
    return {column.key: getattr(payment, column.key) for column in Payment.__table__.columns}


def _record(external_id: str) -> WriteStep:
    return NotificationRepository.record_step(
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
async def test_every_key_reads_the_same_values_and_types_as_the_orm(db: Database) -> None:
    stored = await stored_payment(db)
    async with db.session() as session:
        orm = (await session.execute(select(Payment).where(Payment.id == stored.id))).scalar_one()
    expected = _columns(orm)
    assert stored.invoice_id
    assert stored.saleor_transaction_id
    assert stored.pay_token_hash
    reads = [
        await db.fast.read(Payment, id=stored.id),
        await db.fast.read(
            Payment, installation_id=stored.installation_id, saleor_transaction_id=stored.saleor_transaction_id
        ),
        await db.fast.read(Payment, invoice_id=stored.invoice_id),
        await db.fast.read(Payment, pay_token_hash=stored.pay_token_hash),
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
    assert await db.fast.read(Payment, id=new_id()) is None
    stored = await stored_payment(db)
    assert await db.fast.read(Payment, id=stored.id) is not None  # each read is its own snapshot
    async with db.session() as session:
        row = await session.get(Payment, stored.id)
        assert row is not None
        row.state = "paid"
    read = await db.fast.read(Payment, id=stored.id)
    assert read is not None
    assert read.state == "paid"


@pytest.mark.asyncio
async def test_a_sqlite_read_answered_busy_reads_through_the_engine(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    if db.in_loop is None:
        pytest.skip("only the in-loop reader meets this")
    stored = await stored_payment(db)

    def busy(sql: str, params: list[str]) -> None:
        error = sqlite3.OperationalError("database is locked")
        error.sqlite_errorcode = sqlite3.SQLITE_BUSY
        raise error

    monkeypatch.setattr(db.in_loop, "read_one", busy)
    read = await db.fast.read(Payment, id=stored.id)
    assert read is not None
    assert read.id == stored.id


@pytest.mark.asyncio
async def test_a_notification_is_recorded_once_and_marked_handled(db: Database) -> None:
    first = _record("n-1")
    assert await db.fast.run([first]) == [1]
    assert await db.fast.run([_record("n-1")]) == [0]  # the same id again
    before = utcnow()
    assert await db.fast.run(NotificationRepository.mark_handled_steps([("coinpayments:inst", "n-1")], "done")) == [1]
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
        async with db.fast.unit() as unit:
            statement, values = _record("n-2")
            assert await unit.execute(statement, values) == 1
            raise RuntimeError("changed its mind")

    with pytest.raises(RuntimeError, match="changed its mind"):
        await record_then_fail()
    assert await _stored(db) == {}
    assert await db.fast.run([_record("n-2")]) == [1]  # the writer is free again


@pytest.mark.asyncio
async def test_a_row_read_in_a_unit_is_loaded_as_the_orm_loads_it(db: Database) -> None:
    statement, values = _record("n-3")
    await db.fast.run([(statement, values)])
    async with db.fast.unit() as unit:
        row = await unit.locked(Notification, id=values["id"])
        missing = await unit.locked(Notification, id="nope")
    orm = (await _stored(db))["n-3"]
    assert missing is None
    assert row is not None
    assert {name: getattr(row, name) for name in ("id", "source", "external_id", "received_at", "handled_at")} == {
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
    async with db.fast.unit() as unit:
        row = await unit.locked(Payment, id=payment.id)
        assert row is not None
        row.invoice_link = "https://cp.test/i/1"
        row.details = details
        statement, step = save_step(row)
        assert set(step) == {"of_id", "new_details", "new_invoice_link"}
        assert await unit.execute(statement, step) == 1
    async with db.session() as session:
        orm = (await session.execute(select(Payment).where(Payment.id == payment.id))).scalar_one()
    assert orm.details == details  # a dict again, not a JSON string of a JSON string
    assert orm.invoice_link == "https://cp.test/i/1"
    assert (orm.coin_status, orm.amount, orm.pay_token_hash) == (payment.coin_status, payment.amount, "a" * 64)
    assert orm.updated_at > payment.updated_at  # the column's onupdate, as a flush sets it


@pytest.mark.asyncio
async def test_a_save_while_a_column_is_null_lets_only_the_first_writer_in(db: Database) -> None:
    """Two requests read a payment before its invoice was stored and each made one: the first to
    store wins, the second changes nothing (transactionInitialize's store of a new invoice)."""
    payment = await stored_payment(db)
    async with db.session(write=True) as session:
        await session.execute(update(Payment).where(Payment.id == payment.id).values(invoice_id=None))
    first, second = await db.fast.read(Payment, id=payment.id), await db.fast.read(Payment, id=payment.id)
    assert first is not None
    assert second is not None
    first.invoice_id, first.invoice_link = "inv-first", "https://cp.test/i/first"
    second.invoice_id, second.invoice_link = "inv-second", "https://cp.test/i/second"
    assert await db.fast.run([save_step(first, while_null="invoice_id")], atomic=False) == [1]
    assert await db.fast.run([save_step(second, while_null="invoice_id")], atomic=False) == [0]
    stored = await db.fast.read(Payment, id=payment.id)
    assert stored is not None
    assert (stored.invoice_id, stored.invoice_link) == ("inv-first", "https://cp.test/i/first")


@pytest.mark.asyncio
async def test_statements_built_per_call_each_run_as_built(db: Database) -> None:
    """Each HotStatement keeps its own compiled form: one built and dropped per call (its id free
    for the next) never runs as another, even with the same shape and other literals."""
    statement, values = _record("n-4")
    await db.fast.run([(statement, values)])
    for n in range(12):
        outcome = HotStatement.of(
            update(NOTIFICATIONS).where(NOTIFICATIONS.c.id == bindparam("of_id")).values(outcome=f"outcome {n}")
        )
        assert await db.fast.run([(outcome, {"of_id": values["id"]})]) == [1]
        del outcome
        assert (await _stored(db))["n-4"].outcome == f"outcome {n}"


@pytest.mark.asyncio
async def test_an_in_list_is_refused(db: Database) -> None:
    if not db.fast.enabled:
        pytest.skip("the session runs any statement")
    in_list = HotStatement.of(
        select(NOTIFICATIONS.c.id).where(NOTIFICATIONS.c.id.in_(bindparam("ids", expanding=True)))
    )
    with pytest.raises(TypeError, match="IN list"):
        await db.fast.fetch_one(in_list, {"ids": ["a", "b"]})


@pytest.mark.asyncio
async def test_a_failed_postgresql_unit_leaves_no_transaction_on_the_pooled_connection(db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("PostgreSQL's pool")

    async def record_then_fail() -> None:
        async with db.fast.unit() as unit:
            await unit.execute(*_record("n-5"))
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError):
        await record_then_fail()
    async with db.engine.connect() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None
        assert not driver.is_in_transaction()
    assert await _stored(db) == {}


@pytest.mark.asyncio
async def test_a_fresh_process_whose_first_database_use_is_a_fast_read(db: Database) -> None:
    """No ORM query has configured the mappers there yet (a `serve` whose first request is a poll)."""
    stored = await stored_payment(db)
    script = (
        "import asyncio, sys\n"
        "from saleor_coinpayments.store.db import Database\n"
        "from saleor_coinpayments.store.tables import Payment\n"
        "async def main():\n"
        "    db = Database(sys.argv[1])\n"
        "    try:\n"
        "        payment = await db.fast.read(Payment, id=sys.argv[2])\n"
        "        print(payment.amount)\n"
        "    finally:\n"
        "        await db.dispose()\n"
        "asyncio.run(main())\n"
    )
    command = [sys.executable, "-c", script, db.url, stored.id]
    done = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "12.345"


SLEEP = HotStatement.of(select(func.pg_sleep(bindparam("seconds", type_=Float))))


async def _sleepers(db: Database) -> int:
    async with db.session() as session:
        query = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%' AND state = 'active'"
        return int(await session.scalar(text(query)) or 0)


@pytest.mark.asyncio
async def test_a_cancelled_postgresql_unit_leaves_no_statement_running_and_the_pool_usable(db: Database) -> None:
    """A request cancelled mid-statement (a client gone, a shutdown): the statement ends on the
    server and the next unit gets a working connection."""
    if db.is_sqlite or not db.fast.enabled:
        pytest.skip("the driver path on PostgreSQL")
    sleeping = asyncio.create_task(db.fast.fetch_one(SLEEP, {"seconds": 60.0}))
    deadline = asyncio.get_running_loop().time() + 30
    while await _sleepers(db) == 0:
        assert asyncio.get_running_loop().time() < deadline, "the statement never started"
    sleeping.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sleeping
    while await _sleepers(db) > 0:  # the server ends the statement with its connection
        assert asyncio.get_running_loop().time() < deadline, "the cancelled statement is still running"
    assert await db.fast.read(Payment, id=new_id()) is None  # the pool hands out a working connection

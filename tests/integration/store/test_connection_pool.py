"""PostgreSQL's pool: a connection the server closed while it sat idle is replaced before a unit of
work gets it, on the ORM session and on the fast path alike; one used moments ago is handed out
without a ping (no round trip per checkout); a burst of fast reads holds at most
STORE_FAST_READ_CONNECTIONS connections, so the pool opens none for one read only; the connections
the fast path keeps between uses (STORE_FAST_KEPT_CONNECTIONS) are handed to its next use, dropped if
the server closed them, go back to the pool when unused and at dispose, and see other replicas' writes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import DBAPIError

from saleor_coinpayments.store import db as db_module
from saleor_coinpayments.store.db import POOL_SIZE, Database, StoreOptions
from saleor_coinpayments.store.fast_path import HotStatement
from saleor_coinpayments.store.tables import Payment, new_id
from tests.helpers.payments import stored_payment


@pytest_asyncio.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite has no server to close connections (run with TEST_DATABASE=postgresql)")
    database = Database(database_url)
    yield database
    await database.dispose()


async def _backend(db: Database) -> int:
    async with db.session() as session:
        pid = await session.scalar(text("SELECT pg_backend_pid()"))
    assert isinstance(pid, int)
    return pid


async def _terminate(db: Database, pid: int) -> None:
    """From another connection: what a server restart or an idle timeout does to that one (waits
    until the backend has gone)."""
    other = Database(db.url)
    try:
        async with other.session() as session:
            await session.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
    finally:
        await other.dispose()


@pytest.mark.asyncio
async def test_an_idle_connection_the_server_closed_is_replaced_before_use(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_module, "IDLE_PING_SECONDS", 0.0)  # every pooled connection counts as idle
    first = await _backend(db)
    await _terminate(db, first)
    assert await _backend(db) != first  # the unit of work ran, on a new connection


@pytest.mark.asyncio
async def test_a_connection_used_moments_ago_is_not_pinged(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db_module, "IDLE_PING_SECONDS", 3600.0)
    first = await _backend(db)
    await _terminate(db, first)
    # No ping at checkout, so the closed connection is only found out by the statement (the price of
    # skipping three round trips per checkout; only a connection idle for seconds can meet this).
    with pytest.raises(DBAPIError):
        await _backend(db)
    assert await _backend(db) != first  # and the pool has dropped it


_PID = HotStatement.of(select(func.pg_backend_pid()))


@pytest.mark.asyncio
async def test_the_fast_path_gets_a_working_connection_after_the_server_closed_one(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fast path takes its connections from the same pool, so the same checkout ping covers it."""
    monkeypatch.setattr(db_module, "IDLE_PING_SECONDS", 0.0)
    async with db.fast.unit() as unit:
        first = await unit.fetch_one(_PID, {})
    assert first is not None
    await _terminate(db, first[0])
    async with db.fast.unit() as unit:
        assert await unit.fetch_one(_PID, {}) != first
    assert await db.fast.read(Payment, id=new_id()) is None  # and so does a fast read


class _PoolWatch:
    """The most connections checked out at once, and how many the pool opened."""

    def __init__(self, db: Database) -> None:
        self.out = self.most = self.opened = self.checkouts = 0
        pool = db.engine.sync_engine.pool
        event.listen(pool, "checkout", self._checkout)
        event.listen(pool, "checkin", self._checkin)
        event.listen(pool, "connect", self._connect)

    def _checkout(self, *_args: Any) -> None:
        self.checkouts += 1
        self.out += 1
        self.most = max(self.most, self.out)

    def _checkin(self, *_args: Any) -> None:
        self.out -= 1

    def _connect(self, *_args: Any) -> None:
        self.opened += 1


@pytest.mark.asyncio
@pytest.mark.parametrize("cap", [2, StoreOptions().fast_read_connections])
async def test_a_burst_of_fast_reads_holds_at_most_the_capped_connections(database_url: str, cap: int) -> None:
    """64 polls at once: without the cap (0) the pool would hand out all 20 and open 10 more, each
    opened for one read and closed after it."""
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite's fast reads take no pooled connection (run with TEST_DATABASE=postgresql)")
    assert cap < POOL_SIZE  # reads alone never make the pool overflow
    db = Database(database_url, options=StoreOptions(fast_read_connections=cap))
    try:
        payment = await stored_payment(db)
        watch = _PoolWatch(db)
        found = await asyncio.gather(*(db.fast.read(Payment, id=payment.id) for _ in range(64)))
        assert {row.id for row in found if row is not None} == {payment.id}
        assert 1 < watch.most <= cap  # the reads overlapped, up to the cap and no further
        assert watch.opened <= cap
    finally:
        await db.dispose()


@pytest.mark.asyncio
async def test_a_burst_of_units_gives_back_its_overflow_connections_cleanly(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """More units at once than the pool keeps: the pool opens overflow connections, and each is
    closed when it comes back. That close used to fail outside SQLAlchemy's greenlet
    (`MissingGreenlet`, logged as "Exception closing connection") and leave asyncpg to abort it."""
    watch = _PoolWatch(db)
    burst = POOL_SIZE + 6
    all_out = asyncio.Barrier(burst)  # each unit keeps its connection until every unit has one

    async def unit() -> int:
        async with db.fast.unit() as unit:
            row = await unit.fetch_one(_PID, {})
            await asyncio.wait_for(all_out.wait(), timeout=30)
        assert row is not None
        return int(row[0])

    with caplog.at_level("ERROR", logger="sqlalchemy.pool"):
        backends = await asyncio.gather(*(unit() for _ in range(burst)))
    assert watch.most > POOL_SIZE  # the pool did overflow
    assert len(set(backends)) > POOL_SIZE
    assert not [record for record in caplog.records if record.name.startswith("sqlalchemy.pool")]
    async with db.fast.unit() as unit:  # and what the pool kept still works
        assert await unit.fetch_one(_PID, {}) is not None
    async with db.session() as session:
        open_here = await session.scalar(
            text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        )
    assert open_here is not None
    assert open_here <= POOL_SIZE


# ------------------------------------------------ connections the fast path keeps between uses


async def _fast_backend(db: Database) -> int:
    row = await db.fast.fetch_one(_PID, {})
    assert row is not None
    return int(row[0])


async def _until(condition: Any, what: str) -> None:
    """Wait for the loop to see what happened elsewhere (asserts on nothing but the condition)."""
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never: {what}")


@pytest.mark.asyncio
@pytest.mark.parametrize("kept", [0, 4])
async def test_the_fast_path_keeps_the_connection_it_used_for_its_next_use(database_url: str, kept: int) -> None:
    """Reads and units one after another: with connections kept, one pool checkout for all of them
    (the same backend each time); without, one per use."""
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite's fast path takes no pooled connection (run with TEST_DATABASE=postgresql)")
    db = Database(database_url, options=StoreOptions(fast_kept_connections=kept))
    try:
        payment = await stored_payment(db)
        watch = _PoolWatch(db)
        backends = set()
        for _ in range(5):
            assert await db.fast.read(Payment, id=payment.id) is not None
            backends.add(await _fast_backend(db))
        assert watch.checkouts == (1 if kept else 10)
        assert len(backends) == 1 or not kept
        pool = db.engine.sync_engine.pool
    finally:
        await db.dispose()
    assert pool.checkedout() == 0  # dispose gave the kept connection back


@pytest.mark.asyncio
async def test_a_kept_connection_goes_back_to_the_pool_when_unused(db: Database) -> None:
    await _fast_backend(db)
    pool = db.engine.sync_engine.pool
    assert pool.checkedout() == 1  # kept
    await _until(lambda: pool.checkedout() == 0, "the kept connection went back")


@pytest.mark.asyncio
async def test_a_kept_connection_the_server_closed_is_dropped_not_handed_out(db: Database) -> None:
    first = await _fast_backend(db)
    await _terminate(db, first)
    second = await _fast_backend(db)  # no error: the closed connection was seen and dropped
    assert second != first


@pytest.mark.asyncio
async def test_a_connection_whose_unit_failed_is_not_kept_and_the_next_unit_is_clean(db: Database) -> None:
    """A unit that raised inside its transaction leaves nothing behind for the next use."""
    broken = HotStatement.of(select(func.no_such_function()))
    with pytest.raises(asyncpg.PostgresError):
        async with db.fast.unit() as unit:
            await unit.fetch_one(broken, {})

    async def raising_midway() -> None:
        async with db.fast.unit() as unit:
            await unit.fetch_one(_PID, {})
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        await raising_midway()
    async with db.fast.unit() as unit:
        assert await unit.fetch_one(_PID, {}) is not None
    now = HotStatement.of(select(func.now()))
    assert await db.fast.fetch_one(now, {}) != await db.fast.fetch_one(now, {})  # no transaction left open


@pytest.mark.asyncio
async def test_reads_on_a_kept_connection_see_another_replicas_writes(db: Database) -> None:
    payment = await stored_payment(db)
    other = Database(db.url)
    try:
        for state in ("waiting", "paid", "expired"):
            async with other.session() as session:
                row = await session.get(Payment, payment.id)
                assert row is not None
                row.state = state
            found = await db.fast.read(Payment, id=payment.id)
            assert found is not None
            assert found.state == state
        assert db.engine.sync_engine.pool.checkedout() == 1  # all on the one kept connection
    finally:
        await other.dispose()

"""PostgreSQL's pools: a connection the server closed while it sat idle is replaced before a unit of
work gets it; one used moments ago is handed out without a ping (no round trip per checkout). The
hot paths' asyncpg pool replaces a closed connection too."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from saleor_coinpayments.store import db as db_module
from saleor_coinpayments.store import driver_pool
from saleor_coinpayments.store.db import Database
from saleor_coinpayments.store.tables import new_id


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
    """From another connection: what a server restart or an idle timeout does to that one."""
    other = Database(db.url)
    try:
        async with other.session() as session:
            await session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
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


@pytest.mark.asyncio
async def test_the_hot_paths_pool_replaces_a_connection_the_server_closed(db: Database) -> None:
    assert db.driver_pool is not None
    async with db.driver_pool.connection() as connection:
        first = await connection.fetchval("SELECT pg_backend_pid()")
    await _terminate(db, first)
    await asyncio.sleep(0.2)  # the closed socket reaches the event loop, as it does for an idle one
    async with db.writes.unit() as unit:  # a point write unit gets a working connection
        assert await unit.fetch_one(select(func.pg_backend_pid()), {}) != (first,)
    assert await db.reads.payment(new_id()) is None  # and so does a point read


@pytest.mark.asyncio
async def test_the_hot_paths_pool_closes_a_connection_left_idle(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(driver_pool, "IDLE_CLOSE_SECONDS", 0.3)  # read when the pool is made, on first use
    assert db.driver_pool is not None
    async with db.driver_pool.connection() as connection:
        first = await connection.fetchval("SELECT pg_backend_pid()")
    await asyncio.sleep(1.0)  # idle: closed, before any middlebox could drop it silently
    async with db.driver_pool.connection() as connection:
        assert await connection.fetchval("SELECT pg_backend_pid()") != first

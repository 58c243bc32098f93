"""PostgreSQL's pool: a connection the server closed while it sat idle is replaced before a unit of
work gets it, on the ORM session and on the fast path alike; one used moments ago is handed out
without a ping (no round trip per checkout)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from saleor_coinpayments.store import db as db_module
from saleor_coinpayments.store.db import Database
from saleor_coinpayments.store.fast_path import HotStatement
from saleor_coinpayments.store.tables import Payment, new_id


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

"""SQLite's writer connection (store/inline_sqlite.py): a write unit runs in the event loop's thread
without yielding between its statements, waits for another connection's lock with the loop free,
and returns only once an fsync of the WAL that began after its commit has finished.

SQLite whatever TEST_DATABASE says: a file of its own per test, with a table made here.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import text

from saleor_coinpayments.store import inline_sqlite
from saleor_coinpayments.store.db import Database


@pytest_asyncio.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'writer.db'}")
    async with database.session() as session:
        await session.execute(text("CREATE TABLE entries (n INTEGER NOT NULL)"))
    yield database
    await database.dispose()


class LoopTurns:
    """Counts the event loop's turns while it runs: a task that yields and counts, forever."""

    def __init__(self) -> None:
        self.count = 0
        self._task: asyncio.Task[None] | None = None

    async def _spin(self) -> None:
        while True:
            await asyncio.sleep(0)
            self.count += 1

    async def __aenter__(self) -> LoopTurns:
        self._task = asyncio.create_task(self._spin())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


async def _entries(db: Database) -> list[int]:
    async with db.session() as session:
        return list((await session.scalars(text("SELECT n FROM entries ORDER BY n"))).all())


@pytest.mark.asyncio
async def test_a_write_unit_holds_the_loop_from_its_first_statement_to_its_commit(db: Database) -> None:
    async with LoopTurns() as turns, db.session(write=True) as session:
        await session.execute(text("INSERT INTO entries (n) VALUES (0)"))  # checkout and BEGIN IMMEDIATE
        before = turns.count
        for n in range(1, 20):
            await session.execute(text("INSERT INTO entries (n) VALUES (:n)"), {"n": n})
        rows = (await session.execute(text("SELECT count(*) FROM entries"))).scalar_one()
        # Through a thread each statement would be a hop and a turn of the loop (19 or more here).
        assert turns.count == before
        assert rows == 20
    assert await _entries(db) == list(range(20))


@pytest.mark.asyncio
async def test_the_writer_waits_for_another_connections_lock_with_the_loop_free(db: Database, tmp_path: Path) -> None:
    other = sqlite3.connect(tmp_path / "writer.db", isolation_level=None)  # as another process would
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO entries (n) VALUES (1)")

    async def write() -> None:
        async with db.session(write=True) as session:
            await session.execute(text("INSERT INTO entries (n) VALUES (2)"))

    try:
        async with LoopTurns() as turns:
            unit = asyncio.create_task(write())
            await asyncio.sleep(0.2)
            assert not unit.done()  # waiting for the lock …
            assert turns.count > 20  # … while the loop goes on (a busy timeout would freeze it here)
            other.execute("COMMIT")
            await asyncio.wait_for(unit, 5)
    finally:
        other.close()
    assert await _entries(db) == [1, 2]


@pytest.mark.asyncio
async def test_the_writer_gives_up_after_the_lock_wait(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inline_sqlite, "LOCK_WAIT_SECONDS", 0.1)
    other = sqlite3.connect(tmp_path / "writer.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(Exception, match="database is locked"):
            async with db.session(write=True) as session:
                await session.execute(text("INSERT INTO entries (n) VALUES (3)"))
    finally:
        other.execute("ROLLBACK")
        other.close()
    async with db.session(write=True) as session:  # the writer is usable again
        await session.execute(text("INSERT INTO entries (n) VALUES (4)"))
    assert await _entries(db) == [4]


def _spy_on_fsyncs(monkeypatch: pytest.MonkeyPatch, db: Database, log: list[tuple[str, int]]) -> None:
    """Records each fsync with the number of commits made when it began (then does it for real)."""
    real: Callable[[str], None] = inline_sqlite._fsync
    durable = db.durable
    assert durable is not None

    def fsync(path: str) -> None:
        log.append((path, durable._committed))
        real(path)

    monkeypatch.setattr(inline_sqlite, "_fsync", fsync)


@pytest.mark.asyncio
async def test_a_unit_returns_once_an_fsync_begun_after_its_commit_is_done(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fsyncs: list[tuple[str, int]] = []
    _spy_on_fsyncs(monkeypatch, db, fsyncs)
    async with db.session(write=True) as session:
        await session.execute(text("INSERT INTO entries (n) VALUES (1)"))
    assert fsyncs == [(f"{tmp_path / 'writer.db'}-wal", 1)]
    async with db.session(write=True) as session:
        await session.execute(text("INSERT INTO entries (n) VALUES (2)"))
    assert [commits for _path, commits in fsyncs] == [1, 2]


@pytest.mark.asyncio
async def test_commits_made_during_an_fsync_share_the_next_one(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    fsyncs: list[tuple[str, int]] = []
    _spy_on_fsyncs(monkeypatch, db, fsyncs)

    async def write(n: int) -> int:
        async with db.session(write=True) as session:
            await session.execute(text("INSERT INTO entries (n) VALUES (:n)"), {"n": n})
        assert db.durable is not None
        return db.durable._synced

    synced = await asyncio.gather(*(write(n) for n in range(30)))
    assert await _entries(db) == list(range(30))
    assert len(fsyncs) < 30  # grouped …
    assert fsyncs[-1][1] == 30  # … and the last covers every commit
    assert all(covered >= 1 for covered in synced)


@pytest.mark.asyncio
async def test_a_failed_fsync_fails_the_unit(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(_path: str) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(inline_sqlite, "_fsync", broken)
    with pytest.raises(OSError, match="Input/output error"):
        async with db.session(write=True) as session:
            await session.execute(text("INSERT INTO entries (n) VALUES (1)"))
    monkeypatch.undo()
    async with db.session(write=True) as session:  # the next unit's fsync covers the earlier commit
        await session.execute(text("INSERT INTO entries (n) VALUES (2)"))
    assert await _entries(db) == [1, 2]

"""SQLite's in-loop writer (store/sqlite_in_loop.py): a fast-path unit runs in the event loop's thread
without yielding between its statements, waits for another connection's lock with the loop free,
queues behind this process's ORM write units instead of meeting them on SQLite's lock, and returns
only once an fsync of the WAL that began after its commit has finished.

SQLite whatever TEST_DATABASE says: a file of its own per test, with a table made here.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import Column, Integer, MetaData, Table, bindparam, column, func, insert, select, text

from saleor_coinpayments.store import sqlite_in_loop
from saleor_coinpayments.store.db import Database, StoreOptions
from saleor_coinpayments.store.fast_path import HotStatement
from saleor_coinpayments.store.sqlite_in_loop import DurableCommits

ENTRIES = Table("entries", MetaData(), Column("n", Integer, nullable=False))
ADD = HotStatement.of(insert(ENTRIES).values(n=bindparam("n")))
COUNT = HotStatement.of(select(func.count()).select_from(ENTRIES))


async def _database(path: Path, options: StoreOptions | None = None) -> Database:
    database = Database(f"sqlite+aiosqlite:///{path}", options=options)
    async with database.session() as session:
        await session.execute(text("CREATE TABLE IF NOT EXISTS entries (n INTEGER NOT NULL)"))
    return database


@pytest_asyncio.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await _database(tmp_path / "writer.db")
    yield database
    await database.dispose()


def _durable(db: Database) -> DurableCommits:
    assert db.in_loop is not None
    assert db.in_loop.durable is not None
    return db.in_loop.durable


async def _add(db: Database, n: int) -> None:
    await db.fast.run([(ADD, {"n": n})])


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
async def test_a_unit_holds_the_loop_from_its_first_statement_to_its_commit(db: Database) -> None:
    async with LoopTurns() as turns, db.fast.unit() as unit:
        await unit.execute(ADD, {"n": 0})  # the writer turn and BEGIN IMMEDIATE
        before = turns.count
        for n in range(1, 20):
            await unit.execute(ADD, {"n": n})
        rows = await unit.fetch_one(COUNT, {})
        # Through a thread each statement would be a hop and a turn of the loop (19 or more here).
        assert turns.count == before
        assert rows == (20,)
    assert await _entries(db) == list(range(20))


@pytest.mark.asyncio
async def test_the_writer_waits_for_another_connections_lock_with_the_loop_free(db: Database, tmp_path: Path) -> None:
    other = sqlite3.connect(tmp_path / "writer.db", isolation_level=None)  # as another process would
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO entries (n) VALUES (1)")
    try:
        async with LoopTurns() as turns:
            unit = asyncio.create_task(_add(db, 2))
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
    monkeypatch.setattr(sqlite_in_loop, "LOCK_WAIT_SECONDS", 0.1)
    other = sqlite3.connect(tmp_path / "writer.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            await _add(db, 3)
    finally:
        other.execute("ROLLBACK")
        other.close()
    await _add(db, 4)  # the writer is usable again
    assert await _entries(db) == [4]


@pytest.mark.asyncio
async def test_a_unit_queues_behind_this_process_orm_write_unit(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both take the writer turn, so the unit waits for the session's commit in this process's own
    queue: with a lock wait far shorter than the session, meeting it on SQLite's lock would fail."""
    monkeypatch.setattr(sqlite_in_loop, "LOCK_WAIT_SECONDS", 0.05)
    session_wrote = asyncio.Event()
    release = asyncio.Event()

    async def slow_session() -> None:
        async with db.session(write=True) as session:
            await session.execute(text("INSERT INTO entries (n) VALUES (1)"))
            session_wrote.set()
            await release.wait()

    holder = asyncio.create_task(slow_session())
    await session_wrote.wait()
    unit = asyncio.create_task(_add(db, 2))
    await asyncio.sleep(0.3)  # six lock waits' worth
    assert not unit.done()
    release.set()
    await asyncio.wait_for(asyncio.gather(holder, unit), 5)
    assert await _entries(db) == [1, 2]


def _spy_on_fsyncs(monkeypatch: pytest.MonkeyPatch, db: Database, log: list[tuple[str, int]]) -> None:
    """Records each fsync with the number of commits made when it began (then does it for real)."""
    real: Callable[[str], None] = sqlite_in_loop.fsync_file
    durable = _durable(db)

    def fsync(path: str) -> None:
        log.append((path, durable.committed))
        real(path)

    monkeypatch.setattr(sqlite_in_loop, "fsync_file", fsync)


@pytest.mark.asyncio
async def test_a_unit_returns_once_an_fsync_begun_after_its_commit_is_done(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fsyncs: list[tuple[str, int]] = []
    _spy_on_fsyncs(monkeypatch, db, fsyncs)
    await _add(db, 1)
    assert fsyncs == [(f"{tmp_path / 'writer.db'}-wal", 1)]
    await _add(db, 2)
    assert [commits for _path, commits in fsyncs] == [1, 2]


@pytest.mark.asyncio
async def test_commits_made_during_an_fsync_share_the_next_one(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    fsyncs: list[tuple[str, int]] = []
    _spy_on_fsyncs(monkeypatch, db, fsyncs)

    async def write(n: int) -> int:
        await _add(db, n)
        return _durable(db).synced

    synced = await asyncio.gather(*(write(n) for n in range(30)))
    assert await _entries(db) == list(range(30))
    assert len(fsyncs) < 30  # grouped …
    assert fsyncs[-1][1] == 30  # … and the last covers every commit
    assert all(covered >= 1 for covered in synced)


@pytest.mark.asyncio
async def test_a_failed_fsync_fails_the_unit(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(_path: str) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(sqlite_in_loop, "fsync_file", broken)
    with pytest.raises(OSError, match="Input/output error"):
        await _add(db, 1)
    monkeypatch.undo()
    await _add(db, 2)  # the next unit's fsync covers the earlier commit
    assert await _entries(db) == [1, 2]


SYNCHRONOUS = HotStatement.of(select(column("synchronous")).select_from(text("pragma_synchronous()")))


@pytest.mark.asyncio
@pytest.mark.parametrize(("group_commit", "synchronous"), [(True, 1), (False, 2)])  # NORMAL, FULL
async def test_the_writer_syncs_each_commit_itself_without_group_commit(
    tmp_path: Path, group_commit: bool, synchronous: int
) -> None:
    db = await _database(tmp_path / "sync.db", StoreOptions(sqlite_group_commit=group_commit))
    try:
        assert db.in_loop is not None
        assert (db.in_loop.durable is not None) == group_commit
        async with db.fast.unit() as unit:
            assert await unit.fetch_one(SYNCHRONOUS, {}) == (synchronous,)
        await _add(db, 1)
        assert await _entries(db) == [1]
    finally:
        await db.dispose()

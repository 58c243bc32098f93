"""SQLite's fast path in the event loop's thread: two stdlib `sqlite3` connections of the process's own.

SQLite has one writer per file. Through aiosqlite every statement is a hop to the connection's
thread and back, and on a busy event loop each hop back waits for its turn: a unit of a few
statements held the write lock for 1.5–2 ms under load. Here the fast path's units run on a
`sqlite3.Connection` opened for the purpose and used in the loop's thread: a unit never yields
while it holds the lock, so it holds it only while SQLite works (tens of µs a statement), and
makes no hop at all. Reads use a second, read-only connection the same way: in WAL mode a read
never waits for a writer.

- In this process, a unit first takes the writer turn (`Database.writer_turn`), which ORM write
  sessions take too, so the process's writers queue in turn instead of meeting on SQLite's lock.
- Another process's lock is waited for with asyncio sleeps: the connections' busy timeout is 0, so
  the loop never sleeps inside SQLite. Inside `BEGIN IMMEDIATE` a WAL database answers no statement
  "busy", so the begin is the only place that waits. A read answered "busy" (WAL recovery, rare)
  raises `sqlite3.OperationalError`; the fast path then reads the ordinary way.
- With STORE_SQLITE_GROUP_COMMIT (default) the writer commits with `synchronous=NORMAL` (no fsync in
  the loop) and `DurableCommits` makes the unit wait, after the lock is let go, for an fsync of the
  WAL that began after its commit — one fsync in a thread for every commit made meanwhile. A unit
  returns only once its commit is on disk, as with `synchronous=FULL`, which is what the writer
  uses without group commit (its fsync then runs in the loop).

STORE_SQLITE_IN_LOOP=false runs the fast path on the writer engine's aiosqlite connection instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

from saleor_coinpayments.store.dialects import BEGIN_WRITE

# How long a unit waits for another process's write transaction before it fails (as busy_timeout
# does for the threaded connections).
LOCK_WAIT_SECONDS = 10.0
_FIRST_DELAY, _LONGEST_DELAY = 0.0005, 0.02

Execute = Callable[[str, list[Any]], Any]


def is_busy(exc: BaseException) -> bool:
    """SQLite's "busy"/"locked"."""
    return isinstance(exc, sqlite3.OperationalError) and (exc.sqlite_errorcode & 0xFF) in (
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
    )


def lock_wait_delays() -> Iterator[float | None]:
    """The sleeps between `BEGIN IMMEDIATE` attempts while another connection holds the lock, then
    None once LOCK_WAIT_SECONDS would be spent (the caller gives up, as busy_timeout would)."""
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    delay = _FIRST_DELAY
    while time.monotonic() + delay <= deadline:
        yield delay
        delay = min(delay * 2, _LONGEST_DELAY)
    yield None


def fsync_file(path: str) -> None:
    """fsync of the file at `path` (any descriptor of a file flushes all of its written pages)."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class DurableCommits:
    """Group commit: `noted()` after each commit, `wait()` by the unit once it has let the lock go.
    Every waiter is covered by an fsync that started after its commit; commits made while one
    runs share the next."""

    def __init__(self, wal_path: str) -> None:
        self._wal_path = wal_path
        self.committed = 0
        self.synced = 0
        self._syncing: asyncio.Future[None] | None = None

    def noted(self) -> None:
        self.committed += 1

    async def wait(self) -> None:
        target = self.committed
        while self.synced < target:
            if self._syncing is None:
                self._syncing = asyncio.ensure_future(self._sync())
            await asyncio.shield(self._syncing)

    async def _sync(self) -> None:
        covers = self.committed
        try:
            await asyncio.to_thread(fsync_file, self._wal_path)
        finally:
            self._syncing = None
        self.synced = max(self.synced, covers)


def _fetch_one(db: sqlite3.Connection, sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
    """One row, in the calling thread, with its cursor closed at once."""
    cursor = db.execute(sql, params)
    try:
        row = cursor.fetchone()
    finally:
        cursor.close()
    return None if row is None else tuple(row)


def _changed(db: sqlite3.Connection, sql: str, params: Sequence[Any]) -> int:
    cursor = db.execute(sql, params)
    try:
        return cursor.rowcount
    finally:
        cursor.close()


class SqliteInLoop:
    """The process's in-loop writer and reader of one SQLite file (see the module docstring)."""

    def __init__(
        self,
        path: str,
        *,
        group_commit: bool,
        writer_turn: Callable[[], contextlib.AbstractAsyncContextManager[None]],
    ) -> None:
        self._path = path
        self._writer_turn = writer_turn
        self._group_commit = group_commit
        self.durable = DurableCommits(path + "-wal") if group_commit else None
        self._writer: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None

    def _open(self, *, read_only: bool) -> sqlite3.Connection:
        connection = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None, cached_statements=64)
        connection.execute("PRAGMA busy_timeout=0")
        if read_only:
            connection.execute("PRAGMA query_only=ON")
        else:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA foreign_keys=ON")
            connection.execute(f"PRAGMA synchronous={'NORMAL' if self._group_commit else 'FULL'}")
        return connection

    def read_one(self, sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
        """One row, now, in the loop's thread; raises sqlite3.OperationalError on "busy"."""
        if self._reader is None:
            self._reader = self._open(read_only=True)
        return _fetch_one(self._reader, sql, params)

    @contextlib.asynccontextmanager
    async def unit(self) -> AsyncIterator[tuple[Execute, Execute]]:
        """A write transaction: (execute, fetch one) on the writer, committed if the block succeeds;
        it returns once the commit is on disk."""
        async with self._writer_turn():
            if self._writer is None:
                self._writer = self._open(read_only=False)
            db = self._writer
            for delay in lock_wait_delays():
                try:
                    db.execute(BEGIN_WRITE)
                    break
                except sqlite3.OperationalError as exc:
                    if delay is None or not is_busy(exc):
                        raise
                await asyncio.sleep(delay)

            async def execute(sql: str, params: list[Any]) -> int:
                return _changed(db, sql, params)

            async def fetch(sql: str, params: list[Any]) -> tuple[Any, ...] | None:
                return _fetch_one(db, sql, params)

            try:
                yield execute, fetch
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            if self.durable is not None:
                self.durable.noted()
        if self.durable is not None:
            await self.durable.wait()

    def close(self) -> None:
        for connection in (self._writer, self._reader):
            if connection is not None:
                connection.close()
        self._writer = self._reader = None

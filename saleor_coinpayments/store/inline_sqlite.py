"""The SQLite writer connection, run in the event loop's own thread.

SQLite has one writer per file. Through aiosqlite every statement of a unit of work is a hop to
the connection's thread and back, and on a busy event loop each hop back waits for its turn: a
unit of five to seven statements held the write lock for 1.5–2 ms under load, so a process managed
a few hundred write units a second however idle its CPU was. Run in the loop's thread, a unit whose
awaits are all database calls never yields: it holds the lock only while SQLite works (tens of µs a
statement, plus the commit's fsync), and it makes no hop at all.

Nor does the commit's fsync hold the loop or the lock: the writer commits with
`synchronous=NORMAL` (no fsync), and `DurableCommits` makes the caller wait, after the lock is let
go, for an fsync of the WAL that began after its commit — one fsync in a thread for every commit
made meanwhile. A unit returns only once its commit is on disk, as with `synchronous=FULL`.

Nothing here may block the loop on another process: the connection's busy timeout is 0, and
`begin_immediate` waits for a lock held elsewhere with asyncio sleeps. Inside `BEGIN IMMEDIATE` a
WAL database gives a statement no "busy", so the begin is the only place that waits.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from typing import Any

import aiosqlite
from sqlalchemy import Connection
from sqlalchemy.util import await_only

# How long a unit waits for another process's write transaction before it fails (as busy_timeout
# did for the threaded connection).
LOCK_WAIT_SECONDS = 10.0
_FIRST_DELAY, _LONGEST_DELAY = 0.0005, 0.02


class _RunHere:
    """aiosqlite's queue of work for its thread, served on the spot by the caller."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as exc:
            if future is None:
                raise
            future.set_exception(exc)
        else:
            if future is not None:
                future.set_result(result)


class InlineConnection(aiosqlite.Connection):
    """aiosqlite's interface (what SQLAlchemy's aiosqlite dialect drives) without its thread: each
    call runs at once and hands back a finished future, so awaiting it does not yield."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._tx = _RunHere()  # type: ignore[assignment]  # the one seam aiosqlite routes all work through

    def __await__(self) -> Any:
        return self._connect().__await__()  # no thread to start


def inline_creator(path: str) -> Callable[[], Any]:
    """`create_async_engine(async_creator=…)` for a file opened in the calling thread."""

    async def create() -> InlineConnection:
        connection = InlineConnection(lambda: sqlite3.connect(path, check_same_thread=False, isolation_level=None))
        return await connection

    return create


def is_busy(exc: BaseException) -> bool:
    """SQLite's "busy"/"locked", raised by the driver or wrapped by SQLAlchemy (`.orig`)."""
    exc = getattr(exc, "orig", None) or exc
    return isinstance(exc, sqlite3.OperationalError) and (getattr(exc, "sqlite_errorcode", 0) & 0xFF) in (
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
    )


def no_busy_wait(dbapi_connection: Any, _record: Any) -> None:
    """Pool `connect` event, after the common pragmas: never sleep inside SQLite (in the loop)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=0")
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable all the same: see DurableCommits
    cursor.close()


def lock_wait_delays() -> Iterator[float | None]:
    """The sleeps between `BEGIN IMMEDIATE` attempts while another connection holds the lock, then
    None once LOCK_WAIT_SECONDS would be spent (the caller gives up, as busy_timeout would)."""
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    delay = _FIRST_DELAY
    while time.monotonic() + delay <= deadline:
        yield delay
        delay = min(delay * 2, _LONGEST_DELAY)
    yield None


def begin_attempts(begin: Callable[[], object]) -> Iterator[float]:
    """Run `begin` (a `BEGIN IMMEDIATE`) until it takes the lock, yielding how long to sleep after
    each "busy"; it raises the last "busy" once LOCK_WAIT_SECONDS are spent, and any other error at
    once. The caller sleeps its own way: asyncio, or `await_only` inside SQLAlchemy's greenlet."""
    for delay in lock_wait_delays():
        try:
            begin()
            return
        except Exception as exc:
            if delay is None or not is_busy(exc):
                raise
        yield delay


def begin_immediate(conn: Connection) -> None:
    """The engine's `begin` event: take the write lock before the unit's first read, waiting for
    another process's writer with asyncio sleeps (this runs inside SQLAlchemy's greenlet)."""
    for delay in begin_attempts(lambda: conn.exec_driver_sql("BEGIN IMMEDIATE")):
        await_only(asyncio.sleep(delay))


def _fsync(path: str) -> None:
    """fsync of the file at `path` (any descriptor of a file flushes all of its written pages)."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class DurableCommits:
    """Group commit for the writer: `noted()` after each commit (the engine's `commit` event),
    `wait()` by the unit once it has let the connection go. Every waiter is covered by an fsync
    that started after its commit; commits made while one runs share the next."""

    def __init__(self, wal_path: str) -> None:
        self._wal_path = wal_path
        self._committed = 0
        self._synced = 0
        self._syncing: asyncio.Future[None] | None = None

    def noted(self, *_conn: Connection) -> None:
        """A commit was made (also the engine's `commit` event, which passes the connection)."""
        self._committed += 1

    async def wait(self) -> None:
        target = self._committed
        while self._synced < target:
            if self._syncing is None:
                self._syncing = asyncio.ensure_future(self._sync())
            await asyncio.shield(self._syncing)

    async def _sync(self) -> None:
        covers = self._committed
        try:
            await asyncio.to_thread(_fsync, self._wal_path)
        finally:
            self._syncing = None
        self._synced = max(self._synced, covers)

"""The database engines and units of work (one session per request or job, committed once).

A unit of work that reads a row and writes it back (`session(write=True)`) is one transaction with
the read inside it: on PostgreSQL the read takes a row lock (store/dialects.py `locked`); on SQLite,
which has no row locks, such units go through one writer connection per process that starts every
transaction with `BEGIN IMMEDIATE`, so the write lock is held from before the read until the commit
— across processes too (`serve` beside `reconcile`, or two `serve`s on one file). In this process
they first take the writer turn, which the fast path's SQLite units take too, so the process's
writers queue in turn instead of meeting on SQLite's lock. Other units use the ordinary pool: WAL
lets them read beside the writer. The hot statements run on the fast path (`Database.fast`,
store/fast_path.py) on the same engines.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, event, make_url, text
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from saleor_coinpayments.store.dialects import BEGIN_WRITE
from saleor_coinpayments.store.fast_path import FastPath
from saleor_coinpayments.store.pg_connections import KEEP_SECONDS
from saleor_coinpayments.store.sqlite_in_loop import SqliteInLoop

if TYPE_CHECKING:
    from saleor_coinpayments.settings import Settings


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


# A connection idle longer than this is pinged before use (a server restart or failover, or an
# idle timeout on the way, may have closed it). A busy pool's connections are used again within
# milliseconds and skip the ping: SQLAlchemy's `pool_pre_ping` pings on every checkout, three round
# trips with asyncpg, about a tenth of an initialize's CPU.
IDLE_PING_SECONDS = 5.0


def _note_checkin(_dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry) -> None:
    # The fast path says when it last used a connection it kept a moment (store/pg_connections.py).
    record.info["checked_in_at"] = record.info.pop("last_used_at", None) or time.monotonic()


def _ping_if_idle(dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry, _proxy: object) -> None:
    """Pool checkout: a stale connection is dropped and the pool hands out another (it retries on
    DisconnectionError), so no unit of work fails on a connection the server has closed."""
    checked_in_at = record.info.get("checked_in_at")
    if checked_in_at is None or time.monotonic() - checked_in_at <= IDLE_PING_SECONDS:
        return
    try:
        dbapi_connection.ping()
    except Exception as exc:
        raise DisconnectionError(f"an idle connection was closed: {exc}") from exc


def sqlite_path(url: str) -> str:
    return make_url(url).database or ":memory:"


def ensure_sqlite_folder(url: str) -> None:
    """SQLite creates the file but not its folder (DATA_DIR on a fresh checkout)."""
    if url.startswith("sqlite") and ":///" in url:
        path = sqlite_path(url)
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


def _begin_write(conn: Connection) -> None:
    """The writer engine's `begin` event: take the write lock before the unit's first read (the
    connection's busy timeout waits, in aiosqlite's thread, for another process's writer)."""
    conn.exec_driver_sql(BEGIN_WRITE)


# The pool PostgreSQL's units of work and the fast path share (see `Database.__init__`).
POOL_SIZE = 20
POOL_OVERFLOW = 10


@dataclass(frozen=True)
class StoreOptions:
    """The store's speed mechanisms, each of which can be switched off (settings STORE_*) so
    bench can measure it: the fast path, on SQLite its in-loop writer and group commit, and on
    PostgreSQL the cap on the connections the fast path's reads hold (0: none) and how many
    connections it keeps between uses (0: none, store/pg_connections.py)."""

    fast_path: bool = True
    sqlite_in_loop: bool = True
    sqlite_group_commit: bool = True
    fast_read_connections: int = 16
    fast_kept_connections: int = 16

    @classmethod
    def of(cls, settings: Settings) -> StoreOptions:
        return cls(
            settings.store_fast_path,
            settings.store_sqlite_in_loop,
            settings.store_sqlite_group_commit,
            settings.store_fast_read_connections,
            settings.store_fast_kept_connections,
        )


class Database:
    """Owns the engines; hands out sessions and the fast path. Use cases never commit: `session()`
    and the fast path's units do, once."""

    def __init__(self, url: str, *, echo: bool = False, options: StoreOptions | None = None) -> None:
        options = options or StoreOptions()
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self._writer_turn = asyncio.Lock() if self.is_sqlite else None
        in_loop: SqliteInLoop | None = None
        if self.is_sqlite:
            ensure_sqlite_folder(url)
            # Hot reads mostly go around the pool (the fast path) and SQLite has one writer: a few
            # connections (each a thread with its own page cache) are plenty.
            self.engine: AsyncEngine = create_async_engine(url, echo=echo, pool_size=4, max_overflow=4)
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            # The single writer of the ORM's write units; in-process writers queue for it in turn.
            self.write_engine = create_async_engine(url, echo=echo, pool_size=1, max_overflow=0, pool_timeout=120)
            event.listen(self.write_engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(self.write_engine.sync_engine, "begin", _begin_write)
            path = sqlite_path(url)
            if options.fast_path and options.sqlite_in_loop and path != ":memory:":
                in_loop = SqliteInLoop(path, group_commit=options.sqlite_group_commit, writer_turn=self.writer_turn)
        else:
            # Sized for the requests and background jobs one process runs at once: a pool that
            # overflows at peak opens and closes a connection (a TCP and TLS handshake and a server
            # process) per unit of work, which cost more CPU than the work itself.
            self.engine = create_async_engine(url, echo=echo, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW)
            event.listen(self.engine.sync_engine.pool, "checkin", _note_checkin)
            event.listen(self.engine.sync_engine.pool, "checkout", _ping_if_idle)
            self.write_engine = self.engine
        self.in_loop = in_loop
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self.fast = FastPath(
            self,
            enabled=options.fast_path,
            in_loop=in_loop,
            read_connections=options.fast_read_connections,
            kept_connections=options.fast_kept_connections,
        )

    @staticmethod
    def keep_seconds() -> float:
        """How long the fast path may keep a connection unused: never past the pool's idle ping."""
        return min(KEEP_SECONDS, IDLE_PING_SECONDS)

    @contextlib.asynccontextmanager
    async def writer_turn(self) -> AsyncIterator[None]:
        """SQLite: this process's turn to write (its ORM write units and the fast path's units take
        it). PostgreSQL locks rows, not the database: nothing to wait for."""
        if self._writer_turn is None:
            yield
            return
        async with self._writer_turn:
            yield

    @contextlib.asynccontextmanager
    async def session(self, *, write: bool = False) -> AsyncIterator[AsyncSession]:
        """A unit of work: commit if the block succeeds, roll back if it raises.

        `write=True` for a read-modify-write: its reads happen inside the write transaction (see
        the module docstring). Never open another write unit inside one (one writer per process)."""
        if not write:
            async with self.sessionmaker() as session:
                yield session
                await session.commit()
            return
        async with self.writer_turn(), self.sessionmaker(bind=self.write_engine) as session:
            yield session
            await session.commit()

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.fast.close()
        if self.in_loop is not None:
            self.in_loop.close()
        await self.engine.dispose()
        if self.write_engine is not self.engine:
            await self.write_engine.dispose()

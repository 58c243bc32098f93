"""The database engine and units of work (one session per request or job, committed once).

A unit of work that reads a row and writes it back (`session(write=True)`) is one transaction with
the read inside it: on PostgreSQL the read takes a row lock (`SELECT … FOR UPDATE`, see
PaymentRepository); on SQLite, which has no row locks, such units go through one writer connection
per process that starts every transaction with `BEGIN IMMEDIATE`, so the write lock is held from
before the read until the commit — across processes too (`serve` beside `reconcile`, or two
`serve`s on one file). That connection runs in the event loop's thread (store/inline_sqlite.py): a
unit holds SQLite's lock only while SQLite works, not while hops through a thread wait on a busy
loop. Other units use the ordinary pool: WAL lets them read beside the writer. The hot paths' units
(store/point_writes.py: the initialize claim, a notification's receipt, the rate-limit booking) run
on the writer too: they queue in this process in turn instead of sleeping in SQLite's busy handler,
whose waits grow in steps of 1 to 100 ms. On PostgreSQL they run on an asyncpg pool of their own
(store/driver_pool.py).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import event, make_url, text
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from saleor_coinpayments.store import inline_sqlite
from saleor_coinpayments.store.driver_pool import DriverPool
from saleor_coinpayments.store.point_reads import PointReads
from saleor_coinpayments.store.point_writes import PointWrites


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
    record.info["checked_in_at"] = time.monotonic()


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


class Database:
    """Owns the engine; hands out sessions. Use cases never commit: `session()` does, once."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.durable: inline_sqlite.DurableCommits | None = None
        self.driver_pool: DriverPool | None = None  # PostgreSQL's hot paths
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            ensure_sqlite_folder(url)
            # Hot reads go around the pool (store/point_reads.py) and SQLite has one writer: a few
            # connections (each a thread with its own page cache) are plenty.
            self.engine: AsyncEngine = create_async_engine(url, echo=echo, pool_size=4, max_overflow=4)
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            # The single writer, in the loop's thread; in-process writers queue for it in turn.
            path = sqlite_path(url)
            self.write_engine = create_async_engine(
                url,
                echo=echo,
                pool_size=1,
                max_overflow=0,
                pool_timeout=120,
                async_creator=inline_sqlite.inline_creator(path),
            )
            event.listen(self.write_engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(self.write_engine.sync_engine, "connect", inline_sqlite.no_busy_wait)
            event.listen(self.write_engine.sync_engine, "begin", inline_sqlite.begin_immediate)
            if path != ":memory:":
                self.durable = inline_sqlite.DurableCommits(path + "-wal")
                event.listen(self.write_engine.sync_engine, "commit", self.durable.noted)
        else:
            # Sized for the requests and background jobs one process runs at once: a pool that
            # overflows at peak opens and closes a connection (a TCP and TLS handshake and a server
            # process) per unit of work, which cost more CPU than the work itself.
            self.engine = create_async_engine(url, echo=echo, pool_size=20, max_overflow=10)
            event.listen(self.engine.sync_engine.pool, "checkin", _note_checkin)
            event.listen(self.engine.sync_engine.pool, "checkout", _ping_if_idle)
            self.write_engine = self.engine
            self.driver_pool = DriverPool(self.engine.url)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self.reads = PointReads(self.engine, self.driver_pool)
        self.writes = PointWrites(self.write_engine, self.durable, self.driver_pool)
        self.write_sessionmaker = async_sessionmaker(self.write_engine, expire_on_commit=False)

    @contextlib.asynccontextmanager
    async def session(self, *, write: bool = False) -> AsyncIterator[AsyncSession]:
        """A unit of work: commit if the block succeeds, roll back if it raises.

        `write=True` for a read-modify-write: its reads happen inside the write transaction (see
        the module docstring). Never open another write unit inside one (one writer per process)."""
        maker = self.write_sessionmaker if write else self.sessionmaker
        async with maker() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise
        if write and self.durable is not None:
            await self.durable.wait()  # the commit is on disk (the connection is already free)

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.reads.close()
        if self.driver_pool is not None:
            await self.driver_pool.close()
        await self.engine.dispose()
        if self.write_engine is not self.engine:
            await self.write_engine.dispose()

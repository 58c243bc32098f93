"""PostgreSQL: the fast path's asyncpg connections, from the engine's pool, kept a moment between uses.

Checking a connection out of SQLAlchemy's pool and giving it back (`AsyncEngine.raw_connection()`,
`close()`: a greenlet hop, the pool's queue, its checkout and checkin events, the reset) cost 60–90
µs of CPU per fast-path read or unit, a third of a poll's read (an in-process micro-benchmark, best
of seven rounds). So a connection the fast path is done with is kept, still checked out, and
handed straight to its next read or unit, the last kept first (so the fewest stay in use), up to
STORE_FAST_KEPT_CONNECTIONS of them (0: none, every use goes to the pool and back).

A connection goes back to the pool instead of being kept, or later:

- when unused for `Database.keep_seconds()` (`KEEP_SECONDS`, never more than the pool's
  IDLE_PING_SECONDS; a timer, or the next taker): only a connection the pool would hand out without
  a ping is handed out here;
- when it is not clean: closed (the server closed it; the pool drops it), or inside a transaction;
- when what ran on it raised (a cancelled statement, a broken connection: the pool's give-back
  handles those, as before);
- when the pool, with it kept out, would have no idle connection nor room to open one within its
  size, or holds an overflow connection that keeping it would keep open (`_room_to_keep`);
- at `close()` (`Database.dispose`); a use in flight then gives its connection back to the pool.

Reads on a kept connection see every commit, this replica's or another's: the fast path's reads run
outside any transaction (each statement its own snapshot), and a connection inside one is never kept.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import Pool, PoolProxiedConnection, QueuePool

# A kept connection unused this long goes back to the pool (at most the pool's IDLE_PING_SECONDS).
KEEP_SECONDS = 0.5


class PgConnection:
    """A checked-out connection: the pool's proxy, its asyncpg connection, and when it was last used."""

    __slots__ = ("driver", "proxy", "used_at")

    def __init__(self, proxy: PoolProxiedConnection) -> None:
        self.proxy = proxy
        self.driver: Any = proxy.driver_connection
        self.used_at = 0.0


class PgConnections:
    """See the module docstring. `keep_for()` is how long a kept connection may stay unused."""

    def __init__(self, engine: AsyncEngine, *, most: int, keep_for: Callable[[], float]) -> None:
        self._engine = engine
        self._most = most
        self._keep_for = keep_for
        self._kept: list[PgConnection] = []  # oldest use first
        self._timer: asyncio.TimerHandle | None = None
        self._sweeps: set[asyncio.Task[None]] = set()
        self._closing = False

    async def take(self) -> PgConnection:
        kept = self._kept
        while kept:
            connection = kept.pop()
            if connection.driver.is_closed():  # the server closed it while it was kept
                await _give_back(self._engine.pool, connection)
            elif time.monotonic() - connection.used_at < self._keep_for():
                return connection
            else:  # the newest kept one is too old: so are the others
                kept.append(connection)
                await self._give_back_all_but(0)
        return PgConnection(await self._engine.raw_connection())

    async def give(self, connection: PgConnection, *, clean_exit: bool) -> None:
        """After use: keep it for the next use, or give it back to the pool."""
        connection.used_at = time.monotonic()
        window = self._keep_for()
        if (
            clean_exit
            and window > 0
            and len(self._kept) < self._most
            and not self._closing
            and not connection.driver.is_closed()
            and not connection.driver.is_in_transaction()
            and _room_to_keep(self._engine.pool)
        ):
            self._kept.append(connection)
            if self._timer is None:
                self._timer = asyncio.get_running_loop().call_later(window, self._start_sweep)
            return
        await _give_back(self._engine.pool, connection)

    async def close(self) -> None:
        """Every kept connection back to the pool; later gives go there too."""
        self._closing = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        await self._give_back_all_but(0)
        if self._sweeps:
            await asyncio.gather(*self._sweeps, return_exceptions=True)

    def _start_sweep(self) -> None:
        self._timer = None
        task = asyncio.ensure_future(self._sweep())
        self._sweeps.add(task)
        task.add_done_callback(self._sweeps.discard)

    async def _sweep(self) -> None:
        """Give back what has been unused for the window; come back when the next one will have been."""
        window = self._keep_for()
        now = time.monotonic()
        kept = self._kept
        fresh = next((i for i, connection in enumerate(kept) if now - connection.used_at < window), len(kept))
        await self._give_back_all_but(len(kept) - fresh)
        if kept and self._timer is None and not self._closing:
            delay = max(kept[0].used_at + window - now, 0.0)
            self._timer = asyncio.get_running_loop().call_later(delay, self._start_sweep)

    async def _give_back_all_but(self, newest: int) -> None:
        """All but the `newest` kept connections back to the pool (taken off the list before any await)."""
        cut = len(self._kept) - newest
        old = self._kept[:cut]
        del self._kept[:cut]
        for connection in old:
            await _give_back(self._engine.pool, connection)


def _room_to_keep(pool: Pool) -> bool:
    """Whether the pool holds no overflow connection (keeping one out would keep that open) and, with
    this one kept out, still hands out a connection without opening an overflow one."""
    if not isinstance(pool, QueuePool):
        return False
    overflow = pool.overflow()
    return overflow < 0 or (overflow == 0 and pool.checkedin() > 0)


async def _give_back(pool: Pool, connection: PgConnection) -> None:
    """To the pool. One the pool would close (it already keeps as many as its size) is closed here
    first with asyncpg's own awaitable `close()`, and one the server closed is only dropped: see
    `_pool_is_full`. A connection cancelled mid-statement needs nothing more: asyncpg asks the server
    to cancel the statement and waits for that before the connection's next statement."""
    proxy, driver = connection.proxy, connection.driver
    drop = False
    try:
        drop = driver is None or driver.is_closed()
        if not drop and _pool_is_full(pool):
            drop = True
            await driver.close(timeout=2)
    finally:
        if drop:
            proxy.invalidate()  # already closed: the pool only drops it
        proxy.info["last_used_at"] = connection.used_at  # the pool's idle clock (store/db.py)
        proxy.close()


def _pool_is_full(pool: Pool) -> bool:
    """Whether a connection given back now would be one too many for the pool to keep.

    The pool then closes it on its return, and SQLAlchemy's asyncpg adapter can only close a
    connection gracefully inside its greenlet, which `PoolProxiedConnection.close()` is not: the
    close failed with `MissingGreenlet` (logged as an error) and asyncpg aborted the connection when
    it was collected. A burst of units can overflow the pool; reads only when
    STORE_FAST_READ_CONNECTIONS is set to the pool's size or more."""
    return isinstance(pool, QueuePool) and pool.checkedin() >= pool.size()

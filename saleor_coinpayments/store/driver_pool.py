"""PostgreSQL: one small asyncpg pool for the hot paths' point reads and point writes.

Through SQLAlchemy's pool a unit on the driver connection paid for the pool checkout, its events
and the adapter (about a quarter of a notification receipt's CPU), and a burst beyond the pool's
size opened and closed overflow connections. Here the hot paths share a pool of their own:

- A connection goes back without asyncpg's default reset query (advisory unlock, CLOSE ALL,
  UNLISTEN, RESET ALL: one more round trip and server work per use). Nothing on these connections
  sets session state, listens or takes advisory locks; an open transaction is still rolled back by
  asyncpg itself before the connection is handed out again.
- JSON goes in as SQLAlchemy's JSON type has already serialised it (its bind processor runs in
  store/point_writes.py) and comes out parsed, as SQLAlchemy's asyncpg dialect sets it up.

A connection the server has closed (restart, failover) is noticed by asyncpg and replaced on the
next acquire. One left idle for IDLE_CLOSE_SECONDS is closed and opened again when next needed: a
firewall or load balancer on the way may drop an idle connection without a word (some after four
minutes), and a statement sent on it would hang. A busy pool reuses its connections within
milliseconds and never reaches that age.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy.engine import URL

POOL_MAX = 10  # point reads and writes in flight at once per process; each holds it for round trips only
IDLE_CLOSE_SECONDS = 60.0


async def _keep_session(_connection: Any) -> None:
    """asyncpg has rolled back any open transaction already; nothing else needs undoing."""


async def _json_codecs(connection: Any) -> None:
    for type_name in ("json", "jsonb"):
        await connection.set_type_codec(type_name, encoder=_as_serialised, decoder=json.loads, schema="pg_catalog")


def _as_serialised(value: str) -> str:
    return value


class DriverPool:
    """Made on first use (asyncpg needs the running loop)."""

    def __init__(self, url: URL) -> None:
        self._dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._pool: Any = None  # asyncpg.Pool
        self._lock = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[Any]:
        pool = self._pool or await self._open()
        async with pool.acquire() as connection:
            yield connection

    async def fetchrow(self, sql: str, params: list[Any]) -> Any:
        pool = self._pool or await self._open()
        return await pool.fetchrow(sql, *params)

    async def _open(self) -> Any:
        import asyncpg  # type: ignore[import-untyped]  # only on PostgreSQL

        async with self._lock:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    self._dsn,
                    min_size=0,  # asyncpg keeps its floor connections however long they idle
                    max_size=POOL_MAX,
                    max_inactive_connection_lifetime=IDLE_CLOSE_SECONDS,
                    init=_json_codecs,
                    reset=_keep_session,
                )
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

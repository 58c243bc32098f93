"""Write units of a few statements for the hot paths, run straight on the writer's driver connection.

A notification's receipt is two statements (record it once, make its payment due now). Through an
AsyncSession that costs about 0.6 ms of CPU, almost all of it SQLAlchemy's per-statement machinery;
the statements themselves cost tens of µs. Here each statement is SQLAlchemy Core, compiled once
per dialect with its bind processors (the same conversions the ORM applies), and the unit runs on
the writer's own connection, taken from its pool in turn like any `session(write=True)`:

- SQLite: the in-loop connection (store/inline_sqlite.py): `BEGIN IMMEDIATE`, waiting for another
  process's lock with asyncio sleeps, the statements, `COMMIT`; then the group fsync.
- PostgreSQL: asyncpg, in a transaction: one round trip per statement, prepared once per connection.

Only statements that need nothing back but their row counts belong here: anything that reads and
decides stays in `Database.session(write=True)`.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ColumnDefault
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.expression import UpdateBase

from saleor_coinpayments.store import inline_sqlite

WriteStep = tuple[UpdateBase, dict[str, Any]]


class _Compiled:
    """One statement as the driver takes it: SQL text and a function from values to its parameters."""

    def __init__(self, statement: UpdateBase, keys: Sequence[str], engine: AsyncEngine) -> None:
        # As SQLAlchemy compiles for an execution: an INSERT gets the columns given values.
        compiled = statement.compile(dialect=engine.dialect, column_keys=list(keys))
        self.sql = compiled.string
        order = list(compiled.positiontup or [])
        processors = compiled._bind_processors  # SQLAlchemy's own, per name
        self._conversions: list[tuple[str, Callable[[Any], Any] | None]] = []
        for name in order:
            convert = processors.get(name)
            if convert is not None and not callable(convert):
                raise TypeError(f"{name}: an expanding (tuple) parameter has no place in a point write")
            self._conversions.append((name, convert))
        # Python-side column defaults the statement leaves to the caller (`updated_at`'s onupdate).
        self._defaults: list[tuple[str, ColumnDefault]] = []
        prefetched = [(c, c.default) for c in compiled.insert_prefetch] + [
            (c, c.onupdate) for c in compiled.update_prefetch
        ]
        for column, default in prefetched:
            if not isinstance(default, ColumnDefault):
                raise TypeError(f"{column.key}: only Python-side defaults are computed here")
            self._defaults.append((column.key, default))

    def params(self, values: dict[str, Any]) -> list[Any]:
        if self._defaults:
            values = values | {
                key: default.arg if default.is_scalar else default.arg(None) for key, default in self._defaults
            }
        return [
            values[name] if convert is None or values[name] is None else convert(values[name])
            for name, convert in self._conversions
        ]


def _row_count(status: str) -> int:
    """asyncpg's command tag: "INSERT 0 1", "UPDATE 3", "DELETE 0"."""
    return int(status.rsplit(" ", 1)[-1])


class PointWrites:
    """See the module docstring. `durable` is SQLite's group commit (None on PostgreSQL)."""

    def __init__(self, write_engine: AsyncEngine, durable: inline_sqlite.DurableCommits | None) -> None:
        self._engine = write_engine
        self._durable = durable
        self._is_sqlite = write_engine.dialect.name == "sqlite"
        self._compiled: dict[tuple[int, tuple[str, ...]], _Compiled] = {}

    @property
    def is_postgres(self) -> bool:
        return not self._is_sqlite

    def _statement(self, statement: UpdateBase, values: dict[str, Any]) -> _Compiled:
        # By identity: the hot paths' statements are module constants, built once.
        key = (id(statement), tuple(values))
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = _Compiled(statement, key[1], self._engine)
        return compiled

    async def run(self, steps: Sequence[WriteStep]) -> list[int]:
        """The statements in order, in one transaction; the number of rows each one changed."""
        work = [(self._statement(statement, values), values) for statement, values in steps]
        async with self._engine.connect() as connection:
            raw = await connection.get_raw_connection()
            driver = raw.driver_connection
            if self._is_sqlite:
                counts = await self._sqlite_unit(driver._conn, work)  # type: ignore[union-attr]
            else:
                counts = await self._postgres_unit(driver, work)
        if self._durable is not None:
            await self._durable.wait()
        return counts

    async def _sqlite_unit(self, db: sqlite3.Connection, work: list[tuple[_Compiled, dict[str, Any]]]) -> list[int]:
        for delay in inline_sqlite.lock_wait_delays():
            try:
                db.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError as exc:
                if delay is None or not inline_sqlite.is_busy(exc):
                    raise
            await asyncio.sleep(delay)
        try:
            counts = [db.execute(compiled.sql, compiled.params(values)).rowcount for compiled, values in work]
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        if self._durable is not None:
            self._durable.committed()
        return counts

    @staticmethod
    async def _postgres_unit(db: Any, work: list[tuple[_Compiled, dict[str, Any]]]) -> list[int]:
        async with db.transaction():
            return [_row_count(await db.execute(compiled.sql, *compiled.params(values))) for compiled, values in work]

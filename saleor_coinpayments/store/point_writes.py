"""Write units of a few statements for the hot paths, run straight on the driver.

A rate-limit booking is one statement, a notification's receipt two (one on PostgreSQL: make its
payment due now, record it once). Through an AsyncSession each such unit cost about 0.6 ms of CPU,
almost all of it SQLAlchemy's per-statement machinery; the statements themselves cost tens of µs.
Here each statement is SQLAlchemy Core, compiled once per dialect with its bind processors (the
same conversions the ORM applies), and the unit runs on the driver:

- SQLite: the writer's in-loop connection (store/inline_sqlite.py), taken from its pool in turn
  like any `session(write=True)`: `BEGIN IMMEDIATE`, waiting for another process's lock with
  asyncio sleeps, the statements, `COMMIT`; then the group fsync.
- PostgreSQL: a connection of the hot paths' asyncpg pool (store/driver_pool.py), in a
  transaction: one round trip per statement, prepared once per connection.

A unit (`PointWrites.unit`) may also read a row, locked, and decide in between: a notification's
re-read that changes nothing Saleor must hear of (no outbox rows) runs its whole transition here,
and initialize stores its new invoice here (`save_changes_step` writes back what it set). Anything
larger stays in `Database.session(write=True)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, Protocol

from sqlalchemy import ColumnDefault, Select, Table, bindparam, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.sql.expression import UpdateBase

from saleor_coinpayments.store import inline_sqlite
from saleor_coinpayments.store.driver_pool import DriverPool
from saleor_coinpayments.store.point_reads import CompiledRead, sqlite_fetch_one

WriteStep = tuple[UpdateBase, dict[str, Any]]
# A statement that gives back one row: DML with RETURNING, or a SELECT around DML in CTEs.
Returning = UpdateBase | Select[Any]


class _Compiled:
    """One statement as the driver takes it: SQL text and a function from values to its parameters."""

    def __init__(self, statement: Returning, keys: Sequence[str], engine: AsyncEngine) -> None:
        # As SQLAlchemy compiles for an execution: an INSERT gets the columns given values.
        # A SELECT around DML in CTEs takes only the values its statements name.
        column_keys = list(keys) if isinstance(statement, UpdateBase) else None
        compiled = statement.compile(dialect=engine.dialect, column_keys=column_keys)
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
        # Literals the statement carries as parameters (SQLite's `julianday('now')`).
        given = set(keys) | {key for key, _ in self._defaults}
        self._literals = {
            name: compiled.binds[name].effective_value
            for name in order
            if name not in given and not compiled.binds[name].required
        }

    def params(self, values: dict[str, Any]) -> list[Any]:
        if self._literals:
            values = values | self._literals
        if self._defaults:
            values = values | {
                key: default.arg if default.is_scalar else default.arg(None) for key, default in self._defaults
            }
        return [
            values[name] if convert is None or values[name] is None else convert(values[name])
            for name, convert in self._conversions
        ]


_SAVES: dict[tuple[str, tuple[str, ...]], UpdateBase] = {}


def save_changes_step(table: Table, instance: Any) -> WriteStep:
    """The columns set on `instance` since it was loaded (a row read in a unit and made an object
    with point_reads.detached_payment), written back by its `id`: the ORM's flush as a point write."""
    names = tuple(sorted(instance_state(instance).committed_state))
    unknown = [name for name in names if name not in table.c]
    if unknown:
        raise TypeError(f"{table.name} has no column {unknown[0]}")
    statement = _SAVES.get((table.name, names))
    if statement is None:
        statement = _SAVES[(table.name, names)] = (
            update(table)
            .where(table.c.id == bindparam("of_id"))
            .values({name: bindparam(f"new_{name}") for name in names})
        )
    return statement, {"of_id": instance.id, **{f"new_{name}": getattr(instance, name) for name in names}}


def _row_count(status: str) -> int:
    """asyncpg's command tag: "INSERT 0 1", "UPDATE 3", "DELETE 0"."""
    return int(status.rsplit(" ", 1)[-1])


class PointUnit(Protocol):
    """One unit of work on the writer's driver connection: statements and locked row reads."""

    async def execute(self, statement: UpdateBase, values: dict[str, Any]) -> int:
        """Run one statement; the number of rows it changed."""
        ...

    async def fetch_one(self, statement: Returning, values: dict[str, Any]) -> tuple[Any, ...] | None:
        """Run one statement that returns rows; its first row, as the driver gives it."""
        ...

    async def row(self, table: Table, key: dict[str, str]) -> dict[str, Any] | None:
        """The row of `table` whose unique key columns hold these values, as the ORM would load
        it, locked until the unit ends (FOR UPDATE on PostgreSQL; SQLite's writer holds the file)."""
        ...


class _SqliteUnit:
    """Inside `BEGIN IMMEDIATE` on the in-loop connection: every call runs at once, no await."""

    def __init__(self, writes: PointWrites, db: sqlite3.Connection) -> None:
        self._writes = writes
        self._db = db

    async def execute(self, statement: UpdateBase, values: dict[str, Any]) -> int:
        compiled = self._writes.statement(statement, values)
        return self._db.execute(compiled.sql, compiled.params(values)).rowcount

    async def fetch_one(self, statement: Returning, values: dict[str, Any]) -> tuple[Any, ...] | None:
        compiled = self._writes.statement(statement, values)
        return sqlite_fetch_one(self._db, compiled.sql, compiled.params(values))

    async def row(self, table: Table, key: dict[str, str]) -> dict[str, Any] | None:
        query = self._writes.query(table, tuple(key))
        raw = sqlite_fetch_one(self._db, query.sql, query.params(key))
        return None if raw is None else query.row(raw)


class _PostgresUnit:
    """asyncpg, one round trip per call (each statement prepared once per connection)."""

    def __init__(self, writes: PointWrites, db: Any) -> None:
        self._writes = writes
        self._db = db

    async def execute(self, statement: UpdateBase, values: dict[str, Any]) -> int:
        compiled = self._writes.statement(statement, values)
        return _row_count(await self._db.execute(compiled.sql, *compiled.params(values)))

    async def fetch_one(self, statement: Returning, values: dict[str, Any]) -> tuple[Any, ...] | None:
        compiled = self._writes.statement(statement, values)
        raw = await self._db.fetchrow(compiled.sql, *compiled.params(values))
        return None if raw is None else tuple(raw)

    async def row(self, table: Table, key: dict[str, str]) -> dict[str, Any] | None:
        query = self._writes.query(table, tuple(key))
        raw = await self._db.fetchrow(query.sql, *query.params(key))
        return None if raw is None else query.row(tuple(raw))


class PointWrites:
    """See the module docstring. SQLite: `write_engine` is the writer's and `durable` its group
    commit; PostgreSQL: `pool` is the hot paths' pool."""

    def __init__(
        self, write_engine: AsyncEngine, durable: inline_sqlite.DurableCommits | None, pool: DriverPool | None
    ) -> None:
        self._engine = write_engine
        self._durable = durable
        self._pool = pool
        self._is_sqlite = pool is None
        self._statements: dict[tuple[int, tuple[str, ...]], _Compiled] = {}
        self._queries: dict[tuple[str, tuple[str, ...]], CompiledRead] = {}

    @property
    def is_postgres(self) -> bool:
        return not self._is_sqlite

    def statement(self, statement: Returning, values: dict[str, Any]) -> _Compiled:
        # By identity: the hot paths' statements are module constants, built once.
        key = (id(statement), tuple(values))
        compiled = self._statements.get(key)
        if compiled is None:
            compiled = self._statements[key] = _Compiled(statement, key[1], self._engine)
        return compiled

    def query(self, table: Table, key_names: tuple[str, ...]) -> CompiledRead:
        compiled = self._queries.get((table.name, key_names))
        if compiled is None:
            compiled = CompiledRead(self._engine.dialect, table, key_names, for_update=True)
            self._queries[(table.name, key_names)] = compiled
        return compiled

    async def fetch_row(self, statement: Returning, values: dict[str, Any], table: Table) -> dict[str, Any] | None:
        """One statement whose RETURNING gives every column of `table` in order, as a unit of its
        own: the row as the ORM would load it, or None when it gave none (an ignored insert)."""
        async with self.unit(atomic=False) as unit:
            raw = await unit.fetch_one(statement, values)
        return None if raw is None else self.query(table, ("id",)).row(raw)

    async def run(self, steps: Sequence[WriteStep], *, atomic: bool = True) -> list[int]:
        """The statements in order, in one transaction; the number of rows each one changed.

        `atomic=False` for steps ordered so that a crash after any of them leaves a state as good
        as before it: PostgreSQL then runs each on its own (two round trips fewer, BEGIN and
        COMMIT); SQLite still makes them one transaction, which costs it nothing extra."""
        async with self.unit(atomic=atomic) as unit:
            return [await unit.execute(statement, values) for statement, values in steps]

    @contextlib.asynccontextmanager
    async def unit(self, *, atomic: bool = True) -> AsyncIterator[PointUnit]:
        """A unit of work, committed if the block succeeds and rolled back if it raises; on SQLite
        it returns once its commit is on disk (after letting the writer go)."""
        if self._pool is not None:
            async with self._pool.connection() as connection:
                if atomic:
                    async with connection.transaction():
                        yield _PostgresUnit(self, connection)
                else:
                    yield _PostgresUnit(self, connection)
            return
        async with self._engine.connect() as engine_connection:
            driver = (await engine_connection.get_raw_connection()).driver_connection
            async with self._sqlite_transaction(driver._conn) as db:  # type: ignore[union-attr]
                yield _SqliteUnit(self, db)
        if self._durable is not None:
            await self._durable.wait()

    @contextlib.asynccontextmanager
    async def _sqlite_transaction(self, db: sqlite3.Connection) -> AsyncIterator[sqlite3.Connection]:
        for delay in inline_sqlite.begin_attempts(lambda: db.execute("BEGIN IMMEDIATE")):
            await asyncio.sleep(delay)
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        if self._durable is not None:
            self._durable.noted()

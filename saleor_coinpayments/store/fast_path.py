"""The fast path: the hot statements, run on the driver connection without the ORM session.

The second of the store's two ways to run a statement (store/__init__.py names both). A
transactionProcess poll, a pay-page read, a notification's receipt and re-read, initialize's claim
and its stored invoice, and the rate-limit booking before every CoinPayments call each run a few
statements whose own cost is tens of µs; through an AsyncSession each unit cost about ten times
that in SQLAlchemy's per-statement machinery. Here a statement is compiled once per database kind
and run on the driver:

- PostgreSQL: the engine's own pool; the unit takes a connection (`AsyncEngine.raw_connection()`,
  its asyncpg connection) and runs each statement in one round trip. A connection it is done with
  is kept a moment for the next read or unit (store/pg_connections.py, STORE_FAST_KEPT_CONNECTIONS).
  Reads (`FastPath.read`) hold at most STORE_FAST_READ_CONNECTIONS connections at once; more wait
  their turn in the process (see `FastPath._read_turn`).
- SQLite: with STORE_SQLITE_IN_LOOP (default) the process's writer and reader connections run in the
  event loop's thread (store/sqlite_in_loop.py); without it the writer engine's aiosqlite
  connection, through aiosqlite's public API.

When it may be used — all of these, or the statement belongs in `Database.session()`:

1. The statement is hot: it runs on a request's path or once per notification or CoinPayments call.
2. It is a `HotStatement`, declared once as a module constant: it keeps its compiled forms itself.
3. It is SQLAlchemy Core over `core_table(...)`: no ORM relationship, no event, no lazy load. Values
   go through the columns' own types (`TypeEngine.bind_processor`), and Python-side column defaults
   (`updated_at`'s onupdate) are computed, as the ORM would; rows come back through the types'
   result processors. An IN list (expanding parameter) is refused.
4. A unit reads what it changes inside the unit (`HotUnit.locked`): FOR UPDATE on PostgreSQL; on
   SQLite the unit holds the write lock from its `BEGIN IMMEDIATE`.
5. A unit never awaits anything but its own statements (no network, no other unit): on SQLite it
   holds the process's writer turn for its whole length.
6. One write path per state change: a change goes through here or through a session, never both.

STORE_FAST_PATH=false sends the same statements through `Database.session()` instead (same units,
same locks), so bench can measure what this path is worth.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import ColumnDefault, Table, bindparam, inspect, select, update
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import configure_mappers, make_transient_to_detached
from sqlalchemy.sql.expression import Select, UpdateBase
from sqlalchemy.types import TypeEngine

from saleor_coinpayments.store.dialects import BEGIN_WRITE, insert_or_ignore_statement, locked
from saleor_coinpayments.store.pg_connections import PgConnections
from saleor_coinpayments.store.sqlite_in_loop import SqliteInLoop, is_busy
from saleor_coinpayments.store.tables import Base, core_table

if TYPE_CHECKING:
    from saleor_coinpayments.store.db import Database

Entity = TypeVar("Entity", bound=Base)
Processor = Callable[[Any], Any] | None
Statement = UpdateBase | Select[Any]


class HotStatement:
    """A statement of the fast path, built once per database kind by `build(dialect_name)`.

    Declare it as a module constant: its compiled forms live on it, so a statement built per call
    is still correct, only compiled per call."""

    def __init__(self, build: Callable[[str], Statement]) -> None:
        self._build = build
        self._built: dict[str, Statement] = {}
        self._compiled: dict[tuple[str, tuple[str, ...]], CompiledStatement] = {}

    @classmethod
    def of(cls, statement: Statement) -> HotStatement:
        """The same statement on every database."""
        return cls(lambda _dialect_name: statement)

    @classmethod
    def insert_or_ignore(
        cls, entity: type[Base], conflict_columns: Sequence[str], *, returning_row: bool = False
    ) -> HotStatement:
        """`INSERT … ON CONFLICT (conflict_columns) DO NOTHING` in each database's form; with
        `returning_row`, RETURNING every column (no row when the insert was ignored)."""

        def build(dialect_name: str) -> Statement:
            insert = insert_or_ignore_statement(dialect_name, entity, conflict_columns)
            return insert.returning(*core_table(entity).c) if returning_row else insert

        return cls(build)

    def statement(self, dialect_name: str) -> Statement:
        built = self._built.get(dialect_name)
        if built is None:
            built = self._built[dialect_name] = self._build(dialect_name)
        return built

    def compiled(self, dialect: Dialect, keys: tuple[str, ...]) -> CompiledStatement:
        compiled = self._compiled.get((dialect.name, keys))
        if compiled is None:
            compiled = CompiledStatement(self.statement(dialect.name), dialect, keys)
            self._compiled[(dialect.name, keys)] = compiled
        return compiled


# One statement of a unit and its values.
WriteStep = tuple[HotStatement, dict[str, Any]]


def _result_processor(column_type: TypeEngine[Any], dialect: Dialect) -> Processor:
    """The type's conversion of what the driver gives. asyncpg's numerics choose theirs by the
    driver's column type, which only a cursor knows: they get none, as asyncpg already gives a
    double precision as a float and a numeric as a Decimal."""
    try:
        return column_type.dialect_impl(dialect).result_processor(dialect, None)
    except (InvalidRequestError, TypeError):
        return None


class CompiledStatement:
    """One statement as the driver takes it: its SQL, a function from values to the driver's
    parameters, and one from the driver's row to the values the columns' types give."""

    def __init__(self, statement: Statement, dialect: Dialect, keys: Sequence[str]) -> None:
        # As SQLAlchemy compiles for an execution: an INSERT or UPDATE gets the columns given values.
        column_keys = list(keys) if isinstance(statement, UpdateBase) else None
        compiled = statement.compile(dialect=dialect, column_keys=column_keys)
        self.sql = compiled.string
        self._conversions: list[tuple[str, Processor]] = []
        for name in compiled.positiontup or ():
            bind = compiled.binds[name]
            if bind.expanding:
                raise TypeError(f"{name}: an IN list (expanding parameter) has no place on the fast path")
            self._conversions.append((name, bind.type.dialect_impl(dialect).bind_processor(dialect)))
        # Python-side column defaults the statement leaves to the caller (`updated_at`'s onupdate).
        self._defaults: list[tuple[str, ColumnDefault]] = []
        prefetched = [(c, c.default) for c in compiled.insert_prefetch] + [
            (c, c.onupdate) for c in compiled.update_prefetch
        ]
        for column, default in prefetched:
            if not isinstance(default, ColumnDefault):
                raise TypeError(f"{column.key}: only Python-side defaults are computed on the fast path")
            self._defaults.append((column.key, default))
        # Literals the statement carries as parameters (SQLite's `julianday('now')`).
        given = set(keys) | {key for key, _ in self._defaults}
        self._literals = {
            name: compiled.binds[name].effective_value
            for name, _ in self._conversions
            if name not in given and not compiled.binds[name].required
        }
        self._results = [_result_processor(column.type, dialect) for column in statement.exported_columns]

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

    def row(self, raw: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(
            value if process is None or value is None else process(value)
            for process, value in zip(self._results, raw, strict=True)
        )


def detached(entity: type[Entity], values: dict[str, Any]) -> Entity:
    """An ORM object that no session knows, loaded as if read (nothing marked as changed), so
    `changed_columns` later names exactly what the caller set."""
    mapper = inspect(entity)
    if not mapper.configured:  # the first ORM query would do it; the fast path may come first
        configure_mappers()
    instance = cast(Entity, mapper.class_manager.new_instance())
    inspect(instance).dict.update(values)
    make_transient_to_detached(instance)
    return instance


def changed_columns(instance: Base) -> list[str]:
    """The columns set on a `detached` object since it was loaded."""
    state = inspect(instance)
    return sorted(set(state.mapper.columns.keys()) - state.unmodified)


_KEYED: dict[tuple[str, tuple[str, ...], bool], HotStatement] = {}
_SAVES: dict[tuple[str, tuple[str, ...], str | None], HotStatement] = {}


def _by_key(table: Table, names: tuple[str, ...], *, lock: bool) -> HotStatement:
    """`SELECT <every column> FROM table WHERE <names> = :<names>`, locked for a unit (store/dialects.py)."""
    hot = _KEYED.get((table.name, names, lock))
    if hot is None:
        query = select(table).where(*(table.c[name] == bindparam(name) for name in names))
        hot = _KEYED[(table.name, names, lock)] = HotStatement.of(locked(query) if lock else query)
    return hot


def save_step(instance: Base, *, while_null: str | None = None) -> WriteStep:
    """The columns set on a `detached` object since it was loaded, written back by its `id`: the
    ORM's flush as one fast-path statement. With `while_null`, only while that column is still
    NULL in the database: a first-writer-wins write that needs no lock (it changes no row when
    another writer set the column first)."""
    table = core_table(type(instance))
    names = tuple(changed_columns(instance))
    hot = _SAVES.get((table.name, names, while_null))
    if hot is None:
        statement = update(table).where(table.c.id == bindparam("of_id"))
        if while_null is not None:
            statement = statement.where(table.c[while_null].is_(None))
        statement = statement.values({name: bindparam(f"new_{name}") for name in names})
        hot = _SAVES[(table.name, names, while_null)] = HotStatement.of(statement)
    return hot, {"of_id": getattr(instance, "id"), **{f"new_{name}": getattr(instance, name) for name in names}}  # noqa: B009


def _row_values(table: Table, row: Sequence[Any]) -> dict[str, Any]:
    return {column.key: value for column, value in zip(table.columns, row, strict=True)}


class HotUnit:
    """One unit of work on the fast path: statements and locked reads, committed together."""

    async def execute(self, hot: HotStatement, values: dict[str, Any]) -> int:
        """Run one statement; the number of rows it changed."""
        raise NotImplementedError

    async def fetch_one(self, hot: HotStatement, values: dict[str, Any]) -> tuple[Any, ...] | None:
        """Run one statement that gives rows (a SELECT, or DML with RETURNING); its first row."""
        raise NotImplementedError

    async def locked(self, entity: type[Entity], **key: str) -> Entity | None:
        """The row of `entity` whose unique key columns hold these values, locked until the unit
        ends, as a `detached` object (`save_step` writes back what the caller changes)."""
        table = core_table(entity)
        row = await self.fetch_one(_by_key(table, tuple(key), lock=True), key)
        return None if row is None else detached(entity, _row_values(table, row))

    async def run(self, steps: Sequence[WriteStep]) -> list[int]:
        return [await self.execute(hot, values) for hot, values in steps]


class _DriverUnit(HotUnit):
    """Statements compiled by `CompiledStatement`, run by a driver connection."""

    def __init__(self, dialect: Dialect, execute: _Execute, fetch: _Fetch) -> None:
        self._dialect = dialect
        self._execute = execute
        self._fetch = fetch

    async def execute(self, hot: HotStatement, values: dict[str, Any]) -> int:
        compiled = hot.compiled(self._dialect, tuple(values))
        return await self._execute(compiled.sql, compiled.params(values))

    async def fetch_one(self, hot: HotStatement, values: dict[str, Any]) -> tuple[Any, ...] | None:
        compiled = hot.compiled(self._dialect, tuple(values))
        raw = await self._fetch(compiled.sql, compiled.params(values))
        return None if raw is None else compiled.row(raw)


_Execute = Callable[[str, list[Any]], Any]  # async (sql, params) -> rows changed
_Fetch = Callable[[str, list[Any]], Any]  # async (sql, params) -> first row or None


class _SessionUnit(HotUnit):
    """STORE_FAST_PATH=false: the same statements through an ORM session's transaction."""

    def __init__(self, session: AsyncSession, dialect_name: str) -> None:
        self._session = session
        self._dialect_name = dialect_name

    async def execute(self, hot: HotStatement, values: dict[str, Any]) -> int:
        result = await self._session.execute(hot.statement(self._dialect_name), values)
        return int(getattr(result, "rowcount", 0) or 0)

    async def fetch_one(self, hot: HotStatement, values: dict[str, Any]) -> tuple[Any, ...] | None:
        row = (await self._session.execute(hot.statement(self._dialect_name), values)).first()
        return None if row is None else tuple(row)


def _asyncpg_count(status: str) -> int:
    """asyncpg's command tag: "INSERT 0 1", "UPDATE 3", "DELETE 0"."""
    return int(status.rsplit(" ", 1)[-1])


class FastPath:
    """See the module docstring. `Database.fast` is the process's one instance."""

    def __init__(
        self,
        db: Database,
        *,
        enabled: bool,
        in_loop: SqliteInLoop | None,
        read_connections: int = 0,
        kept_connections: int = 0,
    ) -> None:
        self._db = db
        self.enabled = enabled
        self._in_loop = in_loop
        self.dialect: Dialect = db.engine.dialect
        self._read_turns = (
            asyncio.Semaphore(read_connections) if enabled and self.is_postgres and read_connections > 0 else None
        )
        self._pg = PgConnections(db.engine, most=kept_connections, keep_for=db.keep_seconds)

    async def close(self) -> None:
        """PostgreSQL: the connections kept between uses back to the pool (`Database.dispose`)."""
        await self._pg.close()

    @property
    def is_postgres(self) -> bool:
        return self.dialect.name == "postgresql"

    async def read(self, entity: type[Entity], **key: str) -> Entity | None:
        """The row of `entity` whose unique key columns hold these values, as a `detached` object;
        its own snapshot of committed data. Never the start of a read-modify-write (`HotUnit.locked`)."""
        table = core_table(entity)
        hot = _by_key(table, tuple(key), lock=False)
        row = await self._read_one(hot, key)
        return None if row is None else detached(entity, _row_values(table, row))

    async def fetch_one(self, hot: HotStatement, values: dict[str, Any]) -> tuple[Any, ...] | None:
        """One statement that gives rows, as a unit of its own (not atomic with anything else)."""
        async with self.unit(atomic=False) as unit:
            return await unit.fetch_one(hot, values)

    async def run(self, steps: Sequence[WriteStep], *, atomic: bool = True) -> list[int]:
        """The statements in order, in one unit; the number of rows each changed."""
        async with self.unit(atomic=atomic) as unit:
            return await unit.run(steps)

    @contextlib.asynccontextmanager
    async def unit(self, *, atomic: bool = True) -> AsyncIterator[HotUnit]:
        """A unit of work, committed if the block succeeds and rolled back if it raises.

        `atomic=False` for statements ordered so that a crash after any of them leaves a state as
        good as before it: PostgreSQL then runs each on its own (no BEGIN and COMMIT round trips);
        SQLite still makes them one transaction, which costs it nothing extra."""
        if not self.enabled:
            async with self._db.session(write=True) as session:
                yield _SessionUnit(session, self.dialect.name)
        elif self._in_loop is not None:
            async with self._in_loop.unit() as (execute, fetch):
                yield _DriverUnit(self.dialect, execute, fetch)
        elif self.is_postgres:
            async with self._asyncpg() as connection:
                unit = _DriverUnit(self.dialect, self._asyncpg_execute(connection), self._asyncpg_fetch(connection))
                if atomic:
                    async with connection.transaction():
                        yield unit
                else:
                    yield unit
        else:
            # The writer engine's connection waits for another process's lock in its own thread.
            async with self._db.writer_turn(), self._aiosqlite(self._db.write_engine) as connection:
                await connection.execute(BEGIN_WRITE)
                try:
                    yield _DriverUnit(
                        self.dialect, self._aiosqlite_execute(connection), self._aiosqlite_fetch(connection)
                    )
                    await connection.commit()
                except BaseException:
                    await connection.rollback()
                    raise

    async def _read_one(self, hot: HotStatement, values: dict[str, Any]) -> tuple[Any, ...] | None:
        if not self.enabled:
            async with self._db.session() as session:
                return await _SessionUnit(session, self.dialect.name).fetch_one(hot, values)
        compiled = hot.compiled(self.dialect, tuple(values))
        params = compiled.params(values)
        raw: Sequence[Any] | None
        if self._in_loop is not None:
            try:
                raw = self._in_loop.read_one(compiled.sql, params)
            except sqlite3.OperationalError as exc:  # WAL recovery elsewhere (rare): read the ordinary way
                if not is_busy(exc):
                    raise
                async with self._aiosqlite(self._db.engine) as connection:
                    raw = await self._aiosqlite_fetch(connection)(compiled.sql, params)
        elif self.is_postgres:
            async with self._read_turn(), self._asyncpg() as connection:
                raw = await connection.fetchrow(compiled.sql, *params)
        else:
            async with self._aiosqlite(self._db.engine) as connection:
                raw = await self._aiosqlite_fetch(connection)(compiled.sql, params)
        return None if raw is None else compiled.row(raw)

    @contextlib.asynccontextmanager
    async def _read_turn(self) -> AsyncIterator[None]:
        """PostgreSQL: a turn to hold a pooled connection for one read (STORE_FAST_READ_CONNECTIONS).

        With more reads in flight than the pool keeps (32 polls at once), the pool would overflow:
        it opens a connection for the read and closes it when the read gives it back, about 2 ms of
        the app's CPU and 3 ms of the server's (a backend process started, the driver's type codecs
        set up, the statement prepared again), where the read itself costs a tenth of a millisecond.
        Waiting for a turn costs nothing, and the database is no faster with more reads at once.
        Only reads take turns: a read waits for no row lock, so a turn comes back within one statement
        (and the pool checkout before it, as without turns). A unit, which may wait for a lock, never
        takes one. The default cap (16) stays below the pool's size (20), so reads alone never make
        it overflow."""
        if self._read_turns is None:
            yield
            return
        async with self._read_turns:
            yield

    # --------------------------------------------------------------- drivers, by their public API

    @contextlib.asynccontextmanager
    async def _asyncpg(self) -> AsyncIterator[Any]:
        """An asyncpg connection: kept from the fast path's last use, or from the engine's pool
        (whose checkout events ping an idle one); see store/pg_connections.py."""
        connection = await self._pg.take()
        clean_exit = False
        try:
            yield connection.driver
            clean_exit = True
        finally:
            await self._pg.give(connection, clean_exit=clean_exit)

    @staticmethod
    def _asyncpg_execute(connection: Any) -> _Execute:
        async def execute(sql: str, params: list[Any]) -> int:
            return _asyncpg_count(await connection.execute(sql, *params))

        return execute

    @staticmethod
    def _asyncpg_fetch(connection: Any) -> _Fetch:
        async def fetch(sql: str, params: list[Any]) -> Sequence[Any] | None:
            return await connection.fetchrow(sql, *params)

        return fetch

    @staticmethod
    @contextlib.asynccontextmanager
    async def _aiosqlite(engine: AsyncEngine) -> AsyncIterator[Any]:
        """An aiosqlite connection of the engine's pool (each call a hop to its thread)."""
        async with engine.connect() as connection:
            yield (await connection.get_raw_connection()).driver_connection

    @staticmethod
    def _aiosqlite_execute(connection: Any) -> _Execute:
        async def execute(sql: str, params: list[Any]) -> int:
            async with connection.execute(sql, params) as cursor:
                return int(cursor.rowcount)

        return execute

    @staticmethod
    def _aiosqlite_fetch(connection: Any) -> _Fetch:
        async def fetch(sql: str, params: list[Any]) -> Sequence[Any] | None:
            async with connection.execute(sql, params) as cursor:
                return await cursor.fetchone()

        return fetch

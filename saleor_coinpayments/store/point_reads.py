"""Point reads for the hot paths: one payment by a unique key, without the ORM's cost.

A transactionProcess poll, a pay-page status read or a notification's lookup reads one row by a
unique key. Through an AsyncSession that costs about 1.3 ms of CPU (session, pool checkout,
greenlet, five to seven aiosqlite thread hops, ORM loading); the statement itself costs about
20 µs. Here the statement is SQLAlchemy Core, compiled once per dialect, and runs straight on the
driver:

- SQLite: a read-only connection used in the event loop itself. A read in WAL mode never waits for
  a writer and costs less than one thread hop would. `busy_timeout` is 0, so the loop never sleeps
  in SQLite: in the rare case it answers "busy" (WAL recovery), the read goes the ordinary way.
- PostgreSQL: the hot paths' own asyncpg pool (store/driver_pool.py).

Rows come back as detached `Payment` objects, converted by the same column types the ORM uses.
Each read is its own snapshot of committed data. Nothing here writes: a read-modify-write belongs
in `Database.session(write=True)`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Table, bindparam, select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Mapper, configure_mappers

from saleor_coinpayments.store.driver_pool import DriverPool
from saleor_coinpayments.store.tables import Payment, core_table

Processor = Callable[[Any], Any] | None

PAYMENTS = core_table(Payment)


class CompiledRead:
    """A `SELECT <all columns> FROM <table> WHERE <key columns> = :params`, ready for the driver."""

    def __init__(self, dialect: Dialect, table: Table, key_names: Sequence[str], *, for_update: bool = False) -> None:
        key_columns = [table.c[name] for name in key_names]
        statement = select(table).where(*(column == bindparam(column.key) for column in key_columns))
        if for_update:  # PostgreSQL's row lock; SQLite renders nothing (its writer holds the file)
            statement = statement.with_for_update()
        compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        self.param_order = list(compiled.positiontup or [])
        self.names = [column.key for column in table.columns]
        self.processors: list[Processor] = [
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in table.columns
        ]

    def params(self, values: dict[str, str]) -> list[str]:
        return [values[name] for name in self.param_order]

    def row(self, raw: Sequence[Any]) -> dict[str, Any]:
        return {
            name: (value if processor is None or value is None else processor(value))
            for name, processor, value in zip(self.names, self.processors, raw, strict=True)
        }


def sqlite_fetch_one(db: sqlite3.Connection, sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
    """One row, in the calling thread, with its cursor closed at once."""
    cursor = db.execute(sql, params)
    try:
        row = cursor.fetchone()
    finally:
        cursor.close()
    return None if row is None else tuple(row)


def detached_payment(values: dict[str, Any]) -> Payment:
    """A `Payment` that no session knows, loaded as if read (nothing is marked as changed)."""
    mapper: Mapper[Payment] = Payment.__mapper__
    if not mapper.configured:  # the first ORM use would do it; here no query has run yet
        configure_mappers()
    payment = mapper.class_manager.new_instance()
    state = mapper.class_manager.state_getter()(payment)
    state.dict.update(values)
    state._commit_all(state.dict)
    state.key = mapper.identity_key_from_primary_key((values["id"],))
    return payment


class PointReads:
    """Reads of one payment by a unique key (see the module docstring)."""

    def __init__(self, engine: AsyncEngine, pool: DriverPool | None) -> None:
        """`pool` on PostgreSQL, None on SQLite."""
        self._engine = engine
        self._dialect = engine.dialect
        self._url = engine.url
        self._is_sqlite = pool is None
        self._sqlite: sqlite3.Connection | None = None
        self._pool = pool
        self._statements: dict[tuple[str, ...], CompiledRead] = {}

    async def payment_by_transaction(self, installation_id: str, transaction_id: str) -> Payment | None:
        return await self._payment(installation_id=installation_id, saleor_transaction_id=transaction_id)

    async def payment(self, payment_id: str) -> Payment | None:
        return await self._payment(id=payment_id)

    async def payment_by_invoice(self, invoice_id: str) -> Payment | None:
        return await self._payment(invoice_id=invoice_id)

    async def payment_by_pay_token_hash(self, token_hash: str) -> Payment | None:
        return await self._payment(pay_token_hash=token_hash)

    async def _payment(self, **key: str) -> Payment | None:
        """The payment whose unique `key` columns hold these values."""
        names = tuple(key)
        statement = self._statements.get(names)
        if statement is None:
            statement = self._statements[names] = CompiledRead(self._dialect, PAYMENTS, names)
        raw = await self._fetch_one(statement.sql, statement.params(key))
        return None if raw is None else detached_payment(statement.row(raw))

    async def _fetch_one(self, sql: str, params: list[str]) -> Sequence[Any] | None:
        if self._is_sqlite:
            try:
                return self._sqlite_fetch_one(sql, params)
            except sqlite3.OperationalError:
                pass  # "busy" (see the module docstring): read through the engine instead
            async with self._engine.connect() as connection:
                row = (await connection.exec_driver_sql(sql, tuple(params))).first()
            return None if row is None else tuple(row)
        assert self._pool is not None
        row = await self._pool.fetchrow(sql, params)
        return None if row is None else tuple(row)

    def _sqlite_fetch_one(self, sql: str, params: list[str]) -> Sequence[Any] | None:
        if self._sqlite is None:
            self._sqlite = self._open_sqlite()
        return sqlite_fetch_one(self._sqlite, sql, params)

    def _open_sqlite(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self._url.database or "", check_same_thread=False, isolation_level=None, cached_statements=32
        )
        connection.execute("PRAGMA busy_timeout=0")
        connection.execute("PRAGMA query_only=ON")
        return connection

    async def close(self) -> None:
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None

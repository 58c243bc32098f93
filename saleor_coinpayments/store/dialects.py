"""What differs between SQLite and PostgreSQL, written once: use cases never ask which one runs.

- Row locks: PostgreSQL locks the rows a read-modify-write reads (`locked`) and lets replicas
  claiming work pass over each other's rows (`locked(…, skip_locked=True)`). SQLite has no row
  locks and renders neither: its write units hold the whole file from `BEGIN_WRITE` on.
- "Insert unless it exists": `INSERT … ON CONFLICT (…) DO NOTHING` in each dialect's construct.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert

from saleor_coinpayments.store.tables import Base, core_table

# How a SQLite write unit begins: the write lock before its first read, so nothing another
# connection commits can come between what it reads and what it writes.
BEGIN_WRITE = "BEGIN IMMEDIATE"

Query = TypeVar("Query", bound=Select[Any])


def locked(query: Query, *, skip_locked: bool = False) -> Query:
    """The read of a read-modify-write: FOR UPDATE on PostgreSQL (`skip_locked`: rows another
    transaction holds are left out, for claims); on SQLite the unit's BEGIN_WRITE already holds
    the file, and SQLAlchemy renders no lock clause."""
    return query.with_for_update(skip_locked=skip_locked)


def insert_or_ignore_statement(dialect_name: str, table: type[Base], conflict_columns: Sequence[str]) -> Insert:
    """`INSERT … ON CONFLICT (conflict_columns) DO NOTHING` for one database kind; the row is given
    as parameters."""
    insert = pg_insert if dialect_name == "postgresql" else sqlite_insert
    return insert(core_table(table)).on_conflict_do_nothing(index_elements=list(conflict_columns))


_INSERT_OR_IGNORE: dict[tuple[str, str, tuple[str, ...]], Insert] = {}


async def insert_or_ignore(
    session: AsyncSession, table: type[Base], values: dict[str, Any], conflict_columns: list[str]
) -> bool:
    """Insert a row unless one with the same unique columns exists; True if this call inserted it."""
    dialect_name = session.get_bind().dialect.name
    key = (dialect_name, table.__tablename__, tuple(conflict_columns))
    statement = _INSERT_OR_IGNORE.get(key)
    if statement is None:
        statement = _INSERT_OR_IGNORE[key] = insert_or_ignore_statement(dialect_name, table, conflict_columns)
    result = await session.execute(statement, values)
    return bool(getattr(result, "rowcount", 0))

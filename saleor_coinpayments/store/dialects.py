"""The few statements that differ between SQLite and PostgreSQL, written once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import UpdateBase

from saleor_coinpayments.store.tables import Base, core_table


def is_postgres(session: AsyncSession) -> bool:
    """Row locks and SKIP LOCKED exist only there; SQLite serialises writers instead."""
    return session.get_bind().dialect.name == "postgresql"


_INSERT_OR_IGNORE: dict[tuple[bool, str, tuple[str, ...]], UpdateBase] = {}


def insert_or_ignore_statement(postgres: bool, table: type[Base], conflict_columns: Sequence[str]) -> UpdateBase:
    """`INSERT … ON CONFLICT (conflict_columns) DO NOTHING`, built once per table and conflict target
    and given the row as parameters: hot paths (notifications, payment claims) neither pay for the
    ORM's bulk-insert path nor build a statement per call."""
    key = (postgres, table.__tablename__, tuple(conflict_columns))
    statement = _INSERT_OR_IGNORE.get(key)
    if statement is None:
        insert = pg_insert if postgres else sqlite_insert
        statement = insert(core_table(table)).on_conflict_do_nothing(index_elements=list(conflict_columns))
        _INSERT_OR_IGNORE[key] = statement
    return statement


async def insert_or_ignore(
    session: AsyncSession, table: type[Base], values: dict[str, Any], conflict_columns: list[str]
) -> bool:
    """Insert a row unless one with the same unique columns exists; True if this call inserted it."""
    statement = insert_or_ignore_statement(is_postgres(session), table, conflict_columns)
    result = await session.execute(statement, values)
    return bool(getattr(result, "rowcount", 0))

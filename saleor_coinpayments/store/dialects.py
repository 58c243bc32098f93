"""The few statements that differ between SQLite and PostgreSQL, written once."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from saleor_coinpayments.store.tables import Base, core_table


def is_postgres(session: AsyncSession) -> bool:
    """Row locks and SKIP LOCKED exist only there; SQLite serialises writers instead."""
    return session.get_bind().dialect.name == "postgresql"


async def insert_or_ignore(
    session: AsyncSession, table: type[Base], values: dict[str, Any], conflict_columns: list[str]
) -> bool:
    """Insert a row unless one with the same unique columns exists; True if this call inserted it.
    A Core statement on the table: the ORM's bulk-insert path would only add cost."""
    insert = pg_insert if is_postgres(session) else sqlite_insert
    statement = insert(core_table(table)).values(**values).on_conflict_do_nothing(index_elements=conflict_columns)
    result = await session.execute(statement)
    return bool(getattr(result, "rowcount", 0))

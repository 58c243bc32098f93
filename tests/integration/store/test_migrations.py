"""The migrations build exactly the tables the code declares (on SQLite and on PostgreSQL)."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from saleor_coinpayments.store.tables import Base


def test_migrated_schema_matches_the_tables(database_url: str) -> None:
    import asyncio

    from sqlalchemy.ext.asyncio import create_async_engine

    async def diff() -> list[Any]:
        engine = create_async_engine(database_url)
        try:
            async with engine.connect() as conn:

                def compare(sync_conn: Any) -> list[Any]:
                    context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
                    return list(compare_metadata(context, Base.metadata))

                return await conn.run_sync(compare)
        finally:
            await engine.dispose()

    assert asyncio.run(diff()) == []


def test_i28a_takes_a_name_equal_to_its_channel_for_the_clis_default(database_url: str) -> None:
    """A configuration named after one of its own channels (what `config set` without --name made)
    is not shown to buyers after the upgrade; any other name is, as before."""
    import asyncio

    from alembic import command
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from saleor_coinpayments.store.migrate import alembic_config, upgrade

    command.downgrade(alembic_config(database_url), "i24a")
    now = "2026-12-01 00:00:00"

    async def run(statements: list[str]) -> list[Any]:
        engine = create_async_engine(database_url)
        try:
            async with engine.begin() as conn:
                rows: list[Any] = []
                for statement in statements:
                    result = await conn.execute(text(statement))
                    rows = list(result) if result.returns_rows else rows
                return rows
        finally:
            await engine.dispose()

    config = (
        "INSERT INTO configurations (id, installation_id, name, client_id, client_secret_encrypted, api_url, "
        "accepted_coins, created_at, updated_at) VALUES ('{id}', 'i1', '{name}', 'c', 's', 'https://a', '[]', "
        f"'{now}', '{now}')"
    )
    mapped = (
        "INSERT INTO channel_configurations (installation_id, channel_slug, configuration_id, created_at, "
        f"updated_at) VALUES ('i1', '{{slug}}', '{{id}}', '{now}', '{now}')"
    )
    asyncio.run(
        run(
            [
                "INSERT INTO installations (id, saleor_api_url, app_id, app_token_encrypted, jwks, jwks_fetched_at, "
                f"created_at, updated_at) VALUES ('i1', 'https://s/graphql/', 'a', 't', '{{}}', '{now}', '{now}', "
                f"'{now}')",
                config.format(id="c1", name="default-channel"),
                mapped.format(slug="default-channel", id="c1"),
                config.format(id="c2", name="Acme"),
                mapped.format(slug="eu", id="c2"),
            ]
        )
    )
    upgrade(database_url)
    rows = asyncio.run(run(["SELECT id, name_chosen FROM configurations ORDER BY id"]))
    assert [(row[0], bool(row[1])) for row in rows] == [("c1", False), ("c2", True)]

"""Real databases for tests: a migrated template per run, a fresh copy per test.

`TEST_DATABASE=sqlite` (default) or `postgresql`; PostgreSQL is reached at `TEST_POSTGRES_URL`
(default the local server with trust auth). When PostgreSQL is asked for but unreachable the tests
skip with the reason — except under `CI=true`, where that is a failure.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from pathlib import Path

import asyncpg
import pytest

from saleor_coinpayments.store.migrate import upgrade

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


def backend() -> str:
    value = os.environ.get("TEST_DATABASE", "sqlite").strip().lower()
    if value not in ("sqlite", "postgresql"):
        raise RuntimeError(f"TEST_DATABASE must be sqlite or postgresql, not {value!r}")
    return value


def _admin_dsn() -> str:
    return os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES)


def _dsn_for(database: str) -> str:
    base = _admin_dsn().rsplit("/", 1)[0]
    return f"{base}/{database}"


def async_url(dsn: str) -> str:
    return "postgresql+asyncpg://" + dsn.split("://", 1)[1]


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(_admin_dsn(), timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def postgres_or_skip() -> None:
    try:
        asyncio.run(_admin("SELECT 1"))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        reason = f"PostgreSQL unreachable at {_admin_dsn()}: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


class TemplateDatabases:
    """Migrates once, then hands out copies (file copy on SQLite, TEMPLATE clone on PostgreSQL)."""

    def __init__(self, root: Path) -> None:
        self.backend = backend()
        self.root = root
        self._template: str | None = None
        self._created: list[str] = []

    def _ensure_template(self) -> str:
        if self._template is not None:
            return self._template
        if self.backend == "sqlite":
            path = self.root / "template.db"
            upgrade(f"sqlite+aiosqlite:///{path}")
            self._template = str(path)
        else:
            postgres_or_skip()
            name = f"scp_tmpl_{uuid.uuid4().hex[:10]}"
            asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
            self._created.append(name)
            upgrade(async_url(_dsn_for(name)))
            self._template = name
        return self._template

    def new_url(self) -> str:
        template = self._ensure_template()
        if self.backend == "sqlite":
            path = self.root / f"db_{uuid.uuid4().hex[:10]}.db"
            shutil.copyfile(template, path)
            return f"sqlite+aiosqlite:///{path}"
        name = f"scp_test_{uuid.uuid4().hex[:10]}"
        asyncio.run(_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        self._created.append(name)
        return async_url(_dsn_for(name))

    def drop_all(self) -> None:
        """Drop this run's databases, several at once: each DROP DATABASE waits for a checkpoint,
        and drops in flight together share one (one by one, they took seconds each on a busy
        server). The template goes last, once no copy of it is left."""
        if self.backend != "postgresql" or not self._created:
            return
        template, copies = self._created[0], self._created[1:]
        asyncio.run(_drop_all(copies))
        asyncio.run(_drop_all([template]))


async def _drop_all(names: list[str], at_once: int = 8) -> None:
    gate = asyncio.Semaphore(at_once)

    async def drop(name: str) -> None:
        async with gate:
            try:
                await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except (OSError, asyncpg.PostgresError):
                pass

    await asyncio.gather(*(drop(name) for name in names))

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
from concurrent.futures import Future, ThreadPoolExecutor
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
    """Migrates once, then hands out copies (file copy on SQLite, TEMPLATE clone on PostgreSQL).

    On PostgreSQL a test's copy is dropped in the background as soon as the test is done
    (`release`). Each DROP DATABASE waits for a checkpoint: kept for the end of the run, a worker's
    130 drops took 15-24 s of its last test's teardown, with nothing else to overlap them."""

    def __init__(self, root: Path) -> None:
        self.backend = backend()
        self.root = root
        self._template: str | None = None
        self._created: list[str] = []
        # One thread, one drop at a time: a test lasts longer than a drop, so it keeps up, and
        # the run holds at most one more connection per worker.
        self._dropper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="drop-database")
        self._drops: list[Future[list[str]]] = []

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

    def release(self, url: str) -> None:
        """A test is done with its database (and every process it started is gone): drop it in
        the background while the next tests run."""
        name = url.rsplit("/", 1)[1]
        if self.backend != "postgresql" or name not in self._created:
            return
        self._created.remove(name)
        self._drops.append(self._dropper.submit(asyncio.run, _drop_all([name])))

    def drop_all(self) -> None:
        """Drop this run's databases: the background drops finish, the copies not released yet go
        several at once (each DROP DATABASE waits for a checkpoint, and drops in flight together
        share one), and the template goes last, once no copy of it is left."""
        self._dropper.shutdown(wait=True)
        if self.backend != "postgresql" or not self._created:
            return
        failed = [name for drop in self._drops for name in drop.result()]  # tried again: a busy server
        template, copies = self._created[0], self._created[1:] + failed
        asyncio.run(_drop_all(copies))
        asyncio.run(_drop_all([template]))


async def _drop_all(names: list[str], at_once: int = 8) -> list[str]:
    """Drop these databases; the names of those that could not be (e.g. too many clients)."""
    gate = asyncio.Semaphore(at_once)
    failed: list[str] = []

    async def drop(name: str) -> None:
        async with gate:
            try:
                await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except (OSError, asyncpg.PostgresError):
                failed.append(name)

    await asyncio.gather(*(drop(name) for name in names))
    return failed

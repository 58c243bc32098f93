"""Installations: which Saleor installed the app, its token (encrypted) and its signing keys."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from saleor_coinpayments.store.crypto import SecretBox
from saleor_coinpayments.store.tables import Installation
from saleor_coinpayments.store.types import utcnow


@dataclass(frozen=True)
class InstallationRecord:
    """An installation with its token decrypted; never logged whole."""

    id: str
    saleor_api_url: str
    app_id: str
    app_token: str
    jwks: dict[str, Any]
    schema_version: str | None = None  # the Saleor line, e.g. "3.23"; None while unknown

    def __repr__(self) -> str:
        return f"InstallationRecord(id={self.id!r}, saleor_api_url={self.saleor_api_url!r}, app_id={self.app_id!r})"


class InstallationRepository:
    def __init__(self, session: AsyncSession, box: SecretBox) -> None:
        self._session = session
        self._box = box

    def _record(self, row: Installation) -> InstallationRecord:
        return InstallationRecord(
            id=row.id,
            saleor_api_url=row.saleor_api_url,
            app_id=row.app_id,
            app_token=self._box.decrypt(row.app_token_encrypted),
            jwks=row.jwks,
            schema_version=row.saleor_schema_version,
        )

    async def _row(self, saleor_api_url: str) -> Installation | None:
        result = await self._session.execute(select(Installation).where(Installation.saleor_api_url == saleor_api_url))
        return result.scalar_one_or_none()

    async def get(self, saleor_api_url: str) -> InstallationRecord | None:
        row = await self._row(saleor_api_url)
        return self._record(row) if row else None

    async def get_by_id(self, installation_id: str) -> InstallationRecord | None:
        row = await self._session.get(Installation, installation_id)
        return self._record(row) if row else None

    async def list_all(self) -> list[InstallationRecord]:
        rows = (await self._session.execute(select(Installation).order_by(Installation.created_at))).scalars()
        return [self._record(row) for row in rows]

    async def save(
        self,
        saleor_api_url: str,
        app_id: str,
        app_token: str,
        jwks: dict[str, Any],
        schema_version: str | None = None,
    ) -> InstallationRecord:
        """Create, or overwrite on reinstall (a new token and app id for the same Saleor)."""
        row = await self._row(saleor_api_url)
        if row is None:
            row = Installation(saleor_api_url=saleor_api_url)
            self._session.add(row)
        row.app_id = app_id
        row.app_token_encrypted = self._box.encrypt(app_token)
        row.jwks = jwks
        row.jwks_fetched_at = utcnow()
        row.saleor_schema_version = schema_version
        await self._session.flush()
        return self._record(row)

    async def update_schema_version(self, saleor_api_url: str, schema_version: str) -> None:
        """Saleor was upgraded (or the line was unknown): later calls follow the new line."""
        row = await self._row(saleor_api_url)
        if row is not None:
            row.saleor_schema_version = schema_version
            await self._session.flush()

    async def update_jwks(self, saleor_api_url: str, jwks: dict[str, Any]) -> None:
        row = await self._row(saleor_api_url)
        if row is not None:
            row.jwks = jwks
            row.jwks_fetched_at = utcnow()
            await self._session.flush()


class InstallationCache:
    """Recently read installations, so verifying a webhook needs no database round trip.

    Entries live `ttl_seconds`; callers re-read the database whenever a cached record fails them
    (signature or recipient), so a reinstall or a key rotation is picked up at once.
    """

    def __init__(self, ttl_seconds: float = 30.0) -> None:
        self._ttl = ttl_seconds
        self._entries: dict[str, tuple[float, InstallationRecord]] = {}

    def get(self, saleor_api_url: str) -> InstallationRecord | None:
        entry = self._entries.get(saleor_api_url)
        if entry is None or time.monotonic() - entry[0] > self._ttl:
            return None
        return entry[1]

    def put(self, record: InstallationRecord) -> None:
        self._entries[record.saleor_api_url] = (time.monotonic(), record)

    def drop(self, saleor_api_url: str) -> None:
        self._entries.pop(saleor_api_url, None)

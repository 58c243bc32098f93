"""The shop installations as the web layer needs them: find one, keep its rotated keys, register one.

Each call is its own unit of work, ended before the caller answers (Saleor calls the app as soon as
it hears that registration succeeded, so the installation must already be committed). Routes and
their verifying dependencies use these instead of opening sessions themselves.
"""

from __future__ import annotations

from typing import Any

from saleor_coinpayments.configuration.registration import RegisterApp, Registered, RegistrationRefused
from saleor_coinpayments.context import AppContext
from saleor_coinpayments.store.installations import InstallationRecord, InstallationRepository

__all__ = [
    "InstallationRecord",
    "Registered",
    "RegistrationRefused",
    "keep_jwks",
    "keep_schema_version",
    "register",
    "stored",
]


async def stored(ctx: AppContext, saleor_api_url: str, *, remember: bool = False) -> InstallationRecord | None:
    """The installation as the database has it now; `remember` puts it in the process's cache."""
    async with ctx.db.session() as session:
        installation = await InstallationRepository(session, ctx.box).get(saleor_api_url)
    if installation is not None and remember:
        ctx.installations.put(installation)
    return installation


async def keep_jwks(ctx: AppContext, saleor_api_url: str, jwks: dict[str, Any]) -> None:
    """Store keys that have just verified a genuine signature or token; the cached copy is dropped."""
    async with ctx.db.session() as session:
        await InstallationRepository(session, ctx.box).update_jwks(saleor_api_url, jwks)
    ctx.installations.drop(saleor_api_url)


async def keep_schema_version(ctx: AppContext, saleor_api_url: str, schema_version: str) -> None:
    """Store the Saleor line a genuine webhook named (Saleor was upgraded); the cached copy is dropped."""
    async with ctx.db.session() as session:
        await InstallationRepository(session, ctx.box).update_schema_version(saleor_api_url, schema_version)
    ctx.installations.drop(saleor_api_url)


async def register(
    ctx: AppContext, saleor_api_url: str | None, auth_token: str | None, schema_version: str | None = None
) -> Registered | RegistrationRefused:
    """Saleor's `POST /api/register`: committed before this returns, nothing kept when refused.

    `schema_version` is the `Saleor-Schema-Version` header Saleor sent with the request."""
    async with ctx.db.session() as session:
        use_case = RegisterApp(ctx.settings, ctx.http, ctx.saleor, InstallationRepository(session, ctx.box))
        result = await use_case.execute(saleor_api_url, auth_token, schema_version)
        if not isinstance(result, Registered):
            await session.rollback()
    if isinstance(result, Registered):
        ctx.installations.drop(result.installation.saleor_api_url)
    return result
